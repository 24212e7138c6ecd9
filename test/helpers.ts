import { createExecutionContext, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { vi } from "vitest";
import type { AuditEvent } from "../common/audit-contract";
import type { CONFIG_VARS } from "../common/config-vars.js";
import { KV_PREFIXES } from "../common/kv-keys.js";
import { type Region, regionOfIndex } from "../common/regions.js";
import type { Scope } from "../src/auth/token-record";
import { createToken } from "../src/auth/tokens";
import { configOf } from "../src/config";
import { indexIdOf, pendingKeys } from "../src/fallback/payload-crypto";
import worker from "../src/index";
import { SUMMARY_DELAYS_MS, summaryLedger, summaryShardOf } from "../src/security/client-ledger";
import { REFUSAL_REPORT_MS } from "../src/security/guess-gate";
import { checkAgainstDocument } from "./openapi-contract";

export const BASE = "https://qr.test";

/** A token straight into the stores (as `npm run token` does); admin tokens are bound to no app. */
export async function mintToken(rpAppId: string, admin = false, scopes?: Scope[]): Promise<string> {
  const granted: Scope[] = admin ? ["admin"] : (scopes ?? ["qr:create", "audit:read"]);
  return (await createToken(env.QR_KV, env.CONTROL_DB, { rpAppId, scopes: granted, label: "test" })).token;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  ip?: string;
  /**
   * "exports" (default) goes through the test Worker's own fetch binding. Loops of hundreds of requests use
   * "handler", the same default export called with a real ExecutionContext: the pool's `exports.default.fetch`
   * slows down linearly with the number of calls in one file (measured: 2.5 ms -> 26 ms per call by the 400th).
   */
  via?: "exports" | "handler";
  env?: Env;
}

/** A request through the Worker's real fetch handler. */
export async function call(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const headers = new Headers(opts.headers);
  if (opts.token) headers.set("Authorization", `Bearer ${opts.token}`);
  if ((opts.body !== undefined || opts.rawBody !== undefined) && !headers.has("content-type")) {
    headers.set("Content-Type", "application/json");
  }
  headers.set("CF-Connecting-IP", opts.ip ?? "198.51.100.7");
  const body = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const request = new Request(BASE + path, { method, headers, body });
  const res = await (opts.via !== "handler" && !opts.env
    ? exports.default.fetch(request)
    : callHandler(request, opts.env ?? env));
  // Every answer is checked against the OpenAPI document (status, headers, body schema).
  await checkAgainstDocument(method, path, res);
  return res;
}

async function callHandler(request: Request, workerEnv: Env): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export async function createRegistration(token: string, body: Record<string, unknown> = {}) {
  const res = await call("POST", "/rp/versioned/client/qr/create", {
    token,
    body: { username: "alice", includeQRFallbackCode: true, ...body },
  });
  return {
    res,
    json: (await res.json()) as { qrCode: string; expirationTime: number; qrFallbackActivationCode?: string },
  };
}

export function lookup(activationCode: unknown, ip?: string, opts: CallOptions = {}) {
  return call("POST", "/rp/versioned/device/pendingqr", { ...opts, body: { activationCode }, ip });
}

export async function expectErrorShape(res: Response, status: number, code: string) {
  const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
  if (
    res.status !== status ||
    body.error?.code !== code ||
    typeof body.error.message !== "string" ||
    !body.error.requestId
  ) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(body)}`);
  }
  return body;
}

/** Every row of the trail, oldest first, read straight from D1. */
export async function trailRows(): Promise<AuditEvent[]> {
  const { results } = await env.AUDIT_DB.prepare(
    "SELECT body, loggedTimeInUTC FROM audit_events ORDER BY eventTimeInUTC, id",
  ).all<{ body: string; loggedTimeInUTC: number }>();
  return results.map((r) => ({ ...JSON.parse(r.body), loggedTimeInUTC: r.loggedTimeInUTC }));
}

/**
 * Polls the trail until `predicate` holds (queue delivery is asynchronous), within a bound. A wait
 * that runs out says what the trail and the KV outbox held then, so an intermittent miss in CI tells
 * a slow delivery (the trail still growing), a fallback (events in the outbox) and a loss apart.
 */
export async function waitForTrail(
  predicate: (rows: AuditEvent[]) => boolean,
  timeout = 20_000,
): Promise<AuditEvent[]> {
  try {
    return await vi.waitUntil(
      async () => {
        const rows = await trailRows();
        return predicate(rows) ? rows : false;
      },
      { timeout, interval: 50 },
    );
  } catch (err) {
    const counts: Record<string, number> = {};
    for (const row of await trailRows()) counts[row.eventName] = (counts[row.eventName] ?? 0) + 1;
    const outbox = (await env.QR_KV.list({ prefix: KV_PREFIXES.outbox })).keys.length;
    throw new Error(
      `${String(err)} after ${timeout} ms; the trail held ${JSON.stringify(counts)}, the outbox ${outbox} event(s)`,
    );
  }
}

/**
 * Writes the refusal summaries now, as the ledgers do once the minute is over: the clock is moved on,
 * the networks' ledgers hand their minute to their summary shards, those to the summary ledger,
 * and it writes the summaries.
 * Refusals must have been handed off (calls through `via: "handler"` or `env` wait for that).
 */
export async function writeRefusalSummaries(...networks: string[]): Promise<void> {
  vi.useFakeTimers({ toFake: ["Date"] });
  try {
    vi.setSystemTime(Date.now() + 61_000);
    for (const network of networks)
      await runDurableObjectAlarm(env.CLIENT_LEDGER.get(env.CLIENT_LEDGER.idFromName(network)));
    // Counts that reach a level after it handed their minute on go into its current minute: two rounds.
    const shards = new Set(networks.map((n) => summaryShardOf(env.CLIENT_LEDGER, n).id.toString()));
    for (let round = 0; round < 2; round++) {
      vi.setSystemTime(Date.now() + SUMMARY_DELAYS_MS.shard + round * 60_000);
      for (const shard of shards)
        await runDurableObjectAlarm(env.CLIENT_LEDGER.get(env.CLIENT_LEDGER.idFromString(shard)));
      vi.setSystemTime(Date.now() + SUMMARY_DELAYS_MS.deployment);
      await runDurableObjectAlarm(summaryLedger(env.CLIENT_LEDGER));
    }
  } finally {
    vi.useRealTimers();
  }
}

/** The refused requests of one network (its /24 or /48 as the trail writes it) counted in the summaries. */
export function refusedCount(rows: AuditEvent[], remoteIP: string, errorCode?: string): number {
  return rows
    .filter((e) => e.eventName === "QR_FALLBACK_LOOKUPS_REFUSED")
    .filter((e) => errorCode === undefined || e.errorCode === errorCode)
    .flatMap((e) => e.additionalDetails.extras.topNetworks ?? [])
    .filter((t) => t.network === remoteIP)
    .reduce((n, t) => n + t.count, 0);
}

/** Every method call on `target` (a binding or a stub) is made on the real object. */
export function passThrough<T extends object>(target: T, override: Record<string | symbol, unknown> = {}): T {
  return new Proxy(target, {
    get(t, p) {
      if (p in override) return override[p];
      const value = Reflect.get(t, p);
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}

/**
 * A deployment of its own within the test run: its claim shards and guess-budget keeper are objects
 * no other test touches (names prefixed with `name`), so each case starts from a fresh budget.
 * `vars` override the shipped configuration.
 */
export function deployment(name: string, vars: Partial<Record<keyof typeof CONFIG_VARS, string>> = {}): Env {
  const keeper = `${name}|global`;
  const withKeeper = <S extends { keeper: string } | undefined>(settings: S): S =>
    (settings ? { ...settings, keeper } : settings) as S;
  const claims = env.CODE_CLAIMS;
  const budget = env.GUESS_BUDGET;
  return {
    ...env,
    ...vars,
    CODE_CLAIMS: passThrough(claims, {
      idFromName: (n: string) => claims.idFromName(`${name}|${n}`),
      get: (id: DurableObjectId) => {
        const stub = claims.get(id);
        return passThrough(stub, {
          lookup: (settings: { keeper: string }, ...rest: [never, never, never, never?]) =>
            stub.lookup(withKeeper(settings) as never, ...rest),
          reserve: (id: string, expiresAt: number, settings?: { keeper: string }, ...rest: [never?]) =>
            stub.reserve(id, expiresAt, withKeeper(settings) as never, ...rest),
          attackCheck: (settings: { keeper: string }) => stub.attackCheck(withKeeper(settings) as never),
        });
      },
    }),
    GUESS_BUDGET: passThrough(budget, { idFromName: (n: string) => budget.idFromName(`${name}|${n}`) }),
  } as Env;
}

/**
 * The same deployment as seen from another isolate: every binding a new object, so whatever a module
 * keeps per binding (or per env) starts empty there, as in a fresh isolate on Cloudflare.
 */
export function asIsolate(deployed: Env): Env {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(deployed)) out[k] = v && typeof v === "object" ? passThrough(v) : v;
  return out as unknown as Env;
}

/**
 * A deployment whose claims binding logs the objects each call asks for (names without the
 * deployment's prefix), with `fireDue`: it runs the alarms those objects set (to report refusals)
 * once due, as workerd would, which it does not while Date is faked.
 */
export function loggedDeployment(name: string, vars: Parameters<typeof deployment>[1] = {}) {
  const deployed = deployment(name, vars);
  const names = new Map<string, string>();
  const asked: { object: string; at: number }[] = [];
  let fired = 0;
  const ns = deployed.CODE_CLAIMS;
  const logged = {
    ...deployed,
    CODE_CLAIMS: passThrough(ns, {
      idFromName: (n: string) => {
        const id = ns.idFromName(n);
        names.set(id.toString(), n);
        return id;
      },
      get: (id: DurableObjectId) => {
        asked.push({ object: names.get(id.toString()) ?? id.toString(), at: Date.now() });
        return ns.get(id);
      },
    }),
  } as Env;
  const objectOf = (object: string) => env.CODE_CLAIMS.get(env.CODE_CLAIMS.idFromName(`${name}|${object}`));
  return {
    deployed: logged,
    /** The objects asked for since the `from`th call. */
    asked: (from = 0) => asked.slice(from).map((a) => a.object),
    calls: () => asked.length,
    objectOf,
    async fireDue() {
      const due = asked.slice(fired).filter((a) => a.at + REFUSAL_REPORT_MS <= Date.now());
      fired += due.length;
      for (const object of new Set(due.map((a) => a.object))) await runDurableObjectAlarm(objectOf(object));
    },
  };
}

/** The keeper of a deployment made by `deployment(name)`. */
export const keeperOf = (name: string) => env.GUESS_BUDGET.get(env.GUESS_BUDGET.idFromName(`${name}|global`));

/** Where a code is claimed: the region holding its index (no 0.7 shards to honour). */
export async function placementOf(code: string): Promise<{ region: Region; legacyUntil: number }> {
  const keys = await pendingKeys(configOf(env).serverSecret);
  return { region: regionOfIndex(await indexIdOf(keys, code)), legacyUntil: 0 };
}

/** The `i`th code of `length` letters (a, b, ... z, ba, ...), left-padded with a. */
function lettersCode(i: number, length: number): string {
  let code = "";
  for (let k = 0, rest = i; k < length; k++, rest = Math.floor(rest / 26))
    code = String.fromCharCode(97 + (rest % 26)) + code;
  return code;
}

/** `n` codes of `length` letters whose index falls in `region`, in a fixed order from the `from`th. */
export async function codesOfRegion(region: Region, n: number, from = 0, length = 6): Promise<string[]> {
  const keys = await pendingKeys(configOf(env).serverSecret);
  const codes: string[] = [];
  for (let i = from; codes.length < n; i++) {
    const code = lettersCode(i, length);
    if (regionOfIndex(await indexIdOf(keys, code)) === region) codes.push(code);
  }
  return codes;
}
