// A minimal guest runtime with no hardening: the host must defend itself without the real SDK's help.
// deno-lint-ignore-file no-explicit-any
const enc = new TextEncoder();
let nextId = 1;
const pending = new Map<number, (m: any) => void>();
function send(m: any) {
  Deno.stdout.writeSync(enc.encode(JSON.stringify({ jsonrpc: "2.0", ...m }) + "\n"));
}
export async function serve(wf: any) {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of Deno.stdin.readable) {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const m = JSON.parse(line);
      if (m.method === "initialize") {
        send({ id: m.id, result: { name: wf.name, triggers: wf.triggers ?? [], capabilities: wf.capabilities ?? [], params: wf.params ?? {} } });
      } else if (m.method === "run") {
        const inv = m.params.invocationId;
        const call = (method: string, params: any) =>
          new Promise((res) => {
            const id = nextId++;
            pending.set(id, res);
            send({ id, method, params: { invocationId: inv, ...params } });
          });
        const ctx = { params: m.params.params, report: (f: any) => call("findings.report", f), call, send };
        (async () => {
          try {
            await wf.run(ctx, m.params.event);
            send({ id: m.id, result: { ok: true } });
          } catch (e) {
            send({ id: m.id, error: { code: -32000, message: String(e), data: { name: "Error", message: String((e as Error).message) } } });
          }
        })();
      } else if (m.id !== undefined && !m.method) {
        pending.get(m.id)?.(m);
        pending.delete(m.id);
      }
    }
  }
}

export async function serveModule(load: () => Promise<any>) {
  const mod = await load();
  await serve(mod.default);
}
