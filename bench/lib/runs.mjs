// The measured runs, defined once for the bench (scenarios.mjs), the profiler (profile.mjs) and the
// ablation harness (ablate.mjs). Each `prepare*` does a run's setup (codes to look up, seeded
// entries) and returns the load run itself, so a caller can wait, settle or start a profiler in
// between. Every answer's status is checked (a run answered with errors is not a figure).
import { AMOUNT, createCodes, jsonHeaders, load } from "./load.mjs";

const MISS_BODY = '{"activationCode":"zzzzzz"}';
const lookupBodies = (codes) => codes.map((c) => JSON.stringify({ activationCode: c }));
/** Both sides of a create get the same request: the reference hashes the token too (SPEC §7). */
const createHeaders = (token) => ({ ...jsonHeaders, authorization: `Bearer ${token}` });

/** The service's runs with an API token (`qr:create`) of its own. */
export function serviceRuns(service, token) {
  return {
    hit: async (amount = AMOUNT) => {
      const bodies = lookupBodies(await createCodes(service, token, amount));
      return () => load(service, "/rp/versioned/device/pendingqr", { bodies, amount, status: 200 });
    },
    miss:
      async (amount = AMOUNT) =>
      () =>
        load(service, "/rp/versioned/device/pendingqr", { body: MISS_BODY, amount, status: 400 }),
    create:
      async (amount = AMOUNT) =>
      () =>
        load(service, "/rp/versioned/client/qr/create", {
          body: '{"includeQRFallbackCode":true}',
          headers: createHeaders(token),
          amount,
          status: 200,
        }),
  };
}

/** Fresh codes in the reference's KV with their claims, sealed unless `query` is `?calls-only`. */
async function seedReference(reference, amount, query) {
  const codes = Array.from({ length: amount }, (_, i) => `h${i}${Math.random().toString(36).slice(2, 8)}`);
  for (let i = 0; i < codes.length; i += 500) {
    const res = await fetch(`${reference.url}/seed${query}`, {
      method: "POST",
      headers: jsonHeaders,
      body: JSON.stringify(codes.slice(i, i + 500)),
    });
    if (!res.ok) throw new Error(`reference seeding answered ${res.status}`);
    await res.arrayBuffer();
  }
  return lookupBodies(codes);
}

/**
 * The reference's budgeted routes (bench/baseline); `query` "?calls-only" runs them with the binding
 * calls only (context). `bare` are the one-call routes of earlier versions (context).
 */
export function referenceRuns(reference, token, query = "") {
  return {
    hit: async (amount = AMOUNT) => {
      const bodies = await seedReference(reference, amount, query);
      return () => load(reference, `/lookup-hit-calls${query}`, { bodies, amount, status: 200 });
    },
    miss:
      async (amount = AMOUNT) =>
      () =>
        load(reference, `/lookup-miss-calls${query}`, { body: MISS_BODY, amount, status: 400 }),
    create:
      async (amount = AMOUNT) =>
      () =>
        load(reference, `/create-calls${query}`, { body: "{}", headers: createHeaders(token), amount, status: 200 }),
  };
}

/** The bare one-call routes (context only; they check no status). */
export function bareRuns(reference) {
  return {
    hit: async (amount = AMOUNT) => {
      const bodies = await seedReference(reference, amount, "?calls-only");
      return () => load(reference, "/lookup-hit", { bodies, amount });
    },
    miss:
      async (amount = AMOUNT) =>
      () =>
        load(reference, "/lookup-miss", { body: MISS_BODY, amount }),
    create:
      async (amount = AMOUNT) =>
      () =>
        load(reference, "/create", { body: "{}", amount }),
  };
}
