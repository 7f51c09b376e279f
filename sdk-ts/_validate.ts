/**
 * Validation of a workflow definition into the manifest `initialize` answers
 * with. Every problem is collected (not just the first), each naming the path
 * it concerns, so one run of `wfhost check` shows all of them. The host
 * validates the manifest again: this is for clearer messages, not security.
 *
 * @module
 */

import { CAPABILITIES, type Capability, isCapability } from "./capability.ts";
import { EVENT_KINDS, isEventKind } from "./event.ts";
import { PARAM_TYPES, type ParamSpec, type ParamSpecs } from "./params.ts";
import type { Manifest } from "./protocol.ts";
import {
  CRON_PATTERN,
  INTERVAL_PATTERN,
  KIND_PATTERN,
  type KindKey,
  type Trigger,
} from "./trigger.ts";
import { didYouMean } from "./_suggest.ts";

const DEFINITION_KEYS = [
  "name",
  "description",
  "triggers",
  "capabilities",
  "reads",
  "params",
  "run",
];
const TRIGGER_KEYS = ["on", "namespaces", "labelSelector", "namePattern", "schedule", "resource"];
const CHANGE_KINDS: readonly string[] = ["k8s.create", "k8s.update", "k8s.delete"];
const PARAM_KEYS = ["type", "default", "description", "enum", "minimum", "maximum"];
const NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const PARAM_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The outcome of validating a definition. */
export type ValidationResult =
  | { readonly ok: true; readonly manifest: Manifest }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Describes a value for an error message: `undefined`, `a function`, `"text"`, `42`, `an array`. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  if (typeof value === "object") return "an object";
  return String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkKeys(
  value: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
  problems: string[],
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      problems.push(
        `${path === "" ? "Unknown" : `${path}: unknown`} key "${key}"${didYouMean(key, allowed)}`,
      );
    }
  }
}

function scheduleMilliseconds(schedule: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  for (const match of schedule.matchAll(/([0-9]+)(ms|s|m|h|d)/g)) {
    total += Number(match[1]) * (units[match[2] ?? "ms"] ?? 1);
  }
  return total;
}

/**
 * What is wrong with a trigger's `schedule`, or `undefined`. A string with
 * whitespace is taken as a cron expression, and only its shape is checked
 * (the host parses it); anything else must be a positive interval.
 */
function scheduleProblem(schedule: unknown): string | undefined {
  if (typeof schedule === "string" && /\s/.test(schedule)) {
    if (CRON_PATTERN.test(schedule)) return undefined;
    return `must be a cron expression of 5 space-separated fields (minute hour day-of-month month day-of-week) such as "0 3 * * MON-FRI", got ${
      describe(schedule)
    }`;
  }
  if (
    typeof schedule === "string" && INTERVAL_PATTERN.test(schedule) &&
    scheduleMilliseconds(schedule) > 0
  ) {
    return undefined;
  }
  return `must be a positive interval such as "5m" or "1h30m", got ${describe(schedule)}`;
}

function validateTrigger(value: unknown, path: string, problems: string[]): Trigger | undefined {
  if (!isRecord(value)) {
    problems.push(`${path}: must be an object such as { on: "manual" }, got ${describe(value)}`);
    return undefined;
  }
  checkKeys(value, TRIGGER_KEYS, path, problems);
  const before = problems.length;
  const on = value["on"];
  if (!isEventKind(on)) {
    const hint = typeof on === "string" ? didYouMean(on, EVENT_KINDS) : "";
    problems.push(`${path}.on: ${describe(on)} is not an event kind${hint}`);
  }
  const namespaces = value["namespaces"];
  if (
    namespaces !== undefined &&
    !(Array.isArray(namespaces) &&
      namespaces.every((item) => typeof item === "string" && item !== ""))
  ) {
    problems.push(
      `${path}.namespaces: must be an array of non-empty strings, got ${describe(namespaces)}`,
    );
  }
  for (const key of ["labelSelector", "namePattern"]) {
    const field = value[key];
    if (field !== undefined && (typeof field !== "string" || field === "")) {
      problems.push(`${path}.${key}: must be a non-empty string, got ${describe(field)}`);
    }
  }
  const schedule = value["schedule"];
  if (on === "schedule") {
    const problem = scheduleProblem(schedule);
    if (problem !== undefined) problems.push(`${path}.schedule: ${problem}`);
  } else if (schedule !== undefined && isEventKind(on)) {
    problems.push(`${path}.schedule: only allowed when on is "schedule"`);
  }
  const resource = value["resource"];
  if (typeof on === "string" && CHANGE_KINDS.includes(on)) {
    if (typeof resource !== "string" || !KIND_PATTERN.test(resource)) {
      problems.push(
        `${path}.resource: ${on} needs the kind as apiVersion/Kind, such as "apps/v1/Deployment", got ${
          describe(resource)
        }`,
      );
    }
  } else if (resource !== undefined && isEventKind(on)) {
    problems.push(`${path}.resource: only allowed when on is k8s.create, k8s.update or k8s.delete`);
  }
  if (problems.length > before) return undefined;
  const trigger: Record<string, unknown> = { on };
  for (const key of TRIGGER_KEYS.slice(1)) {
    const field = value[key];
    if (field !== undefined) trigger[key] = Array.isArray(field) ? [...field] : field;
  }
  return trigger as unknown as Trigger;
}

