/**
 * A minimal stand-in for the host's end of the JSON-RPC connection, used by
 * `_server_test.ts` (in-process streams) and `runtime_test.ts` (a real
 * `deno run` child): send lines, and wait for the guest's messages by
 * predicate with a generous deadline instead of fixed sleeps.
 *
 * @module
 */

/** A message the guest sent, as parsed JSON. */
export type Message = Record<string, unknown> & {
  id?: unknown;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: { code: number; message: string; data?: Record<string, unknown> };
};

const DEFAULT_TIMEOUT_MS = 20_000;

/** Reads the guest's output and writes the host's input. */
export class HostPeer {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #messages: Message[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #encoder = new TextEncoder();
  #ended = false;
  /** Lines that were not JSON (none are expected). */
  readonly garbage: string[] = [];
  /** Resolves when the guest's output ends. */
  readonly closed: Promise<void>;

  constructor(guestOutput: ReadableStream<Uint8Array>, guestInput: WritableStream<Uint8Array>) {
    this.#writer = guestInput.getWriter();
    this.closed = this.#read(guestOutput);
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      await this.#readLines(stream);
    } catch (error) {
      this.garbage.push(`[reading failed: ${error}]`);
    } finally {
      this.#ended = true;
      for (const wake of this.#waiters) wake();
    }
  }

  async #readLines(stream: ReadableStream<Uint8Array>): Promise<void> {
    let buffer = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          this.#messages.push(JSON.parse(line));
        } catch {
          this.garbage.push(line);
        }
      }
      for (const wake of this.#waiters) wake();
    }
    if (buffer !== "") this.garbage.push(buffer);
  }

  /** Every message received so far. */
  get messages(): readonly Message[] {
    return this.#messages;
  }

  /** Sends a message (serialized) or a raw line (as is), adding the newline. */
  async send(message: Record<string, unknown> | string): Promise<void> {
    const line = typeof message === "string" ? message : JSON.stringify(message);
    await this.#writer.write(this.#encoder.encode(`${line}\n`));
  }

  /** Sends raw bytes. */
  async sendBytes(bytes: Uint8Array): Promise<void> {
    await this.#writer.write(bytes);
  }

  /** Sends a request. */
  request(id: number, method: string, params: Record<string, unknown>): Promise<void> {
    return this.send({ jsonrpc: "2.0", id, method, params });
  }

  /** Closes the guest's input (end of file). */
  async close(): Promise<void> {
    await this.#writer.close();
  }

  /** Waits for the first message (received before or after the call) that matches. */
  async waitFor(
    predicate: (message: Message) => boolean,
    what: string,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = this.#messages.find(predicate);
      if (found !== undefined) return found;
      const received = JSON.stringify(this.#messages);
      if (this.#ended) {
        throw new Error(`The guest's output ended before ${what}; received: ${received}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}; received: ${received}`);
      let wake = () => {};
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        this.#waiters.add(wake);
        timer = setTimeout(resolve, left);
      });
      this.#waiters.delete(wake);
      clearTimeout(timer);
    }
  }

  /** Waits for the response to the request with this id. */
  response(id: unknown): Promise<Message> {
    return this.waitFor(
      (message) => message.id === id && !("method" in message),
      `the response to ${id}`,
    );
  }

  /** Waits for a request from the guest for this method. */
  guestRequest(method: string): Promise<Message> {
    return this.waitFor(
      (message) => message.method === method && "id" in message,
      `a ${method} request from the guest`,
    );
  }

  /** Waits for a log notification whose message contains `text`. */
  log(text: string): Promise<Message> {
    return this.waitFor(
      (message) => message.method === "log" && String(message.params?.["message"]).includes(text),
      `a log containing ${JSON.stringify(text)}`,
    );
  }
}
