/**
 * What the Go and Node.js profilers' findings share: the hottest-functions
 * table and headline, from the agent's `topFunctions` (the same shape for
 * every runtime).
 *
 * @module
 */

import type { FunctionStat, Table } from "@wfhost/sdk";
import { basename, code, percent } from "./_markdown.ts";

/** How many functions a finding's table lists. */
export const TABLE_FUNCTIONS = 15;

function location(stat: FunctionStat): string {
  if (stat.file === null) return "";
  return stat.line === null ? stat.file : `${stat.file}:${stat.line}`;
}

/**
 * The functions that were the innermost frame at least once.
 *
 * @param top The agent's `topFunctions`.
 * @returns Those with self samples, hottest first.
 */
export function hottest(top: readonly FunctionStat[]): readonly FunctionStat[] {
  return top.filter((stat) => stat.selfSamples > 0);
}

/**
 * The two hottest functions with their shares, for a title.
 *
 * @param top The agent's `topFunctions`.
 * @param idle What to say without samples.
 * @returns e.g. `main.burnCPU 97%, runtime.mallocgc 2%`.
 */
export function headline(top: readonly FunctionStat[], idle: string): string {
  const hot = hottest(top);
  return hot.length === 0
    ? idle
    : hot.slice(0, 2).map((stat) => `${stat.function} ${percent(stat.selfShare)}`).join(", ");
}

/**
 * One sentence about the hottest function, or `undefined` without samples.
 *
 * @param top The agent's `topFunctions`.
 * @returns Markdown.
 */
export function leaderSentence(top: readonly FunctionStat[]): string | undefined {
  const leader = hottest(top)[0];
  if (leader === undefined) return undefined;
  return `${code(leader.function)} (${basename(leader.file)}) was the innermost frame in ` +
    `${percent(leader.selfShare)} of the samples and on the stack in ` +
    `${percent(leader.totalShare)}.`;
}

/**
 * The hottest-functions table.
 *
 * @param top The agent's `topFunctions`.
 * @returns The table.
 */
export function functionsTable(top: readonly FunctionStat[]): Table {
  return {
    title: "Hottest functions (by self time)",
    columns: ["#", "function", "location", "self", "total", "self samples"],
    rows: top.slice(0, TABLE_FUNCTIONS).map((stat, index) => [
      index + 1,
      stat.function,
      location(stat),
      percent(stat.selfShare),
      percent(stat.totalShare),
      stat.selfSamples,
    ]),
  };
}