function validateTriggers(value: unknown, problems: string[]): Trigger[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(
      `triggers: must be a non-empty array such as [{ on: "manual" }], got ${describe(value)}`,
    );
    return [];
  }
  const triggers: Trigger[] = [];
  value.forEach((item, index) => {
    const trigger = validateTrigger(item, `triggers[${index}]`, problems);
    if (trigger !== undefined) triggers.push(trigger);
  });
  return triggers;
}

function validateCapabilities(value: unknown, problems: string[]): Capability[] {
  if (!Array.isArray(value)) {
    problems.push(`capabilities: must be an array such as ["k8s.read"], got ${describe(value)}`);
    return [];
  }
  const seen: Capability[] = [];
  value.forEach((item, index) => {
    if (!isCapability(item)) {
      const hint = typeof item === "string" ? didYouMean(item, CAPABILITIES) : "";
      problems.push(`capabilities[${index}]: ${describe(item)} is not a capability${hint}`);
    } else if (seen.includes(item)) {
      problems.push(`capabilities[${index}]: "${item}" is listed twice`);
    } else {
      seen.push(item);
    }
  });
  return seen;
}

function validateReads(value: unknown, problems: string[]): KindKey[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push(`reads: must be an array such as ["apps/v1/Deployment"], got ${describe(value)}`);
    return [];
  }
  const reads: KindKey[] = [];
  value.forEach((item, index) => {
    if (typeof item !== "string" || !KIND_PATTERN.test(item)) {
      problems.push(
        `reads[${index}]: ${
          describe(item)
        } is not a kind: write apiVersion/Kind, such as "apps/v1/Deployment" or "v1/Node"`,
      );
    } else if (item === "v1/Secret") {
      problems.push(`reads[${index}]: Secrets are never readable by workflows`);
    } else if (reads.includes(item as KindKey)) {
      problems.push(`reads[${index}]: "${item}" is listed twice`);
    } else {
      reads.push(item as KindKey);
    }
  });
  return reads;
}

function valueProblem(type: string, value: unknown): string | undefined {
  switch (type) {
    case "string":
      return typeof value === "string" ? undefined : "must be a string";
    case "boolean":
      return typeof value === "boolean" ? undefined : "must be a boolean";
    case "integer":
      return Number.isSafeInteger(value) ? undefined : "must be an integer";
    default:
      return typeof value === "number" && Number.isFinite(value)
        ? undefined
        : "must be a finite number";
  }
}

