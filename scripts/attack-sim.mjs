#!/usr/bin/env node
// `npm run attack-sim [-- --seconds 40]`: drives the real Worker locally (wrangler dev, fresh state per
// model) with each attacker model of SPEC section 9, while legitimate users create and type codes at
// the same time; client addresses are sent in CF-Connecting-IP. Reports, per model, the wrong codes
// the attacker had evaluated, the share of legitimate lookups served, and the successful guesses to
// expect in a year at 100 and 1,000 live codes: the measured rate of evaluated guesses, projected
// over a day and bounded by the daily caps (which a run of minutes cannot reach; `npm run odds`).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { tokenKey } from "../common/kv-keys.js";
import { ATTACKERS, attackerCapPerDay, fmt, readGuessingConfig, yearlyHits } from "./guessing-model.mjs";
import { prebuiltConfig, root, wrangler, wranglerBin } from "./wrangler.mjs";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "40" }, port: { type: "string", default: "8797" } },
});
const SECONDS = Number(values.seconds);
// Each model gets a port of its own, so a Worker still shutting down can never answer the next model.
let PORT = Number(values.port);
let BASE = `http://127.0.0.1:${PORT}`;
const config = readGuessingConfig(path.join(root, "wrangler.toml"));
const ALPHABET = "abcdefghijklmnopqrstuvwxyz";
const ATTACK_CONCURRENCY = 24;
// The Worker as `wrangler deploy` bundles it, built once: every model runs the same code.
const BUILD_DIR = mkdtempSync(path.join(tmpdir(), "qrf-attack-sim-build-"));
const BUILT_CONFIG = prebuiltConfig("wrangler.toml", BUILD_DIR, "service");
// SERVER_SECRET is a declared secret: wrangler dev reads it from the .dev.vars beside the config.
writeFileSync(path.join(BUILD_DIR, ".dev.vars"), `SERVER_SECRET="${randomBytes(32).toString("hex")}"\n`);
process.on("exit", () => rmSync(BUILD_DIR, { recursive: true, force: true }));
const LEGIT_USERS = 8;

const randomCode = (length) => Array.from(randomBytes(length), (b) => ALPHABET[b % 26]).join("");

/** Addresses each attacker model sends from (the botnet's 10,000 in 2,000 /24s; the /48's random /64s). */
const addressOf = {
  [ATTACKERS[0].name]: () => "203.0.113.5",
  [ATTACKERS[1].name]: () => `2001:db8:aaaa:${randomBytes(2).toString("hex")}::${randomBytes(2).toString("hex")}`,
  [ATTACKERS[2].name]: () => {
    const n = Math.floor(Math.random() * 2_000);
    return `${11 + (n >> 8)}.${n & 255}.7.${1 + Math.floor(Math.random() * 5)}`;
  },
};

/** Legitimate users: each lookup from its own address among 4,096 in as many networks. */
let legitIndex = 0;
const legitAddress = () => {
  legitIndex = (legitIndex + 1) % 4096;
  return `100.${64 + (legitIndex >> 8)}.${legitIndex & 255}.9`;
};

async function post(pathname, body, ip, token) {
  const headers = { "content-type": "application/json", "cf-connecting-ip": ip };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(BASE + pathname, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { notJson: text.slice(0, 200) };
  }
  return { status: res.status, json };
}

