// deno-lint-ignore-file no-console -- the runtime test checks that console output becomes log notifications
// A workflow for runtime_test.ts: its behaviour is chosen by the event's
// `requestedBy` field (a manual event), so one child serves every scenario.
import { defineWorkflow, podRefOf } from "@wfhost/sdk";

export default defineWorkflow({
  name: "echo",
  description: "Test double for the runtime tests",
  triggers: [{ on: "manual" }],
  capabilities: ["k8s.read", "findings.report"],
  params: { tailLines: { type: "integer", default: 10 } },
  async run(ctx, event) {
    const mode = event.kind === "manual" ? event.requestedBy : undefined;
    switch (mode) {
      case "report": {
        const pod = podRefOf(event);
        const logs = pod === undefined
          ? ""
          : await ctx.k8s.podLogs(pod, { tailLines: ctx.params.tailLines });
        const { id } = await ctx.report({
          title: `logs of ${pod?.name}`,
          body: logs,
          severity: "low",
        });
        console.log("reported", id);
        return;
      }
      case "throw":
        throw new TypeError("boom");
      case "wait-for-cancel":
        await new Promise<void>((_, reject) => {
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
        });
        return;
      case "console":
        console.log("to %s", "stdout", { a: 1 });
        console.error("an error");
        console.table([{ a: 1 }]);
        await Deno.stdout.write(new TextEncoder().encode("raw write\n"));
        return;
      case "escape": {
        const attempts: [string, () => unknown][] = [
          ["stdin", () => Deno.stdin.read(new Uint8Array(8))],
          ["exit", () => Deno.exit(3)],
          ["close", () => globalThis.close()],
          ["prompt", () => prompt("?")],
          ["localStorage", () => globalThis.localStorage.setItem("k", "v")],
          [
            "worker",
            () => new Worker(import.meta.resolve("./echo_workflow.ts"), { type: "module" }),
          ],
        ];
        for (const [name, attempt] of attempts) {
          try {
            await attempt();
            ctx.log.error(`${name}: allowed`);
          } catch (error) {
            ctx.log.info(`${name}: refused: ${error instanceof Error ? error.message : error}`);
          }
        }
        return;
      }
      case "undeclared":
        await ctx.debug.processList({ namespace: "shop", name: "web-1" });
        return;
      case "stray":
        void Promise.reject(new Error("nobody awaits me"));
        setTimeout(() => {
          throw new Error("thrown in a timer");
        }, 0);
        await new Promise((resolve) => setTimeout(resolve, 20));
        return;
      default:
        ctx.log.info("params", ctx.params);
    }
  },
});
