/**
 * Compile-time assertions for tests: `assertType<IsExact<A, B>>(true)` fails
 * `deno check` (not the run) when `A` and `B` differ.
 *
 * @module
 */

/** `true` when `A` and `B` are the same type, else `false`. */
export type IsExact<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2)
  ? true
  : false;

/** Compiles only when `T` is `true`. */
export function assertType<T extends true>(_value: T): void {}
