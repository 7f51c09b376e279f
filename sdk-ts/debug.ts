/**
 * The debug action types at their old path, so that imports of
 * `@wfhost/sdk/debug.ts` keep working. They live in `debug/`, one file per
 * action; `@wfhost/sdk` exports them all.
 *
 * @module
 */

export * from "./debug/mod.ts";
