/**
 * Errors a workflow sees when a host call fails, and the JSON-RPC error codes
 * they stand for.
 *
 * ```text
 * Error
 * ├── CapabilityError               a host call failed; `code` is the JSON-RPC code
 * │   ├── CapabilityDeniedError     -32001 not declared, not granted, or out of scope
 * │   ├── InvocationNotActiveError  -32002 the invocation already returned
 * │   ├── LimitExceededError        -32003 a per-invocation cap was hit
 * │   ├── RequestTimeoutError       -32004 the host gave up waiting
 * │   ├── CancelledError            -32005 the invocation was cancelled
 * │   ├── UpstreamError             -32006 Kubernetes or the debug agent failed
 * │   ├── NotFoundError             -32007 the pod or artifact does not exist
 * │   ├── InvalidParamsError        -32602 the call's arguments were refused
 * │   └── HostError                 any other code: the host itself failed
 * └── WorkflowDefinitionError       the workflow's definition is invalid
 * ```
 *
 * @module
 */

import { ErrorCode } from "./_vocabulary.ts";

// Generated from host/model/vocabulary.py with its documentation (see _vocabulary.ts).
export { ErrorCode };

/**
 * One of the numeric codes in {@linkcode ErrorCode}.
 *
 * @example
 * ```ts
 * import type { ErrorCodeValue } from "./errors.ts";
 *
 * const code: ErrorCodeValue = -32007;
 * ```
 */
export type ErrorCodeValue = typeof ErrorCode[keyof typeof ErrorCode];

/**
 * Options shared by every {@linkcode CapabilityError} constructor.
 *
 * @example
 * ```ts
 * import { NotFoundError, type CapabilityErrorOptions } from "./errors.ts";
 *
 * const options: CapabilityErrorOptions = { method: "k8s.getPod" };
 * const error = new NotFoundError("Pod shop/web-1 not found", options);
 * ```
 */
export interface CapabilityErrorOptions {
  /** The host method that failed, such as `"k8s.getPod"`. */
  method?: string;
  /** The `data` member of the JSON-RPC error, as the host sent it. */
  data?: unknown;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A host call failed. `code` is the JSON-RPC error code; subclasses exist for
 * the codes a workflow may want to handle (`instanceof NotFoundError`).
 *
 * @example Handle any failed host call
 * ```ts
 * import { CapabilityError, ErrorCode } from "./errors.ts";
 * import { ok, strictEqual } from "node:assert/strict";
 *
 * const error = new CapabilityError("The host failed", { code: ErrorCode.INTERNAL_ERROR });
 * ok(error instanceof Error);
 * strictEqual(error.name, "CapabilityError");
 * strictEqual(error.code, -32603);
 * ```
 */
export class CapabilityError extends Error {
  /** The JSON-RPC error code. */
  readonly code: number;
  /** The host method that failed, when known. */
  readonly method: string | undefined;
  /** The `data` member of the JSON-RPC error, as the host sent it. */
  readonly data: unknown;

