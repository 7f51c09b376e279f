/**
 * `ctx.debug.pythonInspect`: a Python process's interpreter, modules, threads,
 * files and sockets.
 *
 * @module
 */

import type { InjectionInfo } from "./injection.ts";

/**
 * The interpreter running a process.
 *
 * @example
 * ```ts
 * import type { InterpreterInfo } from "./python_inspect.ts";
 *
 * const interpreter: InterpreterInfo = {
 *   version: "3.11.7",
 *   implementation: "CPython",
 *   executable: "/usr/local/bin/python3.11",
 *   prefix: "/usr/local",
 *   debugBuild: false,
 *   platform: "linux",
 * };
 * ```
 */
export interface InterpreterInfo {
  /** The full version, e.g. `3.11.7`. */
  readonly version: string;
  /** e.g. `CPython`. */
  readonly implementation: string;
  /** `sys.executable`. */
  readonly executable: string;
  /** `sys.prefix` (a virtualenv's directory when one is active). */
  readonly prefix: string;
  /** Whether it is a debug build. */
  readonly debugBuild: boolean;
  /** `sys.platform`. */
  readonly platform: string;
}

/**
 * A top-level module outside the standard library, with its distribution.
 *
 * @example
 * ```ts
 * import type { ModuleInfo } from "./python_inspect.ts";
 *
 * const module: ModuleInfo = {
 *   name: "yaml",
 *   distribution: "PyYAML",
 *   version: "6.0.1",
 *   path: "/app/.venv/lib/python3.11/site-packages/yaml/__init__.py",
 * };
 * ```
 */
export interface ModuleInfo {
  /** The top-level import name. */
  readonly name: string;
  /** The installed distribution providing it; `null` when none does. */
  readonly distribution: string | null;
  /** The distribution's version; `null` when unknown. */
  readonly version: string | null;
  /** The module's file; `null` for built-in or namespace modules. */
  readonly path: string | null;
}

/**
 * A Python thread of the process.
 *
 * @example
 * ```ts
 * import type { ThreadInfo } from "./python_inspect.ts";
 *
 * const thread: ThreadInfo = { name: "MainThread", ident: 140000, nativeId: 7, daemon: false };
 * ```
 */
export interface ThreadInfo {
  /** `threading.Thread.name`. */
  readonly name: string;
  /** `threading.Thread.ident`. */
  readonly ident: number;
  /** The OS thread id; `null` when unknown. */
  readonly nativeId: number | null;
  /** Whether it is a daemon thread. */
  readonly daemon: boolean;
}

/**
 * A file the process holds open.
 *
 * @example
 * ```ts
 * import type { OpenFile } from "./python_inspect.ts";
 *
 * const file: OpenFile = { fd: 3, path: "/var/log/app.log" };
 * ```
 */
export interface OpenFile {
  /** The file descriptor. */
  readonly fd: number;
  /** The path. */
  readonly path: string;
}

/**
 * A socket the process holds open.
 *
 * @example
 * ```ts
 * import type { SocketInfo } from "./python_inspect.ts";
 *
 * const socket: SocketInfo = {
 *   fd: 5,
 *   family: "AF_INET",
 *   type: "SOCK_STREAM",
 *   localAddress: "0.0.0.0:8080",
 *   remoteAddress: null,
 *   status: "LISTEN",
 * };
 * ```
 */
export interface SocketInfo {
  /** The file descriptor. */
  readonly fd: number;
  /** The address family, e.g. `AF_INET`. */
  readonly family: string;
  /** The socket type, e.g. `SOCK_STREAM`. */
  readonly type: string;
  /** `host:port` it is bound to; `null` when unbound. */
  readonly localAddress: string | null;
  /** `host:port` it is connected to; `null` when not connected. */
  readonly remoteAddress: string | null;
  /** The connection state, e.g. `LISTEN` or `ESTABLISHED`. */
  readonly status: string;
}

/**
 * Something about the process worth a look, found while inspecting it.
 *
 * @example
 * ```ts
 * import type { InspectWarning } from "./python_inspect.ts";
 *
 * const warning: InspectWarning = { code: "eol_python", message: "Python 3.7 is end-of-life" };
 * ```
 */
export interface InspectWarning {
  /** A short machine-readable code. */
  readonly code: string;
  /** What it means, for humans. */
  readonly message: string;
}

/**
 * The result of `ctx.debug.pythonInspect`.
 *
 * @example
 * ```ts
 * import type { PythonInspectResult } from "./python_inspect.ts";
 *
 * function describe(result: PythonInspectResult): string {
 *   return `Python ${result.interpreter.version}, ${result.modules.length} packages`;
 * }
 * ```
 */
export type PythonInspectResult = {
  /** The process inspected. */
  readonly pid: number;
  /** How the information was read. */
  readonly method: "gdb-injection";
  /** How code was run in the target. */
  readonly injection: InjectionInfo;
  /** The interpreter. */
  readonly interpreter: InterpreterInfo;
  /** Loaded top-level modules outside the standard library, with distributions. */
  readonly modules: readonly ModuleInfo[];
  /** Loaded top-level standard-library modules, by name. */
  readonly stdlibModules: readonly string[];
  /** The Python threads. */
  readonly threads: readonly ThreadInfo[];
  /** Open files. */
  readonly openFiles: readonly OpenFile[];
  /** Open sockets. */
  readonly sockets: readonly SocketInfo[];
  /** Names of the environment variables; values are never read out. */
  readonly environmentNames: readonly string[];
  /** Things worth a look. */
  readonly warnings: readonly InspectWarning[];
};
