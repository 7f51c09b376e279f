/**
 * `ctx.debug.pythonStackTrace`: dump a Python process's thread stacks with py-spy.
 *
 * @module
 */

import type { PidOptions } from "./target.ts";

/**
 * Options of `ctx.debug.pythonStackTrace` (py-spy dump).
 *
 * @example
 * ```ts
 * import type { PythonStackTraceOptions } from "./python_stack_trace.ts";
 *
 * const options: PythonStackTraceOptions = { pid: 7, count: 3, interval: 1, locals: false };
 * ```
 */
export interface PythonStackTraceOptions extends PidOptions {
  /** How many dumps to take, 1 to 100 (1 when absent). */
  readonly count?: number;
  /** Seconds between dumps, 0 to 60 (1 when absent). */
  readonly interval?: number;
  /** Include local variables. */
  readonly locals?: boolean;
}

/**
 * A local variable (or argument) of a stack frame.
 *
 * @example
 * ```ts
 * import type { LocalVariable } from "./python_stack_trace.ts";
 *
 * const item: LocalVariable = { name: "items", repr: "4000", arg: true };
 * ```
 */
export interface LocalVariable {
  /** The variable's name. */
  readonly name: string;
  /** Its `repr`, as py-spy could read it; `null` when it could not. */
  readonly repr: string | null;
  /** Whether it is an argument of the function. */
  readonly arg: boolean;
}

/**
 * One frame of a thread's stack.
 *
 * @example
 * ```ts
 * import type { StackFrame } from "./python_stack_trace.ts";
 *
 * const frame: StackFrame = { function: "main", file: "/app/shop.py", line: 52, locals: null };
 * ```
 */
export interface StackFrame {
  /** The function's (qualified) name. */
  readonly function: string;
  /** Its source file. */
  readonly file: string;
  /** The line being run. */
  readonly line: number;
  /** The frame's locals when they were asked for (`locals: true`), else `null`. */
  readonly locals: readonly LocalVariable[] | null;
}

/**
 * One thread in a stack dump.
 *
 * @example
 * ```ts
 * import type { ThreadStack } from "./python_stack_trace.ts";
 *
 * const thread: ThreadStack = {
 *   threadId: 139969844737728,
 *   osThreadId: 25854,
 *   name: "metrics-reporter",
 *   active: false,
 *   ownsGil: false,
 *   frames: [{ function: "Event.wait", file: "threading.py", line: 629, locals: null }],
 * };
 * ```
 */
export interface ThreadStack {
  /** Python's thread identifier (`threading.get_ident()`). */
  readonly threadId: number;
  /** The OS thread id; `null` when py-spy could not tell. */
  readonly osThreadId: number | null;
  /** The thread's name (`threading.Thread.name`); `null` when unknown. */
  readonly name: string | null;
  /** Whether the thread was running (not idle) when dumped. */
  readonly active: boolean;
  /** Whether it held the GIL. */
  readonly ownsGil: boolean;
  /** Its frames, innermost first. */
  readonly frames: readonly StackFrame[];
}

/**
 * One dump of every thread.
 *
 * @example
 * ```ts
 * import type { StackSnapshot } from "./python_stack_trace.ts";
 *
 * const snapshot: StackSnapshot = { takenAt: "2024-05-01T10:00:00Z", threads: [] };
 * ```
 */
export interface StackSnapshot {
  /** When the dump was taken (RFC 3339). */
  readonly takenAt: string;
  /** The threads, as py-spy listed them. */
  readonly threads: readonly ThreadStack[];
}

/**
 * The result of `ctx.debug.pythonStackTrace`.
 *
 * @example
 * ```ts
 * import type { PythonStackTraceResult } from "./python_stack_trace.ts";
 *
 * function threadNames(result: PythonStackTraceResult): string[] {
 *   return result.snapshots.flatMap((snapshot) =>
 *     snapshot.threads.map((thread) => thread.name ?? `thread ${thread.threadId}`)
 *   );
 * }
 * ```
 */
export type PythonStackTraceResult = {
  /** The process dumped. */
  readonly pid: number;
  /** How many dumps were asked for. */
  readonly count: number;
  /** Seconds between dumps. */
  readonly intervalSeconds: number;
  /** The dumps, oldest first. */
  readonly snapshots: readonly StackSnapshot[];
};
