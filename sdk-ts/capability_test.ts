import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { CAPABILITIES, isCapability, METHOD_CAPABILITY } from "./capability.ts";

Deno.test("maps every host method of the protocol to the capability that unlocks it", () => {
  deepStrictEqual(Object.keys(METHOD_CAPABILITY).sort(), [
    "debug.processList",
    "debug.pythonDebugger",
    "debug.pythonInspect",
    "debug.pythonMemory",
    "debug.pythonProfile",
    "debug.pythonStackTrace",
    "findings.report",
    "k8s.events",
    "k8s.getPod",
    "k8s.listPods",
    "k8s.podLogs",
  ]);
  deepStrictEqual(new Set(Object.values(METHOD_CAPABILITY)), new Set(CAPABILITIES));
});

Deno.test("recognises capabilities exactly, case included", () => {
  strictEqual(isCapability("debug.pythonMemory"), true);
  strictEqual(isCapability("debug.pythonmemory"), false);
  strictEqual(isCapability(undefined), false);
});
