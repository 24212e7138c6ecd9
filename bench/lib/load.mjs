// Load: one autocannon run against an instance, with that instance's CPU per request.
import autocannon from "autocannon";
import { cpuMs, quiesce } from "./cpu.mjs";

export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
export const AMOUNT = Number(process.env.BENCH_REQUESTS ?? 2000);
export const jsonHeaders = { "content-type": "application/json" };

/**
 * One run; `bodies` (optional) gives each request its own body, in order. Throughput is timed here,
 * start to last response: autocannon's own clock ends `amount` runs on a whole second. `status`: the
 * status every answer must have (a run answered with errors is not a throughput figure).
 */
export async function load(
  instance,
  path,
  {
    method = "POST",
    body,
    bodies,
    headers = jsonHeaders,
    amount = AMOUNT,
    connections = CONNECTIONS,
    status = null,
  } = {},
) {
  await quiesce();
  let i = 0;
  const cpuBefore = cpuMs(instance.pid);
  const genBefore = process.cpuUsage();
  const first = performance.now();
  let last = first;
  const result = await new Promise((resolve, reject) => {
    const run = autocannon(
      {
        url: instance.url + path,
        method,
        headers,
        body,
        amount,
        connections,
        requests: bodies ? [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }] : undefined,
      },
      (err, r) => (err ? reject(err) : resolve(r)),
    );
    run.on("response", () => {
      last = performance.now();
    });
  });
  const cpuAfter = cpuMs(instance.pid);
  const gen = process.cpuUsage(genBefore);
  const total = result.requests.total;
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]));
  if (status !== null && (statuses[status] ?? 0) !== total) {
    throw new Error(`${instance.label} ${path}: expected ${total} answers ${status}, got ${JSON.stringify(statuses)}`);
  }
  return {
    rps: (total * 1000) / (last - first),
    mean: result.latency.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    statuses,
    errors: result.errors,
    cpuPerRequestMs: cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / total,
    generatorCpuPerRequestMs: (gen.user + gen.system) / 1000 / total,
  };
}

export const best = (runs) => runs.reduce((a, b) => (b.rps > a.rps ? b : a));
export const fastest = (runs) => runs.reduce((a, b) => (b.mean < a.mean ? b : a));
export const ms = (v) => (v === null ? "n/a" : `${v.toFixed(2)} ms`);

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
