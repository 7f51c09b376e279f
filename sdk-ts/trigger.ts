/**
 * Triggers: which events start a workflow.
 *
 * @module
 */

import type { EventKind } from "./event.ts";

/**
 * Filters every trigger may set. All of them must match for the trigger to
 * fire.
 *
 * @example
 * ```ts
 * import type { TriggerFilters } from "./trigger.ts";
 *
 * const filters: TriggerFilters = { namespaces: ["shop"], labelSelector: "app=web" };
 * ```
 */
export interface TriggerFilters {
  /** Only events whose subject is in one of these namespaces. */
  readonly namespaces?: readonly string[];
  /** A Kubernetes label selector on the subject, e.g. `"app=web,tier!=db"`. */
  readonly labelSelector?: string;
  /** A glob on the subject's name, e.g. `"web-*"`. */
  readonly namePattern?: string;
}

/**
 * A trigger on any event kind except `schedule`.
 *
 * @typeParam K The event kind.
 *
 * @example
 * ```ts
 * import type { EventTrigger } from "./trigger.ts";
 *
 * const trigger: EventTrigger = { on: "pod.crashLoop", namespaces: ["shop"] };
 * ```
 */
export interface EventTrigger<
  K extends Exclude<EventKind, "schedule" | ChangeKind> = Exclude<
    EventKind,
    "schedule" | ChangeKind
  >,
> extends TriggerFilters {
  /** The event kind that starts the workflow. */
  readonly on: K;
  /** Only `schedule` triggers take a schedule. */
  readonly schedule?: never;
  /** Only change triggers (`k8s.create`, `k8s.update`, `k8s.delete`) take a resource. */
  readonly resource?: never;
}

/**
 * The event kinds of changes to objects of any kind.
 *
 * @example
 * ```ts
 * import type { ChangeKind } from "./trigger.ts";
 *
 * const kind: ChangeKind = "k8s.update";
 * ```
 */
export type ChangeKind = "k8s.create" | "k8s.update" | "k8s.delete";

/**
 * A kind as `apiVersion/Kind`: `"apps/v1/Deployment"`, `"v1/Node"`,
 * `"example.com/v1/Widget"`.
 *
 * @example
 * ```ts
 * import type { KindKey } from "./trigger.ts";
 *
 * const reads: KindKey[] = ["apps/v1/Deployment", "v1/Node"];
 * ```
 */
export type KindKey = `${string}/${string}`;

/**
 * A trigger on changes of objects of one kind (any kind the API server
 * serves, CRDs included). The event carries the object (`event.object`),
 * for updates the previous state (`event.oldObject`) and the changed paths
 * (`event.changes`, such as `"spec.replicas"`). An update fires once per
 * real change: writes that change only `metadata.resourceVersion` or
 * `metadata.managedFields` do not fire. The kind must be in the workflow's
 * `reads` (and granted), since the event hands the workflow the object.
 *
 * @example
 * ```ts
 * import type { ChangeTrigger } from "./trigger.ts";
 *
 * const trigger: ChangeTrigger = { on: "k8s.update", resource: "apps/v1/Deployment" };
 * ```
 */
export interface ChangeTrigger extends TriggerFilters {
  /** Which changes: creation, update or deletion. */
  readonly on: ChangeKind;
  /** The kind as `apiVersion/Kind`, e.g. `"apps/v1/Deployment"`. */
  readonly resource: KindKey;
  /** Only `schedule` triggers take a schedule. */
  readonly schedule?: never;
}

