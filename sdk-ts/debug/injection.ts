/**
 * How the agent ran code inside a Python process through gdb, as the
 * `pythonMemory`, `pythonInspect` and `pythonDebugger` results report it.
 *
 * @module
 */

/**
 * How code was run inside the target through gdb (memory, inspect, debugger).
 *
 * @example
 * ```ts
 * import type { InjectionInfo } from "./injection.ts";
 *
 * const injection: InjectionInfo = {
 *   strategy: "main-thread-syscall",
 *   threadId: 7,
 *   gdbSeconds: 1.4,
 * };
 * ```
 */
export interface InjectionInfo {
  /**
   * `gil-holder-syscall`: the thread holding the GIL sat in a system call;
   * `main-thread-syscall` / `thread-syscall`: nobody held the GIL and that
   * thread sat in a system call; `pending-call`: the main thread ran it from
   * its interpreter loop.
   */
  readonly strategy:
    | "gil-holder-syscall"
    | "main-thread-syscall"
    | "thread-syscall"
    | "pending-call";
  /** The OS thread id that ran the injected code. */
  readonly threadId: number;
  /** Wall time of the gdb run, attach to detach: an upper bound on the target's pause. */
  readonly gdbSeconds: number;
}
