// A bare SDK for host tests: no guards at all, so a test guest can do to stdout what any hostile code could.
// deno-lint-ignore no-explicit-any
export function defineWorkflow(d: any): any {
  return d;
}
