// What every load shares: the connections per side, the JSON headers, and the codes a lookup-hit run needs.
import { size } from "./mode.mjs";

export const CONNECTIONS = size("BENCH_CONNECTIONS", 10, 2);
export const jsonHeaders = { "content-type": "application/json" };

/**
 * Registration QRs with fallback codes, 50 at a time, from `path` (the service's create, or the
 * reference's); returns `n` codes.
 */
export async function createCodes(instance, token, n, path = "/rp/versioned/client/qr/create") {
  const codes = [];
  while (codes.length < n) {
    const got = await Promise.all(
      Array.from({ length: Math.min(50, n - codes.length) }, async () => {
        const res = await fetch(`${instance.url}${path}`, {
          method: "POST",
          headers: { ...jsonHeaders, authorization: `Bearer ${token}` },
          body: JSON.stringify({ includeQRFallbackCode: true }),
        });
        const json = await res.json();
        if (!res.ok) throw new Error(`create answered ${res.status} ${JSON.stringify(json)}`);
        return json.qrFallbackActivationCode;
      }),
    );
    codes.push(...got);
  }
  return codes;
}
