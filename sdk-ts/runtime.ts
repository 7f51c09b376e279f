/**
 * The guest runtime: the module the host's generated entry file imports
 * before the workflow, so that its top-level code takes hold of stdin and
 * stdout and routes `console.*` into `log` notifications before any workflow
 * code runs. The entry then calls {@linkcode serve} with the workflow:
 *
 * ```ts ignore
 * import { serve } from "file:///ABS/sdk-ts/runtime.ts";
 * import workflow from "file:///ABS/snapshot/my-workflow.ts";
 * serve(workflow);
 * ```
 *
 * {@linkcode serveModule} is the sturdier variant: the entry passes a function
 * that imports the workflow, so a module that fails to load (a syntax error, a
 * throw at the top level, a missing export) is answered as an `initialize`
 * error instead of killing the process before it can say why:
 *
 * ```ts ignore
 * import { serveModule } from "file:///ABS/sdk-ts/runtime.ts";
 * serveModule(() => import("file:///ABS/snapshot/my-workflow.ts"));
 * ```
 *
 * Importing this module changes the process's globals (see `_sandbox.ts`):
 * workflows and their tests import `mod.ts` and `testing.ts`, never this.
 *
 * @module
 */

import { Channel } from "./_channel.ts";
import { takeOver } from "./_sandbox.ts";
import { ModuleLoader, runServer } from "./_server.ts";
import { LineWriter, sinkFromStream } from "./_writer.ts";

const guest = takeOver();

/**
 * Where {@linkcode serve} reads and writes; each defaults to the process's
 * own stdin, stdout and exit. Tests pass streams instead.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "./runtime.ts";
 *
 * const options: ServeOptions = { input: ReadableStream.from<Uint8Array>([]), exit: () => {} };
 * ```
 */
export interface ServeOptions {
  /** The host's messages, one JSON-RPC message per line. */
  readonly input?: ReadableStream<Uint8Array>;
  /** Where replies, requests and logs go (`console.*` always goes to stdout). */
  readonly output?: WritableStream<Uint8Array>;
  /** Called with the exit code when the input ends. */
  readonly exit?: (code: number) => void;
}

/**
 * Serves a workflow over JSON-RPC until the host closes stdin, then exits.
 * Answers `initialize` with the manifest (or, for an invalid workflow, with
 * an error listing every problem), runs each `run` request concurrently with
 * its own `ctx`, and aborts `ctx.signal` on `$/cancel`.
 *
 * @param workflow The workflow module's default export (or its namespace object).
 * @param options Streams to use instead of stdin and stdout, for tests.
 * @returns A promise that settles when the input has ended; it never rejects.
 * @throws {Error} When called a second time without an `input`.
 *
 * @example Answer `initialize` over in-memory streams
 * ```ts
 * import { serve } from "./runtime.ts";
 * import { defineWorkflow } from "./mod.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const workflow = defineWorkflow({
 *   name: "hello",
 *   triggers: [{ on: "manual" }],
 *   capabilities: [],
 *   run() {},
 * });
 * const request = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}}\n';
 * const chunks: Uint8Array[] = [];
 * await serve(workflow, {
 *   input: ReadableStream.from([new TextEncoder().encode(request)]),
 *   output: new WritableStream({ write: (chunk) => void chunks.push(chunk) }),
 *   exit: () => {},
 * });
 * const reply = JSON.parse(new TextDecoder().decode(chunks[0]));
 * strictEqual(reply.result.name, "hello");
 * ```
 */
export function serve(workflow: unknown, options: ServeOptions = {}): Promise<void> {
  const channel = options.output === undefined
    ? guest.channel
    : new Channel(new LineWriter(sinkFromStream(options.output)));
  return runServer(workflow, {
    input: options.input ?? guest.takeInput(),
    channel,
    exit: options.exit ?? guest.exit,
    onActiveChange: (active) => guest.setActive(active),
  });
}

/**
 * Like {@linkcode serve}, but imports the workflow module itself through
 * `load` (a string-literal dynamic `import()`, which needs no permission), so
 * that a module that fails to load is reported to the host as an
 * `initialize` error naming the failure.
 *
 * @param load Imports the workflow module and resolves to its namespace.
 * @param options Streams to use instead of stdin and stdout, for tests.
 * @returns A promise that settles when the input has ended; it never rejects.
 * @throws {Error} When called a second time without an `input`.
 *
 * @example A module whose evaluation throws
 * ```ts
 * import { serveModule } from "./runtime.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const request = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n';
 * const chunks: Uint8Array[] = [];
 * await serveModule(() => Promise.reject(new SyntaxError("Unexpected token")), {
 *   input: ReadableStream.from([new TextEncoder().encode(request)]),
 *   output: new WritableStream({ write: (chunk) => void chunks.push(chunk) }),
 *   exit: () => {},
 * });
 * const reply = JSON.parse(new TextDecoder().decode(chunks[0]));
 * strictEqual(
 *   reply.error.message,
 *   "Invalid workflow definition: The workflow module failed to load: SyntaxError: Unexpected token",
 * );
 * ```
 */
export function serveModule(
  load: () => Promise<unknown>,
  options: ServeOptions = {},
): Promise<void> {
  return serve(new ModuleLoader(load), options);
}
