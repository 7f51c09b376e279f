import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  type ChangeTrigger,
  CRON_PATTERN,
  INTERVAL_PATTERN,
  KIND_PATTERN,
  type KindKey,
  SCHEDULE_PATTERN,
  type Trigger,
} from "./trigger.ts";
import { defineWorkflow, toManifest } from "./workflow.ts";

const INTERVALS = ["5m", "30s", "1h30m", "250ms", "2d"];
const CRONS = [
  "*/15 * * * *",
  "0 3 * * MON-FRI",
  "0 0 1 JAN,JUL *",
  "5,35 */2 1-15 * 0",
  "0 0 L * *",
  "0 9 * * MON#1",
  "0\t3 * * *",
];
const NEITHER = [
  "",
  "5",
  "m",
  "5 m",
  "5min",
  "-5m",
  "1.5h",
  "every 5 minutes",
  "* * * *",
  "0 * * * * *",
  " 0 3 * * *",
  "0 3 * * * ",
  "0 3 * * *\n",
  "@hourly",
  "0 3 * * ?",
  "0 3 * * $(reboot)",
];

Deno.test("accepts intervals made of number and unit groups only", () => {
  for (const good of INTERVALS) strictEqual(INTERVAL_PATTERN.test(good), true, good);
  for (const bad of [...NEITHER, ...CRONS]) strictEqual(INTERVAL_PATTERN.test(bad), false, bad);
});

Deno.test("accepts cron expressions of five fields of cron characters", () => {
  for (const good of CRONS) strictEqual(CRON_PATTERN.test(good), true, good);
  for (const bad of [...NEITHER, ...INTERVALS]) strictEqual(CRON_PATTERN.test(bad), false, bad);
});

Deno.test("a schedule is an interval or a cron expression", () => {
  for (const good of [...INTERVALS, ...CRONS]) strictEqual(SCHEDULE_PATTERN.test(good), true, good);
  for (const bad of NEITHER) strictEqual(SCHEDULE_PATTERN.test(bad), false, bad);
});

function scheduled(schedule: string): ReturnType<typeof defineWorkflow> {
  return defineWorkflow({
    name: "scheduled",
    triggers: [{ on: "schedule", schedule }],
    capabilities: [],
    async run() {},
  });
}

Deno.test("a workflow may be scheduled by an interval or by cron", () => {
  for (const schedule of ["10m", "*/15 * * * *", "0 3 * * MON-FRI"]) {
    deepStrictEqual(toManifest(scheduled(schedule)).triggers, [{ on: "schedule", schedule }]);
  }
});

Deno.test("a bad schedule is refused with a message for the form it looks like", () => {
  throws(
    () => toManifest(scheduled("* * * *")),
    (error: Error) =>
      error.message.includes(
        'triggers[0].schedule: must be a cron expression of 5 space-separated fields (minute hour day-of-month month day-of-week) such as "0 3 * * MON-FRI", got "* * * *"',
      ),
  );
  throws(
    () => toManifest(scheduled("0m")),
    (error: Error) =>
      error.message.includes(
        'triggers[0].schedule: must be a positive interval such as "5m" or "1h30m", got "0m"',
      ),
  );
});

Deno.test("types a schedule trigger as needing a schedule, and others as refusing one", () => {
  const triggers: Trigger[] = [{ on: "schedule", schedule: "5m" }, {
    on: "schedule",
    schedule: "*/15 * * * *",
  }, {
    on: "manual",
    namespaces: ["a"],
  }];
  // @ts-expect-error: a schedule trigger needs its schedule
  const missing: Trigger = { on: "schedule" };
  // @ts-expect-error: only schedule triggers take a schedule
  const extra: Trigger = { on: "manual", schedule: "5m" };
  strictEqual(triggers.length + [missing, extra].length, 5);
});

const KINDS = [
  "v1/Pod",
  "v1/Node",
  "apps/v1/Deployment",
  "batch/v1/Job",
  "autoscaling/v2/HorizontalPodAutoscaler",
  "networking.k8s.io/v1/Ingress",
  "storage.k8s.io/v1beta1/CSIStorageCapacity",
  "example.com/v1alpha1/Widget",
  "cert-manager.io/v1/Certificate",
  "a/v10/B",
  `v1/K${"a".repeat(62)}`,
];
const NOT_KINDS = [
  "",
  "deployments",
  "Deployment",
  "v1",
  "v1/",
  "/v1/Pod",
  "apps/Deployment",
  "apps/v1/deployment",
  "apps/v1/deployments",
  "apps/v1/Deployment/",
  "apps/v1/Deployment/web",
  "Apps/v1/Deployment",
  "apps_x/v1/Deployment",
  "-apps/v1/Deployment",
  "apps-/v1/Deployment",
  "apps..io/v1/Deployment",
  "apps/1/Deployment",
  "apps/V1/Deployment",
  "apps/v1beta/Deployment",
  "apps/v1gamma1/Deployment",
  "apps/v1/Deploy-ment",
  "apps/v1/Deploy ment",
  " v1/Pod",
  "v1/Pod ",
  "v1/Pod\n",
  "apps/v1/*",
  `v1/K${"a".repeat(63)}`,
];

Deno.test("a kind is [group/]version/Kind", () => {
  for (const good of KINDS) strictEqual(KIND_PATTERN.test(good), true, good);
  for (const bad of NOT_KINDS) strictEqual(KIND_PATTERN.test(bad), false, JSON.stringify(bad));
});

Deno.test("types a change trigger as needing a resource, and others as refusing one", () => {
  const changes: ChangeTrigger[] = [
    { on: "k8s.create", resource: "apps/v1/Deployment" },
    { on: "k8s.update", resource: "batch/v1/Job", namespaces: ["shop"] },
    { on: "k8s.delete", resource: "example.com/v1/Widget" },
  ];
  // @ts-expect-error: a change trigger needs its resource
  const missing: Trigger = { on: "k8s.update" };
  // @ts-expect-error: only change triggers take a resource
  const extra: Trigger = { on: "pod.crashLoop", resource: "v1/Pod" };
  // @ts-expect-error: a kind is apiVersion/Kind
  const notAKind: KindKey = "deployments";
  strictEqual(changes.length + [missing, extra, notAKind].length, 6);
  deepStrictEqual(
    toManifest(defineWorkflow({
      name: "changes",
      triggers: changes,
      capabilities: ["k8s.read"],
      reads: ["apps/v1/Deployment", "batch/v1/Job", "example.com/v1/Widget"],
      async run() {},
    })).triggers,
    changes,
  );
});
