// Traffic against a simulated deployment (sim/deployment.mjs): legitimate users (a workstation creates
// a code, its phone types it, 2% mistype first) and the attacker models of docs/security-model.md.
// Every request goes to a random Worker and isolate, as Cloudflare spreads requests; isolates are
// replaced every ISOLATE_LIFE_MS (their per-isolate state starts empty), at different times each.
import { randomBytes, randomInt } from "node:crypto";

export const ISOLATE_LIFE_MS = 30_000;
const ALPHABET = "abcdefghijklmnopqrstuvwxyz";
const LOOKUP = "/rp/versioned/device/pendingqr";
const CREATE = "/rp/versioned/client/qr/create";

export const randomCode = (length) => Array.from(randomBytes(length), (b) => ALPHABET[b % 26]).join("");

/** Where a request lands: a random Worker, and in it one of `slots` simulated isolates of this generation. */
export function placement(deployment, slots, started) {
  const worker = randomInt(deployment.workers);
  const slot = randomInt(slots);
  // Each isolate's generation turns over at its own offset, so isolates die one by one, not all at once.
  const offset = ((worker * 7919 + slot * 104729) % ISOLATE_LIFE_MS) | 0;
  const generation = Math.floor((Date.now() - started + offset) / ISOLATE_LIFE_MS);
  return { worker, isolate: `${worker}.${slot}.${generation}` };
}

/** Per-second counts of what happened, for the figures and the timeline picture. */
export class Recorder {
  constructor() {
    this.started = Date.now();
    this.seconds = new Map();
    this.totals = {};
  }
  now() {
    return Math.floor((Date.now() - this.started) / 1000);
  }
  add(what, n = 1, s = this.now()) {
    const row = this.seconds.get(s) ?? {};
    row[what] = (row[what] ?? 0) + n;
    this.seconds.set(s, row);
    this.totals[what] = (this.totals[what] ?? 0) + n;
  }
  /** The most of `what` in any `windowS` seconds. */
  maxWindow(what, windowS = 60) {
    const last = Math.max(0, ...this.seconds.keys());
    let best = 0;
    for (let s = 0; s <= last; s++) {
      let sum = 0;
      for (let t = s; t < s + windowS; t++) sum += this.seconds.get(t)?.[what] ?? 0;
      best = Math.max(best, sum);
    }
    return best;
  }
  series(what) {
    const last = Math.max(0, ...this.seconds.keys());
    return Array.from({ length: last + 1 }, (_, s) => this.seconds.get(s)?.[what] ?? 0);
  }
}

