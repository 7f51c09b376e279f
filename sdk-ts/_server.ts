/**
 * The guest's request loop: reads the host's messages, answers `initialize`
 * with the manifest, runs `run` requests concurrently (each with its own
 * `ctx` and `AbortSignal`), aborts on `$/cancel`, routes replies to pending
 * capability calls, and answers malformed input with JSON-RPC errors instead
 * of crashing. On end of input it rejects everything and exits.
 *
 * @module
 */

import type { Capability } from "./capability.ts";
import {
  CancelledError,
  ErrorCode,
  HostError,
  InvocationNotActiveError,
  WorkflowDefinitionError,
} from "./errors.ts";
import type { WorkflowEvent } from "./event.ts";
import type { LogLevel, Manifest } from "./protocol.ts";
import { resolveWorkflow, type Workflow } from "./workflow.ts";
import type { Channel } from "./_channel.ts";
import { createContext } from "./_context.ts";
import { inspect, truncateUtf8 } from "./_format.ts";
import { type Id, type Incoming, parseLine } from "./_jsonrpc.ts";
import { readLines } from "./_lines.ts";

/** The protocol version this runtime speaks. */
export const PROTOCOL_VERSION = 1;

/** The longest line accepted from the host, unless told otherwise. */
const MAX_INPUT_LINE_BYTES = 64 << 20;

/** How long to wait for cancelled runs to settle and stdout to drain before exiting. */
const EXIT_FLUSH_MS = 2000;

/** What the server needs from its surroundings. */
export interface ServerIo {
  /** The host's messages (the guest's stdin). */
  readonly input: ReadableStream<Uint8Array>;
  /** The connection to the host (wrapping the guest's stdout). */
  readonly channel: Channel;
  /** Ends the process. */
  readonly exit: (code: number) => void;
  /** Told which invocations are running, so `console.*` can be attributed. */
  readonly onActiveChange?: (active: ReadonlySet<string>) => void;
  /** The longest line accepted from the host (64 MiB by default). */
  readonly maxInputLineBytes?: number;
}

