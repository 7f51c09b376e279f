/**
 * `ctx.debug.pythonDebugger`: make a Python process listen for a debugger.
 *
 * @module
 */

import type { InjectionInfo } from "./injection.ts";
import type { PidOptions } from "./target.ts";

/**
 * Options of `ctx.debug.pythonDebugger` (debugpy listen).
 *
 * @example
 * ```ts
 * import type { PythonDebuggerOptions } from "./python_debugger.ts";
 *
 * const options: PythonDebuggerOptions = { pid: 7, port: 5678 };
 * ```
 */
export interface PythonDebuggerOptions extends PidOptions {
  /** The port debugpy listens on, on the pod's loopback interface, 1024 to 65535. */
  readonly port: number;
}

/**
 * The result of `ctx.debug.pythonDebugger`: debugpy listens in the process
 * and stays listening until it exits.
 *
 * @example
 * ```ts
 * import type { PythonDebuggerResult } from "./python_debugger.ts";
 *
 * function howToAttach(result: PythonDebuggerResult): string {
 *   return `${result.portForwardCommand}, then attach to localhost:${result.port}`;
 * }
 * ```
 */
export type PythonDebuggerResult = {
  /** The process now listening. */
  readonly pid: number;
  /** The address debugpy listens on in the pod (the loopback interface). */
  readonly host: string;
  /** The port it listens on. */
  readonly port: number;
  /** The debugpy version running in the process. */
  readonly debugpyVersion: string;
  /** `target` when the process imported its own debugpy, `agent` for the agent's copy. */
  readonly debugpySource: "target" | "agent";
  /**
   * The `kubectl port-forward` command that reaches the port. It may hold
   * `<namespace>` and `<pod>` placeholders when the agent was not told them.
   */
  readonly portForwardCommand: string;
  /** A VS Code `launch.json` configuration that attaches through the port-forward. */
  readonly launchJson: Readonly<Record<string, unknown>>;
  /** How debugpy was started in the target. */
  readonly injection: InjectionInfo;
};