  /**
   * Creates an error for a failed host call.
   *
   * @param message What went wrong, starting with a capital letter.
   * @param options The JSON-RPC code plus the optional method, data and cause.
   */
  constructor(message: string, options: CapabilityErrorOptions & { code: number }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CapabilityError";
    this.code = options.code;
    this.method = options.method;
    this.data = options.data;
  }
}

/**
 * The host refused the call: the workflow did not declare the capability, the
 * operator did not grant it, or the subject is outside the granted namespaces.
 *
 * @example
 * ```ts
 * import { CapabilityDeniedError } from "./errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const error = new CapabilityDeniedError("Not granted", { method: "debug.pythonProfile" });
 * strictEqual(error.code, -32001);
 * ```
 */
export class CapabilityDeniedError extends CapabilityError {
  /**
   * Creates the error.
   *
   * @param message Why the call was refused.
   * @param options The method, data and cause.
   */
  constructor(message: string, options: CapabilityErrorOptions = {}) {
    super(message, { ...options, code: ErrorCode.CAPABILITY_DENIED });
    this.name = "CapabilityDeniedError";
  }
}

/**
 * The call names an invocation that is not running, typically because `run`
 * already returned.
 *
 * @example
 * ```ts
 * import { InvocationNotActiveError } from "./errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(new InvocationNotActiveError("Ended").code, -32002);
 * ```
 */
export class InvocationNotActiveError extends CapabilityError {
  /**
   * Creates the error.
   *
   * @param message Which invocation is not active.
   * @param options The method, data and cause.
   */
  constructor(message: string, options: CapabilityErrorOptions = {}) {
    super(message, { ...options, code: ErrorCode.INVOCATION_NOT_ACTIVE });
    this.name = "InvocationNotActiveError";
  }
}

/**
 * A per-invocation cap (calls, findings, log volume, message size) was hit.
 *
 * @example
 * ```ts
 * import { LimitExceededError } from "./errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(new LimitExceededError("Too many findings").code, -32003);
 * ```
 */
export class LimitExceededError extends CapabilityError {
  /**
   * Creates the error.
   *
   * @param message Which limit was hit.
   * @param options The method, data and cause.
   */
  constructor(message: string, options: CapabilityErrorOptions = {}) {
    super(message, { ...options, code: ErrorCode.LIMIT_EXCEEDED });
    this.name = "LimitExceededError";
  }
}

/**
 * The host gave up waiting for the call's result.
 *
 * @example
 * ```ts
 * import { RequestTimeoutError } from "./errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(new RequestTimeoutError("Timed out").code, -32004);
 * ```
 */
export class RequestTimeoutError extends CapabilityError {
  /**
   * Creates the error.
   *
   * @param message What timed out.
   * @param options The method, data and cause.
   */
  constructor(message: string, options: CapabilityErrorOptions = {}) {
    super(message, { ...options, code: ErrorCode.REQUEST_TIMEOUT });
    this.name = "RequestTimeoutError";
  }
}

/**
 * The invocation was cancelled; `ctx.signal` is aborted with this error as
 * its reason.
 *
 * @example
 * ```ts
 * import { CancelledError } from "./errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(new CancelledError("Cancelled by the host").code, -32005);
 * ```
 */
export class CancelledError extends CapabilityError {
  /**
   * Creates the error.
   *
   * @param message Why the invocation was cancelled.
   * @param options The method, data and cause.
   */
  constructor(message: string, options: CapabilityErrorOptions = {}) {
    super(message, { ...options, code: ErrorCode.CANCELLED });
    this.name = "CancelledError";
  }
}

/**
 * The Kubernetes API or the debug agent failed; `reason` repeats the host's
 * `data.reason` when it sent one.
 *
 * @example
 * ```ts
 * import { UpstreamError } from "./errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const error = new UpstreamError("Agent failed", { data: { reason: "py-spy exited 1" } });
 * strictEqual(error.reason, "py-spy exited 1");
 * ```
 */
export class UpstreamError extends CapabilityError {
  /** The host's `data.reason`, when it sent one. */
  readonly reason: string | undefined;

