#!/usr/bin/env node
// `node bench/workerd-waits.mjs` (about 1½ minutes): two behaviours of local workerd that shape the
// local figures of a lookup hit and a create, shown on a Worker of a few lines (below) run through
// Miniflare's API as the bench runs its Workers, with none of this project's code (BENCHMARKS.md,
// "What a hit's local time is made of"):
// 1. Over kept-alive connections, some requests wait hundreds of milliseconds **before their handler
//    starts** while the others are served, once the handler leaves work in `waitUntil`; over a new
//    connection per request almost none do. The event loop is saturated either way, and the
//    throughput stays within the machine's noise: this is unfair queueing, not time lost.
// 2. An idle Durable Object is evicted after about 10 s (between 8 and 12), so a claim spread over
//    64² shards is mostly called on an object that must start again; over 64 shards almost never.
import http from "node:http";
import { Miniflare } from "miniflare";
import "./lib/instances.mjs"; // the stores on tmpfs, as in the bench

const AMOUNT = Number(process.env.BENCH_REQUESTS ?? 4000);
const CONNECTIONS = 10;
const SLOW_MS = 100;

const WORKER = `
import { DurableObject } from "cloudflare:workers";
let starts = 0;
export class Claims extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    starts++;
    this.bornAt = Date.now();
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS c (id TEXT PRIMARY KEY, redeemed INTEGER)");
  }
  reserve(id) { this.ctx.storage.sql.exec("INSERT INTO c VALUES (?, 0) ON CONFLICT DO NOTHING", id); return this.bornAt; }
  redeem(id) { this.ctx.storage.sql.exec("UPDATE c SET redeemed = 1 WHERE id = ?", id); return this.bornAt; }
}
const shardOf = (env, key, named) => {
  if (named) return env.CLAIMS.get(env.CLAIMS.idFromName(named));
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) >>> 0;
  return env.CLAIMS.get(env.CLAIMS.idFromName("s" + (h % Number(env.SHARDS))));
};
export default {
  async fetch(request, env, ctx) {
    const startedAt = Date.now();
    const q = new URL(request.url).searchParams;
    const key = q.get("key");
    const claim = q.has("claim");
    const headers = { "x-started-at": String(startedAt) };
    if (q.has("starts")) return new Response(String(starts));
    if (q.has("put")) {
      if (claim) await shardOf(env, key).reserve(key);
      await env.KV.put(key, "x".repeat(300));
      return new Response("", { headers });
    }
    const value = await env.KV.get(key);
    if (claim) headers["x-born-at"] = String(await shardOf(env, key, q.get("object")).redeem(key));
    if (q.has("awaited")) await env.KV.delete(key);
    else if (q.has("delete")) ctx.waitUntil(env.KV.delete(key));
    return new Response(value ? "hit" : "miss", { status: value ? 200 : 404, headers });
  },
};`;

async function start(shards) {
  const mf = new Miniflare({
    modules: true,
    script: WORKER,
    compatibilityDate: "2026-04-01",
    kvNamespaces: ["KV"],
    durableObjects: { CLAIMS: { className: "Claims", useSQLite: true } },
    bindings: { SHARDS: String(shards) },
    host: "127.0.0.1",
    port: 0,
  });
  return { mf, url: new URL(await mf.ready) };
}

/** Sends `paths` over `CONNECTIONS` connections; per request: latency and the wait before its handler. */
async function run({ url }, paths, keepAlive = true) {
  const agent = new http.Agent({ keepAlive, maxSockets: CONNECTIONS });
  const send = (path) =>
    new Promise((resolve, reject) => {
      const sentAt = Date.now();
      const req = http.get({ host: url.hostname, port: url.port, path, agent }, (res) => {
        res.resume();
        res.on("end", () => resolve({ before: Number(res.headers["x-started-at"]) - sentAt, status: res.statusCode }));
      });
      req.on("error", reject);
    });
  const latencies = [];
  const before = [];
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < paths.length) {
        const path = paths[next++];
        const at = performance.now();
        const answer = await send(path);
        const ms = performance.now() - at;
        if (answer.status !== 200) throw new Error(`${path}: answered ${answer.status}, expected 200`);
        latencies.push(ms);
        if (ms > SLOW_MS) before.push(answer.before);
      }
    }),
  );
  agent.destroy();
  const total = latencies.reduce((a, b) => a + b, 0);
  const slow = latencies.filter((ms) => ms > SLOW_MS).reduce((a, b) => a + b, 0);
  before.sort((a, b) => a - b);
  return {
    perSecond: (paths.length * 1000) / (performance.now() - began),
    slowShare: slow / total,
    slowCount: before.length,
    medianBeforeHandler: before[before.length >> 1] ?? 0,
  };
}

