/**
 * The debug actions a workflow reaches through `ctx.debug`. Each runs the
 * debug agent next to the target container (in an ephemeral container) and
 * needs the capability of the same name, e.g. `debug.pythonProfile`: the
 * Python tools, `goProfile` (net/http/pprof), `nodeProfile` (the inspector)
 * and `networkCheck` (sockets, DNS, TCP and HTTP from the pod's network
 * namespace), and for a JVM `javaThreadDump`, `javaHeapHistogram` and
 * `javaProfile` (JFR), through its attach mechanism.
 *
 * Results are the agent's JSON replies (`host/agent/models.py`, keys in
 * camelCase) with every embedded file replaced by an `ArtifactRef`
 * handle in `artifacts`: attach it to a finding as is. Every key the agent
 * sends is always present; "no value" is `null`, never a missing key. The
 * results are object type aliases rather than interfaces, so each is also a
 * `Record<string, unknown>`.
 *
 * The host requires `pid` for every action but `processList` and
 * `networkCheck`: list the processes first and pick the ones of the right
 * runtime (`runtime: "python"`, `"go"`, `"node"`, `"jvm"`).
 *
 * @module
 */

export * from "./client.ts";
export * from "./go_profile.ts";
export * from "./injection.ts";
export * from "./java.ts";
export * from "./network_check.ts";
export * from "./node_profile.ts";
export * from "./process_list.ts";
export * from "./python_debugger.ts";
export * from "./python_inspect.ts";
export * from "./python_memory.ts";
export * from "./python_profile.ts";
export * from "./python_stack_trace.ts";
export * from "./target.ts";
