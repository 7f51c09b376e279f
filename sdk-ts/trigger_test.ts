import { strictEqual } from "node:assert/strict";
import { SCHEDULE_PATTERN, type Trigger } from "./trigger.ts";

Deno.test("accepts intervals made of number and unit groups only", () => {
  for (const good of ["5m", "30s", "1h30m", "250ms", "2d"]) {
    strictEqual(SCHEDULE_PATTERN.test(good), true, good);
  }
  for (const bad of ["", "5", "m", "5 m", "5min", "-5m", "1.5h", "*/5 * * * *"]) {
    strictEqual(SCHEDULE_PATTERN.test(bad), false, bad);
  }
});

Deno.test("types a schedule trigger as needing a schedule, and others as refusing one", () => {
  const triggers: Trigger[] = [{ on: "schedule", schedule: "5m" }, {
    on: "manual",
    namespaces: ["a"],
  }];
  // @ts-expect-error: a schedule trigger needs its schedule
  const missing: Trigger = { on: "schedule" };
  // @ts-expect-error: only schedule triggers take a schedule
  const extra: Trigger = { on: "manual", schedule: "5m" };
  strictEqual(triggers.length + [missing, extra].length, 4);
});
