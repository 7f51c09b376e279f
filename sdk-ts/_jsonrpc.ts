/**
 * JSON-RPC 2.0 message shapes and the classification of an incoming line.
 * A malformed line is a value (`{ type: "invalid" }`), never a thrown error,
 * so the reader loop cannot be crashed by its input.
 *
 * @module
 */

import { ErrorCode } from "./errors.ts";

/** A request or response id. The host uses integers; strings and `null` are tolerated. */
export type Id = number | string | null;

/** The `error` member of a response. */
export interface RpcError {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/** An incoming message, classified. */
export type Incoming =
  | { readonly type: "request"; readonly id: Id; readonly method: string; readonly params: unknown }
  | { readonly type: "notification"; readonly method: string; readonly params: unknown }
  | { readonly type: "result"; readonly id: Id; readonly result: unknown }
  | { readonly type: "error"; readonly id: Id; readonly error: RpcError }
  | {
    readonly type: "invalid";
    readonly id: Id;
    readonly error: RpcError;
    /** It looked like a response: answering it would confuse the peer's own ids. */
    readonly response: boolean;
  };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is Id {
  return value === null || typeof value === "string" ||
    (typeof value === "number" && Number.isFinite(value));
}

function invalid(id: Id, code: number, message: string, response = false): Incoming {
  return { type: "invalid", id, error: { code, message }, response };
}

/** Classifies an already parsed JSON value as a JSON-RPC 2.0 message. */
export function classify(value: unknown): Incoming {
  if (Array.isArray(value)) {
    return invalid(null, ErrorCode.INVALID_REQUEST, "Invalid request: batches are not supported");
  }
  if (!isRecord(value)) {
    return invalid(null, ErrorCode.INVALID_REQUEST, "Invalid request: expected a JSON object");
  }
  const hasId = "id" in value;
  const id = hasId && isId(value["id"]) ? value["id"] : null;
  if (hasId && !isId(value["id"])) {
    return invalid(
      null,
      ErrorCode.INVALID_REQUEST,
      "Invalid request: id must be a number, a string or null",
    );
  }
  if (value["jsonrpc"] !== "2.0") {
    return invalid(
      id,
      ErrorCode.INVALID_REQUEST,
      'Invalid message: jsonrpc must be "2.0"',
      !("method" in value),
    );
  }
  if ("method" in value) {
    const method = value["method"];
    if (typeof method !== "string" || method === "") {
      return invalid(
        id,
        ErrorCode.INVALID_REQUEST,
        "Invalid request: method must be a non-empty string",
      );
    }
    const params = value["params"];
    if (params !== undefined && typeof params !== "object") {
      return invalid(
        id,
        ErrorCode.INVALID_REQUEST,
        "Invalid request: params must be an object or an array",
      );
    }
    return hasId
      ? { type: "request", id, method, params }
      : { type: "notification", method, params };
  }
  const hasResult = "result" in value;
  const hasError = "error" in value;
  if (!hasId || hasResult === hasError) {
    return invalid(
      id,
      ErrorCode.INVALID_REQUEST,
      "Invalid message: expected a request (method) or a response (id with exactly one of result, error)",
      hasId,
    );
  }
  if (hasResult) return { type: "result", id, result: value["result"] };
  const error = value["error"];
  if (
    !isRecord(error) || !Number.isInteger(error["code"]) || typeof error["message"] !== "string"
  ) {
    return invalid(
      id,
      ErrorCode.INVALID_REQUEST,
      "Invalid response: error must be { code, message }",
      true,
    );
  }
  const rpcError: RpcError = "data" in error
    ? { code: error["code"] as number, message: error["message"], data: error["data"] }
    : { code: error["code"] as number, message: error["message"] };
  return { type: "error", id, error: rpcError };
}

/** Parses one line of text into a classified message. */
export function parseLine(line: string): Incoming {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return invalid(null, ErrorCode.PARSE_ERROR, `Parse error: ${detail}`);
  }
  return classify(value);
}