const keys = (n, tag) => Array.from({ length: n }, (_, i) => `${tag}${i}`);
const pct = (x) => `${(100 * x).toFixed(0)} %`;
const line = (label, r) =>
  console.log(
    `  ${label.padEnd(44)} ${r.perSecond.toFixed(0).padStart(5)} req/s; ${String(r.slowCount).padStart(4)} answers > ${SLOW_MS} ms = ${pct(r.slowShare).padStart(4)} of the time${r.slowCount ? `, median ${r.medianBeforeHandler} ms of it before the handler started` : ""}`,
  );

const instances = [];
const hitRates = [];
try {
  console.log(`1. ${AMOUNT} KV reads after ${AMOUNT} writes, ${CONNECTIONS} connections, one workerd:`);
  const plain = await start(64);
  instances.push(plain);
  for (const [label, query, keepAlive] of [
    ["read, delete awaited, kept-alive", "awaited", true],
    ["read, delete in waitUntil, kept-alive", "delete", true],
    ["read, delete in waitUntil, connection each", "delete", false],
  ]) {
    const tag = `${query}${keepAlive}-`;
    await run(
      plain,
      keys(AMOUNT, tag).map((k) => `/?put&key=${k}`),
    );
    line(
      label,
      await run(
        plain,
        keys(AMOUNT, tag).map((k) => `/?${query}&key=${k}`),
        keepAlive,
      ),
    );
  }

  console.log("2. a claim object called again after it sat idle:");
  const bornAt = async (object) =>
    (await fetch(new URL(`/?claim&key=idle&object=${object}`, plain.url))).headers.get("x-born-at");
  await Promise.all(
    [8, 12].map(async (idle) => {
      const object = `idle-${idle}`; // an object of its own per pause
      const first = await bornAt(object);
      await new Promise((r) => setTimeout(r, idle * 1000));
      console.log(
        `  after ${idle} s idle: ${(await bornAt(object)) === first ? "the same instance" : "started again"}`,
      );
    }),
  );

  console.log(`3. ${AMOUNT} creates (claim + KV write), 12 s idle, then their hits (KV read + claim redeem):`);
  for (const shards of [64, 4096]) {
    const instance = await start(shards);
    instances.push(instance);
    const codes = keys(AMOUNT, "code-");
    await run(
      instance,
      codes.map((k) => `/?put&claim&key=${k}`),
    );
    // As in the bench, whose codes are made before the measured slices: the objects sit idle first.
    await new Promise((r) => setTimeout(r, 12_000));
    const startsBefore = Number(await (await fetch(new URL("/?starts", instance.url))).text());
    const hit = await run(
      instance,
      codes.map((k) => `/?claim&key=${k}`),
    );
    const starts = Number(await (await fetch(new URL("/?starts", instance.url))).text()) - startsBefore;
    console.log(
      `  ${String(shards).padStart(4)} shards: hits ${hit.perSecond.toFixed(0)} req/s, ${starts} claim objects started during them (${pct(starts / AMOUNT)} of the hits)`,
    );
    hitRates.push({ perSecond: hit.perSecond, startShare: starts / AMOUNT });
  }
  const [few, many] = hitRates;
  const startMs = (1000 / many.perSecond - 1000 / few.perSecond) / (many.startShare - few.startShare);
  console.log(`  so one object start costs about ${startMs.toFixed(2)} ms of the event loop`);
} finally {
  await Promise.all(instances.map((i) => i.mf.dispose()));
}
