/**
 * For the analyzers' tests: an explanation's evidence as plain text (tables as `|`-joined rows),
 * so a test can look for what the finding would show.
 *
 * @module
 */

import type { Explanation } from "@wfhost/sdk/explain.ts";

/** The evidence of `explanation`, one line per text item and per table row. */
export function evidenceText(explanation: Explanation): string {
  return explanation.evidence.map((e) =>
    e.kind === "table"
      ? [e.table.title, e.table.columns.join("|"), ...e.table.rows.map((r) => r.join("|"))].join(
        "\n",
      )
      : `${e.title}: ${e.text}`
  ).join("\n");
}