/** One workstation token per legitimate user (the create limit is per token), written before start. */
async function startWorker(state) {
  const tokens = Array.from({ length: LEGIT_USERS }, () => `qrf_sim_${randomBytes(16).toString("hex")}`);
  const entries = [];
  for (const token of tokens) {
    const hash = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token))).toString("hex");
    const record = { rpAppId: "SimApp", admin: false, label: "attack-sim", createdAt: Date.now() };
    entries.push({ key: tokenKey(hash), value: JSON.stringify(record), metadata: record });
  }
  const bulk = path.join(state, "tokens.json");
  writeFileSync(bulk, JSON.stringify(entries));
  wrangler(["kv", "bulk", "put", bulk, "--binding", "QR_KV", "--local", "--persist-to", state, "-c", BUILT_CONFIG]);
  const child = spawn(
    process.execPath,
    [
      wranglerBin,
      "dev",
      "-c",
      BUILT_CONFIG,
      "--port",
      String(PORT),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      state,
      "--var",
      "RP_URL:https://qr.example",
    ],
    // Its own process group: stopping the model stops wrangler and the workerd it started.
    {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const until = Date.now() + 90_000;
  for (;;) {
    try {
      await (await fetch(`${BASE}/`)).arrayBuffer();
      return { child, tokens };
    } catch {
      if (Date.now() > until) {
        stopWorker(child);
        throw new Error(`the Worker did not start:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function stopWorker(child) {
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    // already gone
  }
}

async function runModel(attacker, index) {
  PORT = Number(values.port) + index;
  BASE = `http://127.0.0.1:${PORT}`;
  const state = mkdtempSync(path.join(tmpdir(), "qrf-attack-sim-"));
  const { child, tokens } = await startWorker(state);
  const end = Date.now() + SECONDS * 1000;
  const attack = { sent: 0, evaluatedNormal: 0, evaluatedLong: 0, hits: 0, limited: 0, attackMode: 0, other: 0 };
  // Legitimate lookups, and those of codes issued once attack mode was on (the attack's steady state;
  // the others were typed at the moment it began and get 503 ATTACK_MODE: the user asks for a new code).
  const legit = { lookups: 0, served: 0, refused: 0, inAttackMode: 0, servedInAttackMode: 0, createFailed: 0 };
  let longCodes = false; // the attacker switches to long codes once normal ones are refused
  const attackLoop = async () => {
    while (Date.now() < end) {
      const length = longCodes ? config.longLength : config.normalLength;
      const { status, json } = await post(
        "/rp/versioned/device/pendingqr",
        { activationCode: randomCode(length) },
        addressOf[attacker.name](),
      );
      attack.sent++;
      if (status === 400) attack[longCodes ? "evaluatedLong" : "evaluatedNormal"]++;
      else if (status === 200) attack.hits++;
      else if (status === 429) attack.limited++;
      else if (json?.error?.code === "ATTACK_MODE") {
        attack.attackMode++;
        longCodes = true;
      } else attack.other++;
      // A client refused by its limits waits a little before its next address tries.
      if (status === 429) await new Promise((r) => setTimeout(r, 5));
    }
  };
  const legitLoop = async (token) => {
    while (Date.now() < end) {
      const created = await post(
        "/rp/versioned/client/qr/create",
        { includeQRFallbackCode: true },
        "192.0.2.200",
        token,
      );
      const code = created.json.qrFallbackActivationCode;
      if (created.status !== 200 || !code) {
        // Counted, not fatal: a create the user could not get is a legitimate failure too.
        legit.createFailed++;
        if (legit.createFailed <= 3) console.error(`create failed: ${created.status} ${JSON.stringify(created.json)}`);
        continue;
      }
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200)); // the user reads and types it
      const looked = await post("/rp/versioned/device/pendingqr", { activationCode: code }, legitAddress());
      const served = looked.status === 200 && looked.json.qrCode === created.json.qrCode;
      legit.lookups++;
      legit[served ? "served" : "refused"]++;
      if (code.length === config.longLength) {
        legit.inAttackMode++;
        if (served) legit.servedInAttackMode++;
      }
    }
  };
  try {
    await Promise.all([...Array.from({ length: ATTACK_CONCURRENCY }, attackLoop), ...tokens.map(legitLoop)]);
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    stopWorker(child);
    await exited;
    rmSync(state, { recursive: true, force: true });
  }
  return { attack, legit };
}

console.log(
  `attack-sim: ${SECONDS} s per model against wrangler dev on 127.0.0.1:${PORT}+, shipped configuration (wrangler.toml)`,
);
const rows = [];
for (const [index, attacker] of ATTACKERS.entries()) {
  const { attack, legit } = await runModel(attacker, index);
  const evaluated = attack.evaluatedNormal + attack.evaluatedLong;
  // Projection: the measured rate over a day, bounded by the caps a short run cannot reach.
  const cap = attackerCapPerDay(config, attacker);
  const perDay = Math.min(cap, (evaluated / SECONDS) * 86_400);
  const normalPerDay = Math.min(perDay, config.perDay.normalBudget);
  const longPerDay = Math.min(perDay, config.perDay.longBudget);
  const row = {
    attacker: attacker.name,
    sent: attack.sent,
    evaluatedNormal: attack.evaluatedNormal,
    evaluatedLong: attack.evaluatedLong,
    refused: attack.limited + attack.attackMode,
    hits: attack.hits,
    // A create that failed counts as a legitimate lookup not served.
    legitServed: legit.served / Math.max(1, legit.lookups + legit.createFailed),
    legitLookups: legit.lookups + legit.createFailed,
    // No attack mode in the run (one host never spends the budget): every lookup is steady state.
    steadyServed:
      legit.inAttackMode > 0
        ? legit.servedInAttackMode / legit.inAttackMode
        : legit.served / Math.max(1, legit.lookups + legit.createFailed),
    steadyLookups: legit.inAttackMode > 0 ? legit.inAttackMode : legit.lookups + legit.createFailed,
    hits100: yearlyHits(config, normalPerDay, longPerDay, 100),
    hits1000: yearlyHits(config, normalPerDay, longPerDay, 1_000),
  };
  rows.push(row);
  console.error(`${attacker.name}: ${JSON.stringify({ ...attack, legit })}`);
}
console.log(
  "\n| attacker | guesses sent | wrong codes evaluated (normal, long) | refused (429, 503) | legitimate lookups served: all (during attack mode) | expected hits / year at 100 live | at 1,000 live |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(
    `| ${r.attacker} | ${r.sent} | ${r.evaluatedNormal}, ${r.evaluatedLong} | ${r.refused} | ${pct(r.legitServed)} of ${r.legitLookups} (${pct(r.steadyServed)} of ${r.steadyLookups}) | ${fmt(r.hits100)} | ${fmt(r.hits1000)} |`,
  );
}
const botnet = rows[2];
function pct(share) {
  return `${(share * 100).toFixed(2)}%`;
}
const ok =
  botnet.hits100 <= 1 &&
  rows.every(
    // Attack mode lasts while the attack goes on, so one minute's budget is all normal codes get.
    (r) => r.steadyServed >= 0.99 && r.evaluatedNormal <= config.budgetPerMinute * 1.1,
  );
console.log(
  `\n${ok ? "ok" : "FAIL"}: botnet ≤ 1 expected hit a year at 100 live codes; ≥ 99% of legitimate lookups served during attack mode; normal-length guesses within the budget`,
);
process.exit(ok ? 0 : 1);
