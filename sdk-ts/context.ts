/**
 * `ctx`: what a workflow's `run` receives besides the event.
 *
 * @module
 */

import type { DebugClient } from "./debug/mod.ts";
import type { ReportOptions, ReportResult } from "./finding.ts";
import type { CallOptions, K8sClient } from "./k8s.ts";

/**
 * `ctx.log`: messages the host logs with the invocation's id. Arguments are
 * formatted like `console.log`'s (`%s`, `%d`, `%o`, objects inspected).
 *
 * @example
 * ```ts
 * import type { Logger } from "./context.ts";
 *
 * function progress(log: Logger, done: number, total: number): void {
 *   log.info("processed %d of %d pods", done, total);
 * }
 * ```
 */
export interface Logger {
  /** Logs at `debug` level. */
  debug(...data: unknown[]): void;
  /** Logs at `info` level. */
  info(...data: unknown[]): void;
  /** Logs at `warn` level. */
  warn(...data: unknown[]): void;
  /** Logs at `error` level. */
  error(...data: unknown[]): void;
}

/**
 * The context of one invocation. Every method rejects once `run` has
 * returned (the host would refuse the call anyway), and every pending call
 * rejects when `signal` aborts.
 *
 * @typeParam P The type of `ctx.params`, derived from the workflow's `params`.
 *
 * @example
 * ```ts
 * import type { Context } from "./context.ts";
 *
 * async function summarize(ctx: Context<{ readonly namespace: string }>): Promise<void> {
 *   const pods = await ctx.k8s.listPods(ctx.params.namespace);
 *   ctx.log.info("found %d pods", pods.length);
 *   await ctx.report({ title: `${pods.length} pods in ${ctx.params.namespace}` });
 * }
 * ```
 */
export interface Context<P = Readonly<Record<string, unknown>>> {
  /** The host's id for this invocation. */
  readonly invocationId: string;
  /** The parameters, merged by the host (defaults < config < per-call values). */
  readonly params: Readonly<P>;
  /**
   * Aborted when the host cancels the invocation (reason: `CancelledError`)
   * and when `run` returns (reason: `InvocationNotActiveError`). Pass it to
   * anything that can be cancelled.
   */
  readonly signal: AbortSignal;
  /** Logs messages attributed to this invocation. */
  readonly log: Logger;
  /**
   * Reports a finding (needs `findings.report`).
   *
   * @returns The finding's id.
   * @throws {LimitExceededError} When the invocation reported too many findings.
   */
  report(finding: ReportOptions, options?: CallOptions): Promise<ReportResult>;
  /** Reads pods, logs and events (needs `k8s.read`). */
  readonly k8s: K8sClient;
  /** Runs debug actions against a container (needs the matching `debug.*` capability). */
  readonly debug: DebugClient;
}
