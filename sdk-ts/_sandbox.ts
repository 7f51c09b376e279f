/**
 * Takes hold of the guest process before any workflow code runs: keeps
 * private handles on stdin, stdout and `Deno.exit`, routes `console.*` and
 * stray writes to `Deno.stdout` into `log` notifications, and replaces
 * globals that would read stdin, exit the process or persist state.
 *
 * This is defence in depth and a courtesy to workflow authors (clear errors
 * instead of a killed child): the host still treats every byte on stdout as
 * untrusted, because fd 1 stays reachable (e.g. through `node:process`).
 *
 * @module
 */

import type { LogLevel } from "./protocol.ts";
import { Channel } from "./_channel.ts";
import { createConsole } from "./_console.ts";
import { formatArgs } from "./_format.ts";
import { LineWriter } from "./_writer.ts";

/** What the runtime keeps after taking over. */
export interface Guest {
  /** The connection on the real stdout. */
  readonly channel: Channel;
  /** The real stdin, once: a second call throws. */
  takeInput(): ReadableStream<Uint8Array>;
  /** The real `Deno.exit`. */
  readonly exit: (code: number) => void;
  /** Tells the console which invocations are running. */
  setActive(active: ReadonlySet<string>): void;
}

/** A function (also usable with `new`) that throws a clear error. */
function refuse(what: string, why: string): () => never {
  return function refused(): never {
    throw new Error(`${what} is not available to workflows: ${why}`);
  };
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

/** Takes over stdio and globals. Call once, at the top level of `runtime.ts`. */
export function takeOver(): Guest {
  const stdin = Deno.stdin;
  const stdout = Deno.stdout;
  const exit = Deno.exit.bind(Deno);
  let exiting = false;
  const exitOnce = (code: number) => {
    if (exiting) return;
    exiting = true;
    exit(code);
  };
  // Synchronous writes: measured ~20 µs faster per round trip than `stdout.write()` (whose
  // completion on Deno's I/O threads competes with the host's next write on a small machine).
  // A host that stops reading blocks the guest here, which its wall-clock timeout then ends.
  const writer = new LineWriter({ write: (bytes) => Promise.resolve(stdout.writeSync(bytes)) }, {
    // The host stopped reading: nothing more can be said, so stop.
    onError: () => queueMicrotask(() => exitOnce(1)),
  });
  const channel = new Channel(writer);

  // console.* (and anything else that "prints") becomes a log notification,
  // attributed to the running invocation when exactly one is running.
  let current: string | null = null;
  const sink = (level: LogLevel, message: string) => channel.log(current, level, message);
  define(globalThis, "console", createConsole(sink, globalThis.console));

  const decoder = new TextDecoder();
  const printed = (bytes: Uint8Array): number => {
    sink("info", decoder.decode(bytes).replace(/\n$/, ""));
    return bytes.length;
  };
  const stdinGone = refuse("Deno.stdin", "it carries the host's messages");
  define(
    Deno,
    "stdout",
    Object.freeze({
      write: (bytes: Uint8Array) => Promise.resolve(printed(bytes)),
      writeSync: printed,
      get writable(): WritableStream<Uint8Array> {
        return new WritableStream<Uint8Array>({ write: (chunk) => void printed(chunk) });
      },
      isTerminal: () => false,
      close: () => {},
    }),
  );
  define(
    Deno,
    "stdin",
    Object.freeze({
      read: () =>
        Promise.reject(
          new Error("Deno.stdin is not available to workflows: it carries the host's messages"),
        ),
      readSync: stdinGone,
      get readable(): never {
        return stdinGone();
      },
      isTerminal: () => false,
      setRaw: stdinGone,
      close: () => {},
    }),
  );
  const noExit = refuse("Exiting the process", "return from run, or throw to fail the invocation");
  define(Deno, "exit", noExit);
  define(globalThis, "close", noExit);
  for (const name of ["prompt", "alert", "confirm"]) {
    define(globalThis, name, refuse(`${name}()`, "stdin carries the host's messages"));
  }
  // A worker's console writes straight to fd 1, past this redirection.
  define(globalThis, "Worker", refuse("Worker", "its output would bypass the log channel"));
  // Storage persists across invocations (and across workflows sharing a cache).
  for (const name of ["localStorage", "sessionStorage", "caches"]) {
    Reflect.deleteProperty(globalThis, name);
  }
  // Node's `process` (stdout.write, exit, abort) reaches fd 1 and the process directly. Courtesy
  // only: the host treats stdout as untrusted whatever happens here. (Deno's internal ops stay:
  // `deno test` needs them in the same process.)
  Reflect.deleteProperty(globalThis, "process");

  // An error nobody catches (a rejected promise nobody awaits, a throw in a
  // timer callback) would kill the process and every running invocation.
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    sink("error", `Unhandled promise rejection: ${formatArgs([event.reason])}`);
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    sink("error", `Uncaught exception: ${formatArgs([event.error ?? event.message])}`);
  });

  let inputTaken = false;
  return {
    channel,
    exit: exitOnce,
    takeInput() {
      if (inputTaken) throw new Error("The runtime already reads stdin: call serve() once");
      inputTaken = true;
      return stdin.readable;
    },
    setActive(active) {
      current = active.size === 1 ? active.values().next().value ?? null : null;
    },
  };
}