/**
 * A trigger that fires on a schedule: an interval, or a cron expression.
 *
 * - An interval is one or more number + unit groups (`ms`, `s`, `m`, `h`,
 *   `d`), summed: `"15m"`, `"1h30m"`. The first firing comes within one
 *   interval of the workflow being loaded, at an offset of its own (so that
 *   many workflows on the same interval do not all fire at once), then every
 *   interval.
 * - A cron expression has five space-separated fields (minute, hour, day of
 *   month, month, day of week) and is evaluated in UTC:
 *   `"0,15,30,45 * * * *"` fires at :00, :15, :30 and :45 of every hour
 *   (each workflow up to 3 s after the grid point). Lists, ranges, steps
 *   (`"0-59/15 * * * *"`, the same as `*` with step 15) and month or
 *   weekday names work, e.g. `"0 3 * * MON-FRI"`. There is no seconds field.
 *
 * A firing that comes while the previous scheduled run of the same workflow
 * is still queued or running is skipped: scheduled runs of one workflow never
 * overlap.
 *
 * @example
 * ```ts
 * import type { ScheduleTrigger } from "./trigger.ts";
 *
 * const every15Minutes: ScheduleTrigger = { on: "schedule", schedule: "15m" };
 * const onTheQuarterHour: ScheduleTrigger = { on: "schedule", schedule: "0,15,30,45 * * * *" };
 * const weekdaysAt3: ScheduleTrigger = { on: "schedule", schedule: "0 3 * * MON-FRI" };
 * ```
 */
export interface ScheduleTrigger extends TriggerFilters {
  /** Always `"schedule"`. */
  readonly on: "schedule";
  /**
   * An interval such as `"1h30m"` (units `ms`, `s`, `m`, `h`, `d`), or a
   * 5-field cron expression in UTC such as `"0 3 * * MON-FRI"`.
   */
  readonly schedule: string;
}

/**
 * One entry of a workflow's `triggers`.
 *
 * @example
 * ```ts
 * import type { Trigger } from "./trigger.ts";
 *
 * const triggers: Trigger[] = [
 *   { on: "pod.crashLoop", namespaces: ["shop"] },
 *   { on: "manual" },
 *   { on: "schedule", schedule: "5m" },
 * ];
 * ```
 */
export type Trigger = EventTrigger | ChangeTrigger | ScheduleTrigger;

/**
 * The syntax of a kind in `reads` and in a change trigger's `resource`.
 *
 * @example
 * ```ts
 * import { KIND_PATTERN } from "./trigger.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(KIND_PATTERN.test("apps/v1/Deployment"));
 * ok(KIND_PATTERN.test("v1/Node"));
 * ok(!KIND_PATTERN.test("deployments"));
 * ```
 */
export const KIND_PATTERN: RegExp =
  /^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?\/[A-Z][A-Za-z0-9]{0,62}$/;

/**
 * The syntax of a `schedule` interval: one or more number + unit groups.
 *
 * @example
 * ```ts
 * import { INTERVAL_PATTERN } from "./trigger.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(INTERVAL_PATTERN.test("1h30m"));
 * ok(!INTERVAL_PATTERN.test("0 3 * * *"));
 * ```
 */
export const INTERVAL_PATTERN: RegExp = /^(?:[0-9]+(?:ms|s|m|h|d))+$/;

/**
 * The shape of a `schedule` cron expression: five space-separated fields of
 * cron characters (digits, letters for names and the `L`, `W` extensions, and `* , - / #`). This is a
 * loose check; the host parses the expression and refuses a bad one (such as
 * minute `61`) with a message naming it.
 *
 * @example
 * ```ts
 * import { CRON_PATTERN } from "./trigger.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(CRON_PATTERN.test("0-59/15 * * * *"));
 * ok(CRON_PATTERN.test("0 3 * * MON-FRI"));
 * ok(!CRON_PATTERN.test("* * * *"));
 * ```
 */
export const CRON_PATTERN: RegExp = /^[0-9A-Za-z*,\/#-]+(?:[ \t]+[0-9A-Za-z*,\/#-]+){4}$/;

/**
 * The syntax of a `schedule`: an interval (`INTERVAL_PATTERN`) or a cron
 * expression (`CRON_PATTERN`).
 *
 * @example
 * ```ts
 * import { SCHEDULE_PATTERN } from "./trigger.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(SCHEDULE_PATTERN.test("1h30m"));
 * ok(SCHEDULE_PATTERN.test("0 3 * * MON-FRI"));
 * ok(!SCHEDULE_PATTERN.test("every 5 minutes"));
 * ```
 */
export const SCHEDULE_PATTERN: RegExp = new RegExp(
  `${INTERVAL_PATTERN.source}|${CRON_PATTERN.source}`,
);
