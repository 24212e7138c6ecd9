// bench/one-process.mjs: the service's lookup and the reference's, side by side in ONE Worker (one
// isolate, one workerd process), each over its own real local bindings. A request to /run makes
// `n` lookups one after the other inside the Worker: no HTTP client, no concurrency, no second
// process, so what differs between the sides is their own work (and the simulators' for them).
import consumer from "../../audit-consumer/src/index";
import { configOf } from "../../src/config";
import { PendingCodes } from "../../src/fallback/pending-codes";
import worker from "../../src/index";
import reference from "../baseline/index";

export { ClientLedger, CodeClaims, GuessBudget } from "../../src/index";
export { Claims, Ledger } from "../baseline/index";

type Side = "service" | "reference";
type OneProcessEnv = Env & {
  REFERENCE_KV: KVNamespace;
  REFERENCE_DB: D1Database;
  REFERENCE_AUDIT_QUEUE: Queue;
  CLAIMS: DurableObjectNamespace;
  LEDGER: DurableObjectNamespace;
};

/** The reference's bindings under the names it expects. */
const referenceEnv = (env: OneProcessEnv) =>
  ({ ...env, QR_KV: env.REFERENCE_KV, AUDIT_DB: env.REFERENCE_DB, AUDIT_QUEUE: env.REFERENCE_AUDIT_QUEUE }) as never;

const HEADERS = { "content-type": "application/json", "cf-connecting-ip": "203.0.113.7", "user-agent": "one-process" };
const post = (url: string, body: string, extra: Record<string, string> = {}) =>
  new Request(url, { method: "POST", headers: { ...HEADERS, ...extra, "content-length": String(body.length) }, body });
const codes: Record<Side, string[]> = { service: [], reference: [] };

/** Pending codes for the next run, each side through its own store (not measured). */
async function prepare(side: Side, n: number, env: OneProcessEnv, ctx: ExecutionContext): Promise<void> {
  codes[side] = [];
  if (side === "service") {
    const store = await PendingCodes.open(env.QR_KV, env.CODE_CLAIMS, configOf(env).claimSharding, env.SERVER_SECRET);
    for (let i = 0; i < n; i++) {
      const reserved = await store.reserve({ length: 6, alphabet: env.CODE_ALPHABET }, Date.now() + 600_000);
      if (!reserved) throw new Error("no code reserved");
      await store.write(reserved, "x".repeat(300), "BenchApp", 600);
      codes.service.push(reserved.activationCode);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const res = await reference.fetch(
      post("http://one-process/create-calls", "{}", { authorization: "Bearer one-process" }),
      referenceEnv(env),
      ctx,
    );
    codes.reference.push(((await res.json()) as { activationCode: string }).activationCode);
  }
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const side = url.searchParams.get("side") as Side;
    const n = Number(url.searchParams.get("n") ?? "200");
    if (side !== "service" && side !== "reference") return new Response("side?", { status: 400 });
    if (url.pathname === "/prepare") {
      await prepare(side, n, env, ctx);
      return new Response("prepared");
    }
    let hits = 0;
    for (const activationCode of codes[side].splice(0, n)) {
      const body = JSON.stringify({ activationCode });
      const res =
        side === "service"
          ? await worker.fetch(post("http://one-process/rp/versioned/device/pendingqr", body), env, ctx)
          : await reference.fetch(post("http://one-process/lookup-hit-calls", body), referenceEnv(env), ctx);
      await res.arrayBuffer();
      if (res.status === 200) hits++;
    }
    return Response.json({ hits });
  },
  async queue(batch, env) {
    if (batch.queue === "qr-fallback-audit") return consumer.queue(batch, env as never);
    if (batch.queue === "one-process-reference-audit") return reference.queue(batch as never, referenceEnv(env));
    return worker.queue(batch, env);
  },
} satisfies ExportedHandler<OneProcessEnv>;
