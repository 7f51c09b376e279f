import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  CancelledError,
  CapabilityDeniedError,
  CapabilityError,
  ErrorCode,
  errorFromRpc,
  HostError,
  InvalidParamsError,
  InvocationNotActiveError,
  LimitExceededError,
  NotFoundError,
  RequestTimeoutError,
  UpstreamError,
  WorkflowDefinitionError,
} from "./errors.ts";

Deno.test("maps every protocol error code to its own class, named after it", () => {
  const expected: [number, new (...args: never[]) => CapabilityError, string][] = [
    [ErrorCode.CAPABILITY_DENIED, CapabilityDeniedError, "CapabilityDeniedError"],
    [ErrorCode.INVOCATION_NOT_ACTIVE, InvocationNotActiveError, "InvocationNotActiveError"],
    [ErrorCode.LIMIT_EXCEEDED, LimitExceededError, "LimitExceededError"],
    [ErrorCode.REQUEST_TIMEOUT, RequestTimeoutError, "RequestTimeoutError"],
    [ErrorCode.CANCELLED, CancelledError, "CancelledError"],
    [ErrorCode.UPSTREAM_ERROR, UpstreamError, "UpstreamError"],
    [ErrorCode.NOT_FOUND, NotFoundError, "NotFoundError"],
    [ErrorCode.INVALID_PARAMS, InvalidParamsError, "InvalidParamsError"],
    [ErrorCode.INTERNAL_ERROR, HostError, "HostError"],
    [ErrorCode.METHOD_NOT_FOUND, HostError, "HostError"],
    [-32099, HostError, "HostError"],
  ];
  for (const [code, type, name] of expected) {
    const error = errorFromRpc("k8s.getPod", {
      code,
      message: "Went wrong",
      data: { reason: "x" },
    });
    ok(error instanceof type, `${code} gave ${error.name}`);
    ok(error instanceof CapabilityError);
    strictEqual(error.name, name);
    strictEqual(error.code, code);
    strictEqual(error.method, "k8s.getPod");
    deepStrictEqual(error.data, { reason: "x" });
  }
});

Deno.test("gives an empty host message a readable replacement", () => {
  strictEqual(
    errorFromRpc("k8s.events", { code: -32603, message: "" }).message,
    "The host answered k8s.events with an error",
  );
});

Deno.test("exposes the upstream reason only when the host sent a string", () => {
  strictEqual(
    new UpstreamError("Failed", { data: { reason: "agent exited 2" } }).reason,
    "agent exited 2",
  );
  strictEqual(new UpstreamError("Failed", { data: { reason: 2 } }).reason, undefined);
  strictEqual(new UpstreamError("Failed").reason, undefined);
});

Deno.test("keeps the cause it was given", () => {
  const cause = new RangeError("inner");
  strictEqual(new NotFoundError("Outer", { cause }).cause, cause);
  strictEqual(new WorkflowDefinitionError(["a: b"], { cause }).cause, cause);
  strictEqual("cause" in new HostError("No cause"), false);
});

Deno.test("lists every definition problem in the message and keeps them frozen", () => {
  const error = new WorkflowDefinitionError(["name: bad", "run: missing"]);
  strictEqual(error.name, "WorkflowDefinitionError");
  strictEqual(error.message, "Invalid workflow definition: name: bad; run: missing");
  deepStrictEqual(error.problems, ["name: bad", "run: missing"]);
  ok(Object.isFrozen(error.problems));
});
