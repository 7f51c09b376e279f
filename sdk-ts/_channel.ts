/**
 * The guest's end of the JSON-RPC connection: sends responses, notifications
 * and its own requests through the one {@linkcode LineWriter}, and correlates
 * the host's replies with a pending map that is always cleared in `finally`
 * (a late reply finds nothing and is dropped).
 *
 * @module
 */

import {
  ErrorCode,
  errorFromRpc,
  HostError,
  InvalidParamsError,
  LimitExceededError,
} from "./errors.ts";
import type { LogLevel } from "./protocol.ts";
import type { Id, RpcError } from "./_jsonrpc.ts";
import { truncateUtf8 } from "./_format.ts";
import { LineWriter } from "./_writer.ts";

/** The host's default `sandbox.maxMessageBytes`. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1 << 20;

/** Log messages are cut to this many bytes (or less, to fit the message limit). */
const MAX_LOG_MESSAGE_BYTES = 64 << 10;

interface Pending {
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

/** Sends messages and correlates replies to the guest's own requests. */
export class Channel {
  readonly #writer: LineWriter;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #reportedDrops = 0;
  /** The longest line (without its newline) the host accepts. */
  maxMessageBytes: number;

  constructor(writer: LineWriter, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    this.#writer = writer;
    this.maxMessageBytes = maxMessageBytes;
  }

  /** How many requests await a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Resolves when everything queued so far has been written. */
  flush(): Promise<void> {
    return this.#writer.flush();
  }

  #fits(line: Uint8Array): boolean {
    return line.length - 1 <= this.maxMessageBytes;
  }

  /** Answers a request with a result. */
  respond(id: Id, result: unknown): void {
    this.#writer.enqueue(LineWriter.encode(JSON.stringify({ jsonrpc: "2.0", id, result })));
  }

  /** Answers a request with an error, shrinking `data` and the message if the line would be too long. */
  respondError(id: Id, error: RpcError): void {
    const encode = (value: RpcError) =>
      LineWriter.encode(JSON.stringify({ jsonrpc: "2.0", id, error: value }));
    let line: Uint8Array;
    try {
      line = encode(error);
    } catch {
      line = encode({ code: error.code, message: error.message });
    }
    if (!this.#fits(line)) {
      const budget = Math.max(256, Math.floor(this.maxMessageBytes / 4));
      line = encode({ code: error.code, message: truncateUtf8(error.message, budget) });
    }
    this.#writer.enqueue(line);
  }

  /** Sends a `log` notification; drops it (and counts it) when stdout is backed up. */
  log(invocationId: string | null, level: LogLevel, message: string): void {
    const budget = Math.min(MAX_LOG_MESSAGE_BYTES, this.maxMessageBytes - 512);
    const line = this.#encodeNotification("log", {
      invocationId,
      level,
      message: truncateUtf8(message, budget),
    });
    if (line === undefined) return;
    const dropped = this.#writer.dropped - this.#reportedDrops;
    if (dropped > 0) {
      const note = this.#encodeNotification("log", {
        invocationId: null,
        level: "warn",
        message:
          `${dropped} log message(s) were dropped because the host was not reading fast enough`,
      });
      if (note !== undefined && this.#writer.hasRoomFor(note.length + line.length)) {
        this.#writer.enqueue(note);
        this.#reportedDrops += dropped;
      }
    }
    this.#writer.enqueue(line, true);
  }

  #encodeNotification(method: string, params: unknown): Uint8Array | undefined {
    const line = LineWriter.encode(JSON.stringify({ jsonrpc: "2.0", method, params }));
    return this.#fits(line) ? line : undefined;
  }

  /**
   * Sends a request and resolves with the host's result, or rejects with the
   * matching `CapabilityError`, or with `signal.reason` when it aborts first.
   */
  request(method: string, params: Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const id = this.#nextId++;
    let line: Uint8Array;
    try {
      line = LineWriter.encode(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return Promise.reject(
        new InvalidParamsError(`${method}: the arguments are not JSON-serializable: ${detail}`, {
          method,
          cause: error,
        }),
      );
    }
    if (!this.#fits(line)) {
      return Promise.reject(
        new LimitExceededError(
          `${method}: the request is ${
            line.length - 1
          } bytes, over the host's limit of ${this.maxMessageBytes}`,
          { method },
        ),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const onAbort = () => reject(signal.reason);
    this.#pending.set(id, { method, resolve, reject });
    signal.addEventListener("abort", onAbort, { once: true });
    if (!this.#writer.enqueue(line)) {
      reject(new HostError(`${method}: the connection to the host is closed`, { method }));
    }
    return promise.finally(() => {
      this.#pending.delete(id);
      signal.removeEventListener("abort", onAbort);
    });
  }

  /** Settles the request a reply belongs to; `false` when no request waits for that id. */
  settle(id: Id, outcome: { result: unknown } | { error: RpcError }): boolean {
    const pending = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (pending === undefined) return false;
    if ("result" in outcome) pending.resolve(outcome.result);
    else pending.reject(errorFromRpc(pending.method, outcome.error));
    return true;
  }

  /** Fails the request a malformed reply belongs to; `false` when no request waits for that id. */
  fail(id: Id, message: string): boolean {
    const pending = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (pending === undefined) return false;
    pending.reject(
      new HostError(`The host answered ${pending.method} with a malformed reply: ${message}`, {
        method: pending.method,
        code: ErrorCode.INVALID_REQUEST,
      }),
    );
    return true;
  }

  /** Rejects every pending request (the connection is closing). */
  rejectAll(reason: unknown): void {
    for (const pending of this.#pending.values()) pending.reject(reason);
    this.#pending.clear();
  }
}