function validateParam(value: unknown, path: string, problems: string[]): ParamSpec | undefined {
  if (!isRecord(value)) {
    problems.push(`${path}: must be an object such as { type: "string" }, got ${describe(value)}`);
    return undefined;
  }
  checkKeys(value, PARAM_KEYS, path, problems);
  const before = problems.length;
  const type = value["type"];
  if (typeof type !== "string" || !(PARAM_TYPES as readonly string[]).includes(type)) {
    const hint = typeof type === "string" ? didYouMean(type, PARAM_TYPES) : "";
    problems.push(`${path}.type: ${describe(type)} is not one of ${PARAM_TYPES.join(", ")}${hint}`);
    return undefined;
  }
  const numeric = type === "number" || type === "integer";
  const description = value["description"];
  if (description !== undefined && typeof description !== "string") {
    problems.push(`${path}.description: must be a string, got ${describe(description)}`);
  }
  for (const key of ["minimum", "maximum"]) {
    const bound = value[key];
    if (bound === undefined) continue;
    if (!numeric) problems.push(`${path}.${key}: only allowed for number and integer params`);
    else if (typeof bound !== "number" || !Number.isFinite(bound)) {
      problems.push(`${path}.${key}: must be a finite number, got ${describe(bound)}`);
    }
  }
  const minimum = typeof value["minimum"] === "number" ? value["minimum"] : undefined;
  const maximum = typeof value["maximum"] === "number" ? value["maximum"] : undefined;
  if (minimum !== undefined && maximum !== undefined && minimum > maximum) {
    problems.push(`${path}: minimum ${minimum} is greater than maximum ${maximum}`);
  }
  const inRange = (candidate: unknown, where: string): void => {
    if (typeof candidate !== "number") return;
    if (minimum !== undefined && candidate < minimum) {
      problems.push(`${where}: ${candidate} is below the minimum ${minimum}`);
    }
    if (maximum !== undefined && candidate > maximum) {
      problems.push(`${where}: ${candidate} is above the maximum ${maximum}`);
    }
  };
  const options = value["enum"];
  if (options !== undefined) {
    if (type === "boolean") problems.push(`${path}.enum: not allowed for boolean params`);
    else if (!Array.isArray(options) || options.length === 0) {
      problems.push(`${path}.enum: must be a non-empty array, got ${describe(options)}`);
    } else {
      options.forEach((option, index) => {
        const problem = valueProblem(type, option);
        if (problem !== undefined) {
          problems.push(`${path}.enum[${index}]: ${problem}, got ${describe(option)}`);
        } else inRange(option, `${path}.enum[${index}]`);
      });
    }
  }
  const fallback = value["default"];
  if (fallback !== undefined) {
    const problem = valueProblem(type, fallback);
    if (problem !== undefined) {
      problems.push(`${path}.default: ${problem}, got ${describe(fallback)}`);
    } else {
      inRange(fallback, `${path}.default`);
      if (Array.isArray(options) && !options.includes(fallback)) {
        problems.push(`${path}.default: ${describe(fallback)} is not one of the enum values`);
      }
    }
  }
  if (problems.length > before) return undefined;
  const spec: Record<string, unknown> = { type };
  for (const key of PARAM_KEYS.slice(1)) {
    const field = value[key];
    if (field !== undefined) spec[key] = Array.isArray(field) ? [...field] : field;
  }
  return spec as unknown as ParamSpec;
}

function validateParams(value: unknown, problems: string[]): ParamSpecs {
  if (value === undefined) return {};
  if (!isRecord(value)) {
    problems.push(`params: must be an object mapping names to specs, got ${describe(value)}`);
    return {};
  }
  const params: Record<string, ParamSpec> = {};
  for (const [name, specValue] of Object.entries(value)) {
    const path = `params.${name}`;
    if (!PARAM_NAME_PATTERN.test(name)) {
      problems.push(`${path}: a param name must be an identifier (letters, digits, "_")`);
      continue;
    }
    const spec = validateParam(specValue, path, problems);
    if (spec !== undefined) params[name] = spec;
  }
  return params;
}

/**
 * Validates the fields of a workflow definition and builds its manifest.
 *
 * @param definition The object given to `defineWorkflow`.
 * @returns The manifest, or every problem found.
 */
export function validateDefinition(definition: Record<string, unknown>): ValidationResult {
  const problems: string[] = [];
  checkKeys(definition, DEFINITION_KEYS, "", problems);
  const name = definition["name"];
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    problems.push(
      `name: must be 1-63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit, got ${
        describe(name)
      }`,
    );
  }
  const description = definition["description"];
  if (description !== undefined && typeof description !== "string") {
    problems.push(`description: must be a string, got ${describe(description)}`);
  }
  const triggers = validateTriggers(definition["triggers"], problems);
  const capabilities = validateCapabilities(definition["capabilities"], problems);
  const reads = validateReads(definition["reads"], problems);
  const params = validateParams(definition["params"], problems);
  if (typeof definition["run"] !== "function") {
    problems.push(
      `run: must be a function (ctx, event) => Promise<void>, got ${describe(definition["run"])}`,
    );
  }
  if (problems.length > 0) return { ok: false, problems };
  const base = { name: name as string, triggers, capabilities, params };
  const described = typeof description === "string" ? { ...base, description } : base;
  const manifest: Manifest = reads.length > 0 ? { ...described, reads } : described;
  return { ok: true, manifest };
}
