// The measured sides, defined once for the bench (scenarios.mjs) and the profiler (profile.mjs). A side is
// `{ instance, label, prepare(count) }`: `prepare` does the setup (codes to look up) and returns
// `count` requests, each with the status its answer must have (a run answered with errors is not a
// figure). bench/lib/slices.mjs runs them, and waits until what the setup left behind (the creates'
// audit events) is done before it measures.
import { putToken, startReference, startService } from "./instances.mjs";
import { createCodes, jsonHeaders } from "./load.mjs";

export const LOOKUP = "/rp/versioned/device/pendingqr";
export const MISS_BODY = '{"activationCode":"zzzzzz"}';
/** Both sides of a create get the same request: the reference hashes the token too (SPEC §7). */
const createHeaders = (token) => ({ ...jsonHeaders, authorization: `Bearer ${token}` });
const lookups = (path, codes, status) =>
  codes.map((code) => ({ path, headers: jsonHeaders, body: JSON.stringify({ activationCode: code }), status }));
/** A side that needs no setup: the same request `count` times. */
export const repeatedSide = (instance, label, request) => ({
  instance,
  label,
  prepare: async (count) => Array.from({ length: count }, () => request),
});

/** The service's sides with an API token (`qr:create`) of its own. */
export function serviceSides(service, token) {
  return {
    hit: {
      instance: service,
      label: "service",
      prepare: async (count) => lookups(LOOKUP, await createCodes(service, token, count), 200),
    },
    miss: repeatedSide(service, "service", { path: LOOKUP, headers: jsonHeaders, body: MISS_BODY, status: 400 }),
    create: repeatedSide(service, "service", {
      path: "/rp/versioned/client/qr/create",
      headers: createHeaders(token),
      body: '{"includeQRFallbackCode":true}',
      status: 200,
    }),
  };
}

/**
 * The reference's budgeted routes (bench/baseline); `query` "?calls-only" runs them with the binding
 * calls only (context).
 */
export function referenceSides(reference, token, query = "") {
  const label = `reference${query}`;
  return {
    // Its codes come from its own create, as the service's do.
    hit: {
      instance: reference,
      label,
      prepare: async (count) =>
        lookups(`/lookup-hit-calls${query}`, await createCodes(reference, token, count, `/create-calls${query}`), 200),
    },
    miss: repeatedSide(reference, label, {
      path: `/lookup-miss-calls${query}`,
      headers: jsonHeaders,
      body: MISS_BODY,
      status: 400,
    }),
    create: repeatedSide(reference, label, {
      path: `/create-calls${query}`,
      headers: createHeaders(token),
      body: "{}",
      status: 200,
    }),
  };
}

/** The bare one-call routes of earlier versions (context only; they check no status). */
export function bareSides(reference, token) {
  const label = "bare one-call Worker";
  return {
    // The calls-only create stores its code under its own name, which is what the bare lookup reads.
    hit: {
      instance: reference,
      label,
      prepare: async (count) =>
        lookups("/lookup-hit", await createCodes(reference, token, count, "/create-calls?calls-only")),
    },
    miss: repeatedSide(reference, label, { path: "/lookup-miss", headers: jsonHeaders, body: MISS_BODY }),
    create: repeatedSide(reference, label, { path: "/create", headers: jsonHeaders, body: "{}" }),
  };
}

/**
 * One side on an instance of its own, from bundles `built` (buildWorkers): the service's `which`
 * with a token stored, or the reference's (which ignores the token's value: it only hashes it).
 */
export async function startOneSide(built, which, ofReference) {
  if (ofReference) return referenceSides(await startReference(built), "qrf_reference")[which];
  const service = await startService("service", built);
  return serviceSides(service, await putToken(service, "BenchApp", ["qr:create"]))[which];
}
