// The reference for the edge latency model: only the binding calls an answer must wait for, under
// the same latency model. A lookup hit: the client's rate limit, the KV read, the claim's single
// redemption (a Durable Object). A miss: the rate limit, the KV read and the guess budget's charge
// in the code's object (SPEC §9: strongly consistent, so a Durable Object call). A create: the token's rate
// limit, the claim (a Durable Object) and the KV write. No router, no validation, no crypto, no audit.
import { DurableObject } from "cloudflare:workers";
import { withEdgeLatency } from "./latency";

interface ReferenceEnv {
  QR_KV: KVNamespace;
  LOOKUP_LIMITER: RateLimit;
  CREATE_LIMITER: RateLimit;
  CLAIMS: DurableObjectNamespace<Claims>;
}

export class Claims extends DurableObject {
  async claim(id: string): Promise<boolean> {
    if (await this.ctx.storage.get(id)) return false;
    await this.ctx.storage.put(id, 1);
    return true;
  }
}

export default {
  async fetch(request, rawEnv) {
    const env = withEdgeLatency(rawEnv);
    const { pathname } = new URL(request.url);
    const body = (await request.json()) as { code: string };
    const claims = () => env.CLAIMS.get(env.CLAIMS.idFromName(body.code.slice(0, 2)));
    if (pathname === "/create") {
      await env.CREATE_LIMITER.limit({ key: "token" });
      await claims().claim(body.code);
      await env.QR_KV.put(`ref:${body.code}`, "x".repeat(400), { expirationTtl: 180 });
      return Response.json({ ok: true });
    }
    await env.LOOKUP_LIMITER.limit({ key: request.headers.get("cf-connecting-ip") ?? "" });
    const value = await env.QR_KV.get(`ref:${body.code}`);
    if (pathname === "/hit" && value) await claims().claim(`redeemed:${body.code}`);
    if (!value) await claims().claim(`charged:${crypto.randomUUID()}`);
    return Response.json({ found: value !== null }, { status: value ? 200 : 400 });
  },
} satisfies ExportedHandler<ReferenceEnv>;
