/**
 * The single writer of the guest's stdout. Every message becomes exactly one
 * `\n`-terminated line; writes are serialized (one write in flight, queued
 * lines coalesced into it) so concurrent invocations can never interleave
 * bytes. Log lines are dropped, and counted, when the queue is too long, so a
 * workflow that logs in a tight loop cannot exhaust the heap.
 *
 * @module
 */

/** Where bytes go: `Deno.stdout` or anything with the same `write`. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<number>;
}

/** Adapts a `WritableStream` (as used in tests) to a {@linkcode ByteSink}. */
export function sinkFromStream(stream: WritableStream<Uint8Array>): ByteSink {
  const writer = stream.getWriter();
  return {
    async write(bytes: Uint8Array): Promise<number> {
      await writer.write(bytes);
      return bytes.length;
    },
  };
}

/** Options of {@linkcode LineWriter}. */
export interface LineWriterOptions {
  /** Above this many queued bytes, droppable lines are dropped. */
  readonly maxQueuedBytes?: number;
  /** Called once when a write fails (the peer went away). */
  readonly onError?: (error: unknown) => void;
}

const encoder = new TextEncoder();

/** Serializes lines onto a {@linkcode ByteSink}. */
export class LineWriter {
  readonly #sink: ByteSink;
  readonly #maxQueuedBytes: number;
  readonly #onError: (error: unknown) => void;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #pumping: Promise<void> | undefined;
  #failed = false;
  #dropped = 0;

  constructor(sink: ByteSink, options: LineWriterOptions = {}) {
    this.#sink = sink;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 8 << 20;
    this.#onError = options.onError ?? (() => {});
  }

  /** Lines dropped so far because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** True once a write failed; later lines are discarded. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Encodes a JSON text plus its newline. The text must not contain a raw newline. */
  static encode(json: string): Uint8Array {
    return encoder.encode(`${json}\n`);
  }

  /** Whether a droppable line of `bytes` bytes would be queued now. */
  hasRoomFor(bytes: number): boolean {
    return !this.#failed && this.#queuedBytes + bytes <= this.#maxQueuedBytes;
  }

  /**
   * Queues one encoded line. A droppable line is dropped (and counted) when
   * the queue holds more than `maxQueuedBytes`; returns whether it was queued.
   */
  enqueue(line: Uint8Array, droppable = false): boolean {
    if (this.#failed) return false;
    if (droppable && !this.hasRoomFor(line.length)) {
      this.#dropped++;
      return false;
    }
    this.#queue.push(line);
    this.#queuedBytes += line.length;
    this.#pumping ??= this.#pump();
    return true;
  }

  /** Resolves when every queued line has been written (or writing failed). */
  async flush(): Promise<void> {
    while (this.#pumping !== undefined) await this.#pumping;
  }

  async #pump(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#failed) {
        const batch = this.#queue;
        const size = this.#queuedBytes;
        this.#queue = [];
        this.#queuedBytes = 0;
        let bytes: Uint8Array;
        if (batch.length === 1 && batch[0] !== undefined) bytes = batch[0];
        else {
          bytes = new Uint8Array(size);
          let offset = 0;
          for (const line of batch) {
            bytes.set(line, offset);
            offset += line.length;
          }
        }
        try {
          let written = 0;
          while (written < bytes.length) {
            written += await this.#sink.write(bytes.subarray(written));
          }
        } catch (error) {
          this.#failed = true;
          this.#queue = [];
          this.#queuedBytes = 0;
          this.#onError(error);
        }
      }
    } finally {
      this.#pumping = undefined;
    }
  }
}