async function post(deployment, at, pathname, body, ip, token) {
  const headers = { "content-type": "application/json", "cf-connecting-ip": ip };
  if (token) headers.authorization = `Bearer ${token}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await deployment.request(pathname, { method: "POST", headers, body: JSON.stringify(body) }, at);
      const json = await res.json().catch(() => ({}));
      return { status: res.status, json, resent: attempt > 0 };
    } catch (err) {
      // workerd closes kept-alive connections that the client may just have picked for a request.
      // Under load it also resets connections: a request not answered is sent again (`resent`: a
      // lookup the first attempt may already have redeemed then reads as used).
      if (["UND_ERR_SOCKET", "ECONNRESET"].includes(err?.cause?.code) && attempt < 5) {
        await sleep(10 * (attempt + 1));
        continue;
      }
      return { status: 0, json: { error: { code: "NETWORK", message: String(err) } } };
    }
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Legitimate users: `perSecond` create + lookup pairs until `until`; a user refused for attack mode asks for a new code. */
export async function legitimateUsers(deployment, rec, { perSecond, until, slots, tokens, typoShare = 0.02 }) {
  const users = [];
  let n = 0;
  const user = async (i) => {
    const served = await oneUser(i);
    rec.add(served === null ? "userLostByHarness" : served ? "userServed" : "userNotServed");
  };
  const oneUser = async (i) => {
    const token = tokens[i % tokens.length];
    const ip = `100.${64 + ((i >> 8) & 63)}.${i & 255}.9`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const created = await post(
        deployment,
        placement(deployment, slots, rec.started),
        CREATE,
        { includeQRFallbackCode: true },
        "192.0.2.200",
        token,
      );
      const code = created.json.qrFallbackActivationCode;
      if (created.status !== 200 || !code) {
        rec.add("createFailed");
        return false;
      }
      await sleep(200 + randomInt(800)); // the user reads it and types it on the phone
      if (Math.random() < typoShare) {
        const typo = await post(
          deployment,
          placement(deployment, slots, rec.started),
          LOOKUP,
          { activationCode: randomCode(code.length) },
          ip,
        );
        rec.add(
          typo.status === 400 ? (code.length === 6 ? "wrongEvaluated" : "wrongLongEvaluated") : `typo${typo.status}`,
        );
      }
      const looked = await post(
        deployment,
        placement(deployment, slots, rec.started),
        LOOKUP,
        { activationCode: code },
        ip,
      );
      const served = looked.status === 200 && looked.json.qrCode === created.json.qrCode;
      const why = `${looked.status}${looked.json?.error?.code ? `:${looked.json.error.code}` : ""}`;
      // A lookup sent twice because the connection broke is the harness's loss, not the service's answer.
      if (!served && (looked.resent || looked.status === 0)) {
        rec.add(`harnessLost${why}`);
        return null;
      }
      rec.add(served ? "served" : `notServed${why}`);
      if (code.length > 6) rec.add(served ? "servedLong" : "notServedLong");
      if (served) return true;
      // The 503's message says: ask the workstation for a new code. The user does, once.
      if (looked.json?.error?.code !== "ATTACK_MODE") return false;
      rec.add("askedAgain");
    }
    return false;
  };
  while (Date.now() < until) {
    users.push(user(n++));
    await sleep(1000 / perSecond);
  }
  await Promise.all(users);
  rec.add("users", n);
}

/**
 * An attacker: `concurrency` loops of wrong codes until `until` (or `count` guesses), from addresses
 * `addressOf(i)` picks; it switches to long codes once normal ones are refused, as a real one would.
 */
export async function attacker(
  deployment,
  rec,
  { concurrency, until, count = Number.POSITIVE_INFINITY, addressOf, slots, perSecond, longToo = false },
) {
  let sent = 0;
  let long = false;
  const loop = async () => {
    while (Date.now() < until && sent < count) {
      const i = sent++;
      const length = long || (longToo && i % 2 === 1) ? 10 : 6;
      const { status, json } = await post(
        deployment,
        placement(deployment, slots, rec.started),
        LOOKUP,
        { activationCode: randomCode(length) },
        addressOf(i),
      );
      if (status === 400) rec.add(length === 6 ? "wrongEvaluated" : "wrongLongEvaluated");
      else if (status === 200) rec.add("hits");
      else if (status === 429) rec.add("rateLimited");
      else if (json?.error?.code === "ATTACK_MODE") {
        rec.add(length === 6 ? "refusedAttackMode" : "refusedLongAttackMode");
        long = !longToo;
      } else rec.add(`other${status}${json?.error?.code ? `:${json.error.code}` : ""}`);
      if (perSecond) await sleep((1000 * concurrency) / perSecond);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

/** Polls the deployment's status every second while `running()`: seconds in attack mode, and how many times it started. */
export async function watchAttackMode(deployment, rec, adminToken, running) {
  let wasOn = false;
  let polled = rec.now() - 1;
  while (running()) {
    try {
      const res = await deployment.request(
        "/cc/api/qrfallback/status",
        { headers: { authorization: `Bearer ${adminToken}` } },
        { worker: 0 },
      );
      const on = (await res.json()).attackMode?.normalCodes?.active === true;
      // Every second since the last poll (a poll can take longer than a second under load) took this state.
      const now = rec.now();
      if (on) for (let s = polled + 1; s <= now; s++) rec.add("attackModeSeconds", 1, s);
      polled = now;
      if (on && !wasOn) rec.add("attackModeStarts");
      if (!on && wasOn) rec.add("attackModeEnds");
      wasOn = on;
    } catch {
      // a poll that failed says nothing
    }
    await sleep(1000);
  }
}

/** Rows of a kind in the trail once the queue has delivered (waits up to `ms` for the count to settle). */
export async function trailCounts(deployment, ms = 5_000) {
  let last = -1;
  for (let waited = 0; waited < ms; waited += 500) {
    const { results } = await deployment.auditDb
      .prepare("SELECT eventName, errorCode, count(*) AS n FROM audit_events GROUP BY eventName, errorCode")
      .all();
    const total = results.reduce((s, r) => s + r.n, 0);
    if (total === last) return results;
    last = total;
    await sleep(500);
  }
  return (
    await deployment.auditDb
      .prepare("SELECT eventName, errorCode, count(*) AS n FROM audit_events GROUP BY eventName, errorCode")
      .all()
  ).results;
}