  /**
   * Creates the error.
   *
   * @param message What failed upstream.
   * @param options The method, data (with an optional `reason`) and cause.
   */
  constructor(message: string, options: CapabilityErrorOptions = {}) {
    super(message, { ...options, code: ErrorCode.UPSTREAM_ERROR });
    this.name = "UpstreamError";
    const data = options.data;
    this.reason = typeof data === "object" && data !== null && "reason" in data &&
        typeof data.reason === "string"
      ? data.reason
      : undefined;
  }
}

/**
 * The subject of the call (a pod, an artifact) does not exist.
 *
 * @example
 * ```ts
 * import { NotFoundError } from "./errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(new NotFoundError("Pod shop/web-1 not found").code, -32007);
 * ```
 */
export class NotFoundError extends CapabilityError {
  /**
   * Creates the error.
   *
   * @param message What was not found.
   * @param options The method, data and cause.
   */
  constructor(message: string, options: CapabilityErrorOptions = {}) {
    super(message, { ...options, code: ErrorCode.NOT_FOUND });
    this.name = "NotFoundError";
  }
}

/**
 * The call's arguments were refused, by the host or already by the SDK.
 *
 * @example
 * ```ts
 * import { InvalidParamsError } from "./errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(new InvalidParamsError("pod.name must be a string").code, -32602);
 * ```
 */
export class InvalidParamsError extends CapabilityError {
  /**
   * Creates the error.
   *
   * @param message Which argument is wrong and why.
   * @param options The method, data and cause.
   */
  constructor(message: string, options: CapabilityErrorOptions = {}) {
    super(message, { ...options, code: ErrorCode.INVALID_PARAMS });
    this.name = "InvalidParamsError";
  }
}

/**
 * The host failed in a way the workflow cannot fix (an internal error, an
 * unknown method, a closed connection, or a code this SDK does not know).
 *
 * @example
 * ```ts
 * import { HostError } from "./errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(new HostError("Boom").code, -32603);
 * strictEqual(new HostError("No such method", { code: -32601 }).code, -32601);
 * ```
 */
export class HostError extends CapabilityError {
  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param options The code (default `INTERNAL_ERROR`), method, data and cause.
   */
  constructor(message: string, options: CapabilityErrorOptions & { code?: number } = {}) {
    super(message, { ...options, code: options.code ?? ErrorCode.INTERNAL_ERROR });
    this.name = "HostError";
  }
}

/**
 * Turns a JSON-RPC error the host answered into the matching error class.
 *
 * @param method The host method that was called.
 * @param error The `error` member of the JSON-RPC response.
 * @returns An instance of the {@linkcode CapabilityError} subclass for `error.code`.
 *
 * @example
 * ```ts
 * import { errorFromRpc, NotFoundError } from "./errors.ts";
 * import { ok, strictEqual } from "node:assert/strict";
 *
 * const error = errorFromRpc("k8s.getPod", { code: -32007, message: "No pod shop/web-1" });
 * ok(error instanceof NotFoundError);
 * strictEqual(error.method, "k8s.getPod");
 * ```
 */
export function errorFromRpc(
  method: string,
  error: { code: number; message: string; data?: unknown },
): CapabilityError {
  const message = error.message === ""
    ? `The host answered ${method} with an error`
    : error.message;
  const options: CapabilityErrorOptions = { method, data: error.data };
  switch (error.code) {
    case ErrorCode.CAPABILITY_DENIED:
      return new CapabilityDeniedError(message, options);
    case ErrorCode.INVOCATION_NOT_ACTIVE:
      return new InvocationNotActiveError(message, options);
    case ErrorCode.LIMIT_EXCEEDED:
      return new LimitExceededError(message, options);
    case ErrorCode.REQUEST_TIMEOUT:
      return new RequestTimeoutError(message, options);
    case ErrorCode.CANCELLED:
      return new CancelledError(message, options);
    case ErrorCode.UPSTREAM_ERROR:
      return new UpstreamError(message, options);
    case ErrorCode.NOT_FOUND:
      return new NotFoundError(message, options);
    case ErrorCode.INVALID_PARAMS:
      return new InvalidParamsError(message, options);
    default:
      return new HostError(message, { ...options, code: error.code });
  }
}

/**
 * The value given to `serve` or to `toManifest` is not a valid workflow
 * definition. `problems` lists every problem, each naming the offending path.
 *
 * @example
 * ```ts
 * import { WorkflowDefinitionError } from "./errors.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const error = new WorkflowDefinitionError(["name: must be a non-empty string"]);
 * strictEqual(error.message, "Invalid workflow definition: name: must be a non-empty string");
 * ```
 */
export class WorkflowDefinitionError extends Error {
  /** Every problem found, each starting with the path it concerns. */
  readonly problems: readonly string[];

  /**
   * Creates the error.
   *
   * @param problems The problems found, at least one.
   * @param options The optional cause.
   */
  constructor(problems: readonly string[], options: { cause?: unknown } = {}) {
    super(
      `Invalid workflow definition: ${problems.join("; ")}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "WorkflowDefinitionError";
    this.problems = Object.freeze([...problems]);
  }
}
