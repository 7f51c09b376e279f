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
  K extends Exclude<EventKind, "schedule"> = Exclude<EventKind, "schedule">,
> extends TriggerFilters {
  /** The event kind that starts the workflow. */
  readonly on: K;
  /** Only `schedule` triggers take a schedule. */
  readonly schedule?: never;
}

/**
 * A trigger that fires on an interval.
 *
 * @example
 * ```ts
 * import type { ScheduleTrigger } from "./trigger.ts";
 *
 * const trigger: ScheduleTrigger = { on: "schedule", schedule: "15m" };
 * ```
 */
export interface ScheduleTrigger extends TriggerFilters {
  /** Always `"schedule"`. */
  readonly on: "schedule";
  /** An interval: one or more number + unit groups (`ms`, `s`, `m`, `h`, `d`), e.g. `"1h30m"`. */
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
export type Trigger = EventTrigger | ScheduleTrigger;

/**
 * The syntax of a `schedule` interval.
 *
 * @example
 * ```ts
 * import { SCHEDULE_PATTERN } from "./trigger.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(SCHEDULE_PATTERN.test("1h30m"));
 * ok(!SCHEDULE_PATTERN.test("every 5 minutes"));
 * ```
 */
export const SCHEDULE_PATTERN: RegExp = /^(?:[0-9]+(?:ms|s|m|h|d))+$/;
