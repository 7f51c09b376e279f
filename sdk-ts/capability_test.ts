import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { CAPABILITIES, type HostMethod, isCapability, METHOD_CAPABILITY } from "./capability.ts";
import type { HostMethods } from "./protocol.ts";
import { assertType, type IsExact } from "./_type_assert.ts";

Deno.test("maps every host method of the protocol to the capability that unlocks it", () => {
  deepStrictEqual(Object.keys(METHOD_CAPABILITY).sort(), [
    "debug.goProfile",
    "debug.javaHeapHistogram",
    "debug.javaProfile",
    "debug.javaThreadDump",
    "debug.networkCheck",
    "debug.nodeProfile",
    "debug.processList",
    "debug.pythonDebugger",
    "debug.pythonInspect",
    "debug.pythonMemory",
    "debug.pythonProfile",
    "debug.pythonStackTrace",
    "findings.report",
    "k8s.events",
    "k8s.get",
    "k8s.getPod",
    "k8s.list",
    "k8s.listPods",
    "k8s.owners",
    "k8s.podLogs",
  ]);
  deepStrictEqual(new Set(Object.values(METHOD_CAPABILITY)), new Set(CAPABILITIES));
  assertType<IsExact<keyof HostMethods, HostMethod>>(true);
});

Deno.test("recognises capabilities exactly, case included", () => {
  strictEqual(isCapability("debug.pythonMemory"), true);
  strictEqual(isCapability("debug.pythonmemory"), false);
  strictEqual(isCapability(undefined), false);
});
