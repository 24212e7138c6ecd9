// The service as deployed (src/index.ts), plus one bench-only route that fills KV with filler
// pending entries from inside workerd: `wrangler kv bulk put` writes 100k local entries too slowly.

import { pendingKey } from "../common/kv-keys.js";
import worker from "../src/index";

export { ClientLedger, CodeClaims, GuessBudget } from "../src/index";

export default {
  ...worker,
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname !== "/__bench/seed-pending") return worker.fetch(request, env, ctx);
    const count = Number(url.searchParams.get("count") ?? "1000");
    const value = crypto.getRandomValues(new Uint8Array(300));
    const puts: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const id = crypto.getRandomValues(new Uint8Array(32));
      const key = pendingKey(btoa(String.fromCharCode(...id)).replace(/[+/=]/g, "x"));
      puts.push(env.QR_KV.put(key, value, { expirationTtl: 3600 }));
    }
    await Promise.all(puts);
    return new Response(JSON.stringify({ seeded: count }));
  },
} satisfies ExportedHandler<Env>;
