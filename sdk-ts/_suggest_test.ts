import { strictEqual } from "node:assert/strict";
import { closest, didYouMean, editDistance } from "./_suggest.ts";

Deno.test("counts insertions, deletions and substitutions", () => {
  strictEqual(editDistance("", "abc"), 3);
  strictEqual(editDistance("kitten", "sitting"), 3);
  strictEqual(editDistance("same", "same"), 0);
});

Deno.test("prefers a case-insensitive match, then the nearest close enough", () => {
  strictEqual(closest("POD.CRASHLOOP", ["pod.crashLoop", "pod.create"]), "pod.crashLoop");
  strictEqual(closest("k8s.raed", ["k8s.read", "findings.report"]), "k8s.read");
  strictEqual(closest("something-else", ["k8s.read"]), undefined);
  strictEqual(didYouMean("triger", ["trigger"]), ' (did you mean "trigger"?)');
  strictEqual(didYouMean("zzz", ["trigger"]), "");
});
