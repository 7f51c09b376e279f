import { strictEqual } from "node:assert/strict";
import { isArtifactRef, SEVERITIES } from "./finding.ts";

Deno.test("recognises artifact handles by their four typed fields", () => {
  strictEqual(
    isArtifactRef({ artifactId: "a", name: "n", mediaType: "image/svg+xml", size: 1 }),
    true,
  );
  strictEqual(
    isArtifactRef({ artifactId: "a", name: "n", mediaType: "image/svg+xml", size: "1" }),
    false,
  );
  strictEqual(isArtifactRef({ artifactId: "a" }), false);
  strictEqual(isArtifactRef(null), false);
  strictEqual(isArtifactRef("art-1"), false);
});

Deno.test("orders severities from least to most severe", () => {
  strictEqual(SEVERITIES.join(","), "info,low,medium,high,critical");
});