interface Invocation {
  readonly controller: AbortController;
  active: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const MAX_STACK_BYTES = 16 << 10;
const MAX_ERROR_MESSAGE_BYTES = 8 << 10;

/** The `data` of a WORKFLOW_ERROR. */
interface ErrorData {
  readonly name: string;
  readonly message: string;
  readonly stack: string;
  /** For an invalid definition: every problem found. */
  readonly problems?: readonly string[];
}

/** The `data` of a WORKFLOW_ERROR: the thrown value's name, message and stack. */
function errorData(thrown: unknown): ErrorData {
  if (!(thrown instanceof Error)) {
    const message = truncateUtf8(
      `A non-Error value was thrown: ${inspect(thrown)}`,
      MAX_ERROR_MESSAGE_BYTES,
    );
    return { name: "Error", message, stack: "" };
  }
  const name = typeof thrown.name === "string" && thrown.name !== "" ? thrown.name : "Error";
  const message = truncateUtf8(String(thrown.message), MAX_ERROR_MESSAGE_BYTES);
  // For a module that failed to load, the original error's stack is the useful one.
  const source = thrown instanceof WorkflowDefinitionError && thrown.cause instanceof Error
    ? thrown.cause
    : thrown;
  const stack = truncateUtf8(
    typeof source.stack === "string" ? source.stack : `${name}: ${message}`,
    MAX_STACK_BYTES,
  );
  return thrown instanceof WorkflowDefinitionError
    ? { name, message, stack, problems: thrown.problems }
    : { name, message, stack };
}

/**
 * Wraps an error thrown while loading the workflow module (a syntax error, a
 * failed import, a throw at the top level) as a definition problem.
 */
function loadFailure(error: unknown): WorkflowDefinitionError {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : inspect(error);
  return new WorkflowDefinitionError([`The workflow module failed to load: ${detail}`], {
    cause: error,
  });
}

async function loadTarget(target: unknown): Promise<unknown> {
  if (!(target instanceof ModuleLoader)) return target;
  try {
    return await target.load();
  } catch (error) {
    throw loadFailure(error);
  }
}

/** Marks a function that imports the workflow module, so it is not taken for a workflow. */
export class ModuleLoader {
  constructor(readonly load: () => Promise<unknown>) {}
}

/**
 * Serves one workflow over JSON-RPC until the input ends. A
 * {@linkcode ModuleLoader} is awaited before the first message is read.
 * Never rejects.
 */
export async function runServer(target: unknown, io: ServerIo): Promise<void> {
  const { channel } = io;
  let workflow: Workflow | undefined;
  let manifest: Manifest | undefined;
  let definitionError: unknown;
  try {
    ({ workflow, manifest } = resolveWorkflow(await loadTarget(target)));
  } catch (error) {
    definitionError = error;
  }
  const invocations = new Map<string, Invocation>();
  const runs = new Set<Promise<void>>();
  const activeIds = new Set<string>();
  const activeChanged = () => io.onActiveChange?.(activeIds);

  const log = (invocationId: string | null, level: LogLevel, message: string) =>
    channel.log(invocationId, level, message);

  function invalidParams(id: Id, message: string): void {
    channel.respondError(id, { code: ErrorCode.INVALID_PARAMS, message });
  }

  function initialize(id: Id, params: unknown): void {
    if (params !== undefined && !isRecord(params)) {
      return invalidParams(id, "initialize: params must be an object");
    }
    const version = params?.["protocolVersion"];
    if (version !== undefined && version !== PROTOCOL_VERSION) {
      return invalidParams(
        id,
        `initialize: protocolVersion ${
          inspect(version)
        } is not supported; this runtime speaks version ${PROTOCOL_VERSION}`,
      );
    }
    const maxMessageBytes = params?.["maxMessageBytes"];
    if (
      typeof maxMessageBytes === "number" && Number.isSafeInteger(maxMessageBytes) &&
      maxMessageBytes >= 1024
    ) {
      channel.maxMessageBytes = maxMessageBytes;
    }
    if (manifest === undefined) {
      const data = errorData(definitionError);
      return channel.respondError(id, {
        code: ErrorCode.WORKFLOW_ERROR,
        message: data.message,
        data,
      });
    }
    channel.respond(id, manifest);
  }

  async function run(id: Id, params: unknown): Promise<void> {
    if (!isRecord(params)) return invalidParams(id, "run: params must be an object");
    const invocationId = params["invocationId"];
    const event = params["event"];
    const values = params["params"] ?? {};
    if (typeof invocationId !== "string" || invocationId === "") {
      return invalidParams(id, "run: invocationId must be a non-empty string");
    }
    if (!isRecord(event) || typeof event["kind"] !== "string") {
      return invalidParams(id, "run: event must be an object with a string kind");
    }
    if (!isRecord(values)) return invalidParams(id, "run: params.params must be an object");
    if (invocations.has(invocationId)) {
      return invalidParams(id, `run: invocation ${invocationId} is already running`);
    }
    if (workflow === undefined || manifest === undefined) {
      const data = errorData(definitionError);
      return channel.respondError(id, {
        code: ErrorCode.WORKFLOW_ERROR,
        message: data.message,
        data,
      });
    }
    const invocation: Invocation = { controller: new AbortController(), active: true };
    invocations.set(invocationId, invocation);
    activeIds.add(invocationId);
    activeChanged();
    const declared: readonly Capability[] = manifest.capabilities;
    const ctx = createContext({
      invocationId,
      params: Object.freeze({ ...values }) as Readonly<Record<string, string | number | boolean>>,
      signal: invocation.controller.signal,
      declared,
      call: (method, callParams, signal) =>
        channel.request(method, { ...callParams, invocationId }, signal),
      log: (level, message) => log(invocationId, level, message),
      isActive: () => invocation.active,
    });
    const current = workflow;
    try {
      await current.run(ctx, Object.freeze(event) as unknown as WorkflowEvent);
      channel.respond(id, { ok: true });
    } catch (thrown) {
      const cancelled = invocation.controller.signal.aborted &&
        invocation.controller.signal.reason instanceof CancelledError;
      const data = errorData(thrown);
      channel.respondError(id, {
        code: cancelled ? ErrorCode.CANCELLED : ErrorCode.WORKFLOW_ERROR,
        message: data.message === "" ? data.name : data.message,
        data,
      });
    } finally {
      invocation.active = false;
      invocations.delete(invocationId);
      activeIds.delete(invocationId);
      activeChanged();
      if (!invocation.controller.signal.aborted) {
        invocation.controller.abort(
          new InvocationNotActiveError(`Invocation ${invocationId} has ended`),
        );
      }
    }
  }

  function cancel(params: unknown): void {
    const invocationId = isRecord(params) ? params["invocationId"] : undefined;
    if (typeof invocationId !== "string") return;
    const invocation = invocations.get(invocationId);
    if (invocation === undefined || invocation.controller.signal.aborted) return;
    invocation.controller.abort(
      new CancelledError(`Invocation ${invocationId} was cancelled by the host`),
    );
  }

  function handle(message: Incoming): void {
    switch (message.type) {
      case "request":
        switch (message.method) {
          case "initialize":
            return initialize(message.id, message.params);
          case "run": {
            const running = run(message.id, message.params).catch((error: unknown) =>
              channel.respondError(message.id, {
                code: ErrorCode.INTERNAL_ERROR,
                message: `Internal error in the guest runtime: ${inspect(error)}`,
              })
            );
            runs.add(running);
            void running.finally(() => runs.delete(running));
            return;
          }
          default:
            return channel.respondError(message.id, {
              code: ErrorCode.METHOD_NOT_FOUND,
              message: `Method not found: ${truncateUtf8(message.method, 200)}`,
            });
        }
      case "notification":
        if (message.method === "$/cancel") cancel(message.params);
        return;
      case "result":
      case "error": {
        const outcome = message.type === "result"
          ? { result: message.result }
          : { error: message.error };
        if (!channel.settle(message.id, outcome)) {
          log(
            null,
            "debug",
            `Dropped a reply for request id ${inspect(message.id)}, which is not pending`,
          );
        }
        return;
      }
      case "invalid":
        if (message.response) {
          if (!channel.fail(message.id, message.error.message)) {
            log(null, "warn", `Ignored a malformed reply: ${message.error.message}`);
          }
          return;
        }
        return channel.respondError(message.id, message.error);
    }
  }

  const maxLineBytes = io.maxInputLineBytes ?? MAX_INPUT_LINE_BYTES;
  let exitCode = 0;
  try {
    for await (const item of readLines(io.input, maxLineBytes)) {
      switch (item.type) {
        case "line":
          if (item.text.trim() === "") continue;
          try {
            handle(parseLine(item.text));
          } catch (error) {
            log(null, "error", `Internal error in the guest runtime: ${inspect(error)}`);
          }
          break;
        case "too-long":
          channel.respondError(null, {
            code: ErrorCode.INVALID_REQUEST,
            message: `Message of ${item.bytes} bytes refused: the limit is ${maxLineBytes}`,
          });
          break;
        case "bad-utf8":
          channel.respondError(null, {
            code: ErrorCode.PARSE_ERROR,
            message: "Parse error: the line is not valid UTF-8",
          });
          break;
      }
    }
  } catch (error) {
    exitCode = 1;
    log(null, "error", `Reading from the host failed: ${inspect(error)}`);
  }
  // End of input: the host is gone or wants the guest to stop.
  const closed = new HostError("The host closed the connection");
  channel.rejectAll(closed);
  for (const [invocationId, invocation] of invocations) {
    invocation.active = false;
    if (!invocation.controller.signal.aborted) {
      invocation.controller.abort(
        new CancelledError(
          `Invocation ${invocationId} was cancelled: the host closed the connection`,
        ),
      );
    }
  }
  // Give the cancelled runs a moment to settle and their last words to be
  // written, but never wait on workflow code for long.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.allSettled(runs).then(() => channel.flush()),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, EXIT_FLUSH_MS);
    }),
  ]);
  clearTimeout(timer);
  io.exit(exitCode);
}
