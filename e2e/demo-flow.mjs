#!/usr/bin/env node
// `npm run test:e2e`: starts `npm run dev` on a spare port, walks the README's new-user flow (token
// CLI, create, open lookup, single use, authentication, nothing in clear under .wrangler/), then drives
// the /demo page in headless Chromium (Debian's package, through playwright-core) through both panels,
// checks the retrieved payload and the audit rows, runs the typed client's examples
// (clients/typescript/README.md), checks the console and the demo at 390×844 and 1280×800, and saves
// screenshots to test-results/ (test-results/screenshots/ for the two sizes).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { LOCKED_NOTICE, root, STATE_DIR } from "../scripts/wrangler.mjs";

const PORT = Number(process.env.E2E_PORT ?? 8795);
const BASE = `http://127.0.0.1:${PORT}`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** The local stores `npm run token` writes, each one SQLite file that dev's workerd holds open too. */
const SHOTS = path.join(root, "test-results", "screenshots");
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const CONTROL_DB_DIR = path.join(STATE_DIR, "v3", "d1", "miniflare-D1DatabaseObject");
const KV_DIR = path.join(STATE_DIR, "v3", "kv", "miniflare-KVNamespaceObject");
let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`  ✓ ${name}`);
  } catch (err) {
    failed++;
    console.log(
      `  ✗ ${name}\n    ${String(err?.stack ?? err)
        .split("\n")
        .slice(0, 4)
        .join("\n    ")}`,
    );
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** The whole trail's lookups served and wrong or expired, and codes created, of the last hour (an admin's search). */
async function trailCounts(admin) {
  const counts = { served: 0, failed: 0, created: 0 };
  const now = Date.now();
  for (let page = 1; ; page++) {
    const query = `startTSUTC=${now - 3_600_000}&endTSUTC=${now + 60_000}&pageSize=1000&pageNumber=${page}`;
    const res = await fetch(`${BASE}/cc/api/versioned/audit/search?${query}`, {
      headers: { Authorization: `Bearer ${admin}` },
    });
    const { data, metadata } = await res.json();
    for (const e of data) {
      if (e.eventTimeInUTC < Math.floor(now / 60_000) * 60_000 - 59 * 60_000) continue; // before the chart's hour
      if (e.eventName === "QR_FALLBACK_PAYLOAD_RETRIEVED") counts[e.isSuccessful ? "served" : "failed"]++;
      if (e.eventName === "QR_FALLBACK_CODE_ISSUED") counts.created++;
    }
    if (page >= metadata.totalPages) return counts;
  }
}

/** The sums of the console's bars, read from each minute's title ("12:01:00: 3 served, 1 wrong or expired, 0 refused"). */
async function plottedCounts(page) {
  const titles = [
    ...(await page.locator("#lookups-chart g > title").allTextContents()),
    ...(await page.locator("#creates-chart g > title").allTextContents()),
  ];
  const sum = (name) => titles.reduce((n, t) => n + Number(new RegExp(`(\\d+) ${name}(,|$)`).exec(t)?.[1] ?? 0), 0);
  return { served: sum("served"), failed: sum("wrong or expired"), created: sum("created") };
}

/**
 * The visible buttons, inputs and selects under each of `panels` (selectors) whose box is not inside
 * 0..width; throws when a panel has none (the check would prove nothing).
 */
async function controlsOutside(page, panels, width) {
  const outside = [];
  for (const panel of panels) {
    let seen = 0;
    for (const control of await page.locator(`${panel} :is(button, input, select)`).all()) {
      const box = await control.boundingBox();
      if (!box) continue; // hidden
      seen++;
      if (box.x < 0 || box.x + box.width > width) {
        const name = await control.evaluate((e) => e.id || e.getAttribute("aria-label") || e.textContent || e.type);
        outside.push(`${panel} ${name}: ${Math.round(box.x)}..${Math.round(box.x + box.width)}`);
      }
    }
    assert(seen > 0, `no visible control in ${panel}`);
  }
  return outside;
}

/** Inputs whose placeholder is wider than the room inside them (measured in their own font). */
function cutPlaceholders(page) {
  return page.evaluate(() => {
    const ctx = document.createElement("canvas").getContext("2d");
    return [...document.querySelectorAll("input[placeholder]")]
      .filter((i) => i.offsetParent !== null)
      .flatMap((i) => {
        const style = getComputedStyle(i);
        ctx.font = style.font;
        // A number input keeps room for its spin buttons.
        const room =
          i.clientWidth -
          parseFloat(style.paddingLeft) -
          parseFloat(style.paddingRight) -
          (i.type === "number" ? 20 : 0);
        const needed = ctx.measureText(i.placeholder).width;
        return needed > room ? [`${i.id}: "${i.placeholder}" needs ${Math.ceil(needed)}px, has ${room}px`] : [];
      });
  });
}

/** The first screen (`name`.png, from the top) and the whole page (`name`-full.png) into test-results/screenshots/. */
async function screenshots(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  await page.screenshot({ path: path.join(SHOTS, `${name}-full.png`), fullPage: true });
}

/** The page is no wider than the screen. */
async function noSidewaysScroll(page) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert(scroll <= width, `page is ${scroll}px wide on a ${width}px screen`);
}

const dev = spawn(
  "npm",
  ["run", "dev", "--", "--port", String(PORT), "--ip", "127.0.0.1", "--inspector-port", "9339"],
  {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  },
);
let devOutput = "";
dev.stdout.on("data", (d) => {
  devOutput += d;
});
dev.stderr.on("data", (d) => {
  devOutput += d;
});
const stopDev = () => {
  try {
    process.kill(-dev.pid, "SIGTERM");
  } catch {}
};
process.on("exit", stopDev);

async function waitForServer() {
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    try {
      const res = await fetch(`${BASE}/demo/`);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`npm run dev did not serve /demo/ in time:\n${devOutput}`);
}

const token = (args) =>
  execFileSync(process.execPath, ["scripts/token.mjs", ...args], { cwd: root, encoding: "utf8" })
    .trim()
    .split("\n");
/**
 * `npm run token -- create --app <app>` while another process holds the write lock of the store in
 * `dir` that has `table` (holdWriteLock). The lock is let go once the CLI says it met it (or has
 * ended), so the CLI always writes against a held lock; it must then succeed. Returns the token.
 */
async function createTokenPastLock(dir, table, app) {
  const holder = await holdWriteLock(dir, table);
  const cli = spawn(process.execPath, ["scripts/token.mjs", "create", "--app", app, "--label", "e2e locked"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const metLock = () => stderr.includes(LOCKED_NOTICE);
  cli.stdout.on("data", (d) => {
    stdout += d;
  });
  cli.stderr.on("data", (d) => {
    stderr += d;
    if (metLock()) holder.release();
  });
  const status = await new Promise((resolve) => cli.on("exit", resolve));
  holder.release();
  assert(status === 0, `npm run token failed under the lock:\n${stderr}`);
  assert(metLock(), "the CLI met the lock and said it was trying again");
  assert((await holder.done) === 0, "the lock was held and released");
  const made = stdout.trim().split("\n").at(-1);
  assert(/^qrf_/.test(made), `token created despite the lock: ${made}`);
  return made;
}

/** Every file under a folder, for a byte search of what must never be stored in clear. */
function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

async function walkThrough() {
  console.log("new-user walk-through (README)");
  const username = `alice-e2e-${Math.random().toString(36).slice(2, 10)}`;
  const secrets = [username];
  let bearer = "";
  await check("npm run token -- create prints a token on its last line, list shows it", async () => {
    bearer = token(["create", "--app", "HYPRDefaultWorkstationApplication", "--label", "e2e"]).at(-1);
    assert(/^qrf_[A-Za-z0-9_-]{43}$/.test(bearer), `token format: ${bearer}`);
    secrets.push(bearer);
    assert(
      token(["list"]).some((l) => l.includes("HYPRDefaultWorkstationApplication") && l.includes("e2e")),
      "listed",
    );
  });
  const api = (p, body, auth = true) =>
    fetch(`${BASE}${p}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify(body),
    });
  await check("registration QR with fallback, looked up without a token, then refused (single use)", async () => {
    const created = await (
      await api("/rp/versioned/client/qr/create", {
        rpAppId: "HYPRDefaultWorkstationApplication",
        username,
        includeQRFallbackCode: true,
      })
    ).json();
    const code = created.qrFallbackActivationCode;
    secrets.push(code, JSON.parse(created.qrCode).pin);
    const first = await api("/rp/versioned/device/pendingqr", { activationCode: code }, false);
    assert(first.status === 200 && (await first.json()).qrCode === created.qrCode, "payload byte for byte");
    const again = await api("/rp/versioned/device/pendingqr", { activationCode: code }, false);
    assert(
      again.status === 400 && (await again.json()).error.code === "QR_FALLBACK_NOT_FOUND",
      "second lookup refused",
    );
  });
  await check("authentication QR with fallback resolves at /rp/device/pendingqr", async () => {
    const created = await (
      await api("/rp/api/oob/qr/client/authentication/requests", {
        appId: "HYPRDefaultWorkstationApplication",
        namedUser: username,
        machine: "WEB",
        includeQRFallbackCode: true,
      })
    ).json();
    secrets.push(created.activationCode, JSON.parse(created.response.qrCode).pin);
    const res = await api("/rp/device/pendingqr", { activationCode: created.activationCode }, false);
    assert(res.status === 200 && (await res.json()).qrCode === created.response.qrCode, "auth payload");
  });
  await check("the typed client's examples (clients/typescript/README.md) create a code and look it up", async () => {
    const readme = readFileSync(path.join(root, "clients/typescript/README.md"), "utf8");
    const block = readme.split("## Run the examples")[1].match(/```sh\n([\s\S]*?)```/)[1];
    // Run as written, but for the port, with the payload's lookup repeated: single use.
    const script = `set -euo pipefail\n${block.replaceAll("http://localhost:8787", BASE)}
      if npm exec -- node clients/typescript/examples/phone.ts "$CODE"; then exit 9; fi`;
    const out = spawnSync("bash", ["-c", script], { cwd: root, encoding: "utf8" });
    assert(out.status === 0, `exit ${out.status}:\n${out.stdout}\n${out.stderr}`);
    const payload = JSON.parse(out.stdout.trim().split("\n").at(-1));
    assert(payload.type === "REGISTRATION" && payload.rpAppId === "HYPRDefaultWorkstationApplication", out.stdout);
    assert(out.stderr.includes("QR_FALLBACK_NOT_FOUND"), `the second lookup is refused: ${out.stderr}`);
  });
  await check("no activation code, pin, username or token in clear anywhere under .wrangler/", async () => {
    const hits = [];
    for (const file of filesUnder(path.join(root, ".wrangler"))) {
      const bytes = readFileSync(file);
      for (const secret of secrets)
        if (bytes.includes(secret)) hits.push(`${path.relative(root, file)}: ${secret.slice(0, 6)}…`);
    }
    assert(hits.length === 0, hits.join("; "));
  });
  await check("npm run token -- revoke removes it from the list", async () => {
    const id = token(["list"])
      .find((l) => l.includes("  e2e"))
      ?.split(" ")[0];
    assert(id, "token id listed");
    token(["revoke", id]);
    assert(!token(["list"]).some((l) => l.startsWith(id)), "revoked token gone from the list");
  });
  await check(
    "npm run token waits out a control database another process is writing (as dev's Worker may)",
    async () => {
      await createTokenPastLock(CONTROL_DB_DIR, "api_tokens", "LockedApp");
      assert(
        token(["list"]).some((l) => l.includes("LockedApp")),
        "listed",
      );
    },
  );
  await check("npm run token waits out a KV store another process is writing (local KV answers 500)", async () => {
    const made = await createTokenPastLock(KV_DIR, "_mf_entries", "LockedKvApp");
    const ok = await fetch(`${BASE}/rp/versioned/client/qr/create`, {
      method: "POST",
      headers: { Authorization: `Bearer ${made}`, "Content-Type": "application/json" },
      body: JSON.stringify({}),
    });
    assert(ok.status === 200, `the token's KV record was written: create answered ${ok.status}`);
  });
}

/**
 * Holds the write lock of the local SQLite store in `dir` that has `table`, from another process
 * (python3's sqlite3, on the machine as Node's build tooling), the way a Worker of `npm run dev`
 * writing it does, until `release()` (or 60 s); resolves once the lock is held, with `done`
 * settling to that process's exit code.
 */
async function holdWriteLock(dir, table) {
  const script = `
import glob, select, sqlite3, sys
for f in glob.glob(sys.argv[1] + "/*.sqlite"):
    c = sqlite3.connect(f, isolation_level=None)
    if c.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (sys.argv[2],)).fetchone():
        c.execute("BEGIN IMMEDIATE"); print("locked", flush=True); select.select([sys.stdin], [], [], 60); c.execute("COMMIT"); sys.exit(0)
sys.exit(3)`;
  const child = spawn("python3", ["-c", script, dir, table], { stdio: ["pipe", "pipe", "inherit"] });
  const done = new Promise((resolve) => child.on("exit", resolve));
  await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => String(d).includes("locked") && resolve());
    done.then((code) => reject(new Error(`could not lock ${table} in ${dir} (exit ${code})`)));
  });
  return { done, release: () => child.stdin.end() };
}

/** The operator console (/console) on a phone-sized screen: an admin turns an application's fallback off. */
async function consoleFlow(browser) {
  console.log("operator console in headless Chromium");
  const admin = token(["create", "--admin", "--label", "e2e console"]).at(-1);
  // An application of this run's own: a run that failed half-way may have left another switched off.
  const app = `ConsoleApp${Date.now().toString(36)}`;
  const workstation = token(["create", "--app", app, "--scope", "qr:create", "--label", "e2e"]).at(-1);
  const context = await browser.newContext({ viewport: PHONE, isMobile: true });
  const page = await context.newPage();
  const violations = [];
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  page.on("dialog", (dialog) => dialog.accept());
  const urls = [];
  page.on("request", (req) => urls.push(req.url()));
  const create = (bearer) =>
    fetch(`${BASE}/rp/versioned/client/qr/create`, {
      method: "POST",
      headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
      body: JSON.stringify({ includeQRFallbackCode: true }),
    });
  const appRow = `#apps tr[data-app="${app}"]`;

  // Activity for the pictures: two codes issued, one served, one wrong code.
  const seeded = await (await create(workstation)).json();
  await create(workstation);
  const lookup = (activationCode) =>
    fetch(`${BASE}/rp/versioned/device/pendingqr`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ activationCode }),
    });
  assert((await lookup(seeded.qrFallbackActivationCode)).status === 200, "seeded lookup served");
  assert((await lookup("zzzzzz")).status === 400, "seeded wrong code");

  await check(
    "console: an admin token connects on Enter; applications, tokens, hooks and attack mode are shown",
    async () => {
      await page.goto(`${BASE}/console/`);
      await page.fill("#token", admin);
      await page.press("#token", "Enter");
      await page.waitForSelector(appRow, { timeout: 15_000 });
      assert((await page.textContent("#attack-state"))?.startsWith("Off"), "attack mode shown as off");
      assert((await page.textContent("#hooks"))?.includes("No event hooks"), "hooks panel filled");
      assert((await page.locator("#tokens tr").count()) >= 2, "tokens listed");
    },
  );
  await check("console: on first view, the last hour's lookups and creates are drawn, per minute", async () => {
    await page.waitForSelector("#lookups-chart rect.served", { timeout: 20_000 });
    await page.waitForSelector("#lookups-chart rect.failed", { timeout: 20_000 });
    await page.waitForSelector("#creates-chart rect.created", { timeout: 20_000 });
    const chart = await page.locator("#lookups-chart").boundingBox();
    assert(
      chart && chart.y >= 0 && chart.y + chart.height <= PHONE.height,
      `chart on the first screen: ${JSON.stringify(chart)}`,
    );
    const total = (await page.textContent("#lookups-total")) ?? "";
    assert(/[1-9]\d* served/.test(total) && /[1-9]\d* wrong or expired/.test(total), `totals: ${total}`);
    assert((await page.locator("#lookups-chart g title").count()) === 60, "one bar slot a minute");
  });
  await check("console: the bars plot what the trail holds (served, wrong or expired, created)", async () => {
    // The trail settles (events arrive through the queue), then the console is reloaded and its bars summed.
    let plotted;
    let held;
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await trailCounts(admin);
      await page.reload();
      await page.fill("#token", admin);
      await page.press("#token", "Enter");
      await page.waitForSelector("#creates-chart rect.created", { timeout: 20_000 });
      plotted = await plottedCounts(page);
      held = await trailCounts(admin);
      if (JSON.stringify(before) === JSON.stringify(held)) break;
    }
    assert(held.served > 0 && held.failed > 0 && held.created > 0, `the trail has each kind: ${JSON.stringify(held)}`);
    assert(
      JSON.stringify(plotted) === JSON.stringify(held),
      `plotted ${JSON.stringify(plotted)}, trail ${JSON.stringify(held)}`,
    );
  });
  await check(
    "console: switching an application off refuses its fallback codes, and the change is in the trail",
    async () => {
      assert((await create(workstation)).status === 200, "fallback codes served before");
      await page.uncheck(`${appRow} input[type=checkbox]`);
      await page.waitForSelector(`#trail tr[data-event="QR_FALLBACK_SETTINGS_CHANGED"][data-app="${app}"]`, {
        timeout: 20_000,
      });
      const refused = await create(workstation);
      const body = await refused.json();
      assert(refused.status === 403 && body.error.code === "QR_FALLBACK_DISABLED", `got ${refused.status}`);
      await page.check(`${appRow} input[type=checkbox]`);
      await page.waitForFunction(
        () => document.querySelectorAll('#trail tr[data-event="QR_FALLBACK_SETTINGS_CHANGED"]').length >= 2,
        null,
        { timeout: 20_000 },
      );
      assert((await create(workstation)).status === 200, "served again once switched back on");
    },
  );
  await check("console: a token created there is shown once and, revoked there, refused", async () => {
    await page.fill("#token-app", app);
    await page.click("#new-token button[type=submit]");
    await page.waitForSelector("#token-once:not([hidden])");
    const made = (await page.textContent("#token-value"))?.trim() ?? "";
    assert(/^qrf_[\w-]{43}$/.test(made), "the new token is shown");
    assert((await create(made)).status === 200, "the new token works");
    await page.click("#token-dismiss");
    assert(!(await page.textContent("body")).includes(made), "the token is gone from the page once dismissed");
    const id = (await page.locator("#tokens tr").first().getAttribute("data-token")) ?? "";
    await page.click(`#tokens tr[data-token="${id}"] button`);
    await page.waitForSelector(`#tokens tr[data-token="${id}"]`, { state: "detached" });
    assert((await create(made)).status === 401, "the revoked token is refused");
  });
  await check(
    "console: trail times are relative with the exact time in a title; an event opens in <details>",
    async () => {
      const time = page.locator("#trail time").first();
      assert(/ago$/.test((await time.textContent()) ?? ""), "relative time");
      assert(/\d{4}-\d\d-\d\dT/.test((await time.getAttribute("title")) ?? ""), "exact time in the title");
      await page.locator("#trail summary").first().click();
      const raw = JSON.parse((await page.locator("#trail details[open] pre").first().textContent()) ?? "{}");
      assert(raw.eventName && raw.id, "the whole event, opened");
    },
  );
  await check(
    "console: usable on a phone (every control of every panel inside 390 px), strict CSP held, no token in a URL or cookie",
    async () => {
      await noSidewaysScroll(page);
      const panels = ["#connect", "#apps-panel", "#tokens-panel", "#trail-panel"];
      const outside = await controlsOutside(page, panels, PHONE.width);
      assert(outside.length === 0, `controls outside the screen: ${outside.join("; ")}`);
      const cut = await cutPlaceholders(page);
      assert(cut.length === 0, `placeholders cut off: ${cut.join("; ")}`);
      assert(violations.length === 0, `CSP violations: ${violations.join("; ")}`);
      assert(
        urls.every((u) => !u.includes(admin)),
        "the token never went into a URL",
      );
      assert((await context.cookies()).length === 0, "no cookie");
      await screenshots(page, "console-390x844");
    },
  );
  await context.close();

  await check("console at 1280×800: one-line times, details not clipped, placeholders whole", async () => {
    const desk = await browser.newContext({ viewport: DESKTOP });
    const wide = await desk.newPage();
    await wide.goto(`${BASE}/console/`);
    await wide.fill("#token", admin);
    await wide.press("#token", "Enter");
    await wide.waitForSelector("#trail time");
    await wide.waitForSelector("#lookups-chart rect.served");
    await noSidewaysScroll(wide);
    const layout = await wide.evaluate(() => ({
      lines: Math.max(...[...document.querySelectorAll("#trail time")].map((t) => t.getClientRects().length)),
      clipped: [...document.querySelectorAll('#trail td[data-label="Detail"]')].filter(
        (td) =>
          td.getBoundingClientRect().right > document.documentElement.clientWidth || td.scrollWidth > td.clientWidth,
      ).length,
    }));
    assert(layout.lines === 1, `a time over ${layout.lines} lines`);
    assert(layout.clipped === 0, `${layout.clipped} details clipped`);
    const cut = await cutPlaceholders(wide);
    assert(cut.length === 0, `placeholders cut off: ${cut.join("; ")}`);
    await screenshots(wide, "console-1280x800");
    await desk.close();
  });
}

let browser;
try {
  await waitForServer();
  await walkThrough();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ], // playwright starts each launch with a new, empty profile
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const cspViolations = [];
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  const requests = [];
  page.on("request", (req) => requests.push(req));
  mkdirSync(SHOTS, { recursive: true });
  await page.goto(`${BASE}/demo/`);
  console.log("demo flow in headless Chromium");

  let code = "";
  await check("workstation: create a registration QR and show its image", async () => {
    await page.click("#create");
    await page.waitForSelector("#qr:not([hidden])");
    const src = await page.getAttribute("#qr-image", "src");
    assert(src?.startsWith("data:image/svg+xml;base64,"), "the QR image is an inline SVG");
  });
  await check("workstation: 'Show activation code' shows a six-letter code", async () => {
    await page.click("#show-code");
    await page.waitForSelector("#code-box:not([hidden])");
    code = (await page.textContent("#code"))?.trim() ?? "";
    assert(/^[a-z]{6}$/.test(code), `code looks like the vendor's format, got ${code}`);
  });
  await check("workstation: the code's remaining lifetime counts down", async () => {
    const first = (await page.textContent("#expires")) ?? "";
    assert(/^Expires in [23]:\d\d$/.test(first), `remaining lifetime shown, got "${first}"`);
    await page.waitForFunction((was) => document.getElementById("expires").textContent !== was, first);
  });
  await check("phone: typing the code (with a dash, upper case) retrieves the registration payload", async () => {
    await page.fill("#typed", `${code.slice(0, 3).toUpperCase()}-${code.slice(3)}`);
    await page.click("#submit");
    await page.waitForSelector("#payload-view:not([hidden])");
    assert((await page.textContent("#payload-kind"))?.includes("registration"), "shown as a registration");
    assert((await page.textContent("#payload-url"))?.startsWith("http"), "rpUrl shown");
    assert(/^in \d/.test((await page.textContent("#payload-expiry")) ?? ""), "expiry shown");
    assert(!(await page.isVisible("#payload")), "raw JSON only on demand");
    await page.click("#payload-raw summary");
    assert(await page.isVisible("#payload"), "raw JSON shown when asked");
    const payload = JSON.parse((await page.textContent("#payload")) ?? "{}");
    assert(payload.type === "REGISTRATION", "payload type");
    assert(payload.activationCode === code, "payload carries the code");
    assert(/^[0-9a-f]{64}$/.test(payload.pin), "payload carries a 256-bit pin");
  });
  await check("workstation: the used code shows as used, no countdown", async () => {
    await page.waitForSelector("#expires.used");
    assert((await page.textContent("#expires"))?.startsWith("Used"), "used");
  });
  await check("phone: the same code again is refused (single use)", async () => {
    await page.click("#submit");
    await page.waitForFunction(() =>
      document.getElementById("phone-error").textContent.includes("QR_FALLBACK_NOT_FOUND"),
    );
  });
  await check("audit panel: the demo application's issuance and retrieval arrive", async () => {
    await page.waitForFunction(
      () => {
        const rows = [...document.querySelectorAll("#trail tr")];
        const names = rows.map((r) => r.dataset.event);
        return names.includes("QR_FALLBACK_CODE_ISSUED") && names.includes("QR_FALLBACK_PAYLOAD_RETRIEVED");
      },
      null,
      { timeout: 15_000 },
    );
  });
  await check("workstation: still shown as used once the trail has the lookup (no countdown came back)", async () => {
    assert((await page.textContent("#expires"))?.startsWith("Used"), await page.textContent("#expires"));
  });
  await check(
    "workstation: a code looked up by another phone (not this page) shows as used, from the trail",
    async () => {
      await page.click("#create");
      await page.click("#show-code");
      await page.waitForFunction((prev) => {
        const now = document.getElementById("code").textContent;
        return /^[a-z]{6}$/.test(now) && now !== prev;
      }, code);
      assert(/^Expires in/.test((await page.textContent("#expires")) ?? ""), "a new code counts down");
      const other = (await page.textContent("#code"))?.trim() ?? "";
      const res = await fetch(`${BASE}/rp/versioned/device/pendingqr`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ activationCode: other }),
      });
      assert(res.status === 200, `looked up elsewhere: ${res.status}`);
      await page.waitForSelector("#expires.used", { timeout: 15_000 });
    },
  );
  await check("authentication QR through the same panels", async () => {
    await page.selectOption("#kind", "authentication");
    await page.click("#create");
    await page.click("#show-code");
    await page.waitForFunction((prev) => {
      const now = document.getElementById("code").textContent;
      return /^[a-z]{6}$/.test(now) && now !== prev;
    }, code);
    const authCode = (await page.textContent("#code"))?.trim() ?? "";
    await page.fill("#typed", authCode);
    await page.click("#submit");
    await page.waitForFunction(() => document.getElementById("payload").textContent.includes("AUTHENTICATION"));
    assert((await page.textContent("#payload-kind"))?.includes("authentication"), "shown as an authentication");
  });
  await check("phone: a network failure and a non-JSON answer are shown, not thrown", async () => {
    await page.route("**/rp/versioned/device/pendingqr", (route) => route.abort("failed"));
    await page.fill("#typed", "abcdef");
    await page.click("#submit");
    await page.waitForFunction(() =>
      document.getElementById("phone-error").textContent.includes("could not be reached"),
    );
    await page.unroute("**/rp/versioned/device/pendingqr");
    await page.route("**/rp/versioned/device/pendingqr", (route) =>
      route.fulfill({ status: 502, contentType: "text/html", body: "<h1>Bad gateway</h1>" }),
    );
    await page.click("#submit");
    await page.waitForFunction(() => document.getElementById("phone-error").textContent.includes("not JSON"));
    await page.unroute("**/rp/versioned/device/pendingqr");
  });
  await check("on a phone-sized screen: one column, every control inside 390 px, the trail as cards", async () => {
    const phone = await browser.newPage({ viewport: PHONE, isMobile: true });
    await phone.goto(`${BASE}/demo/`);
    await phone.click("#create");
    await phone.click("#show-code");
    await phone.waitForSelector("#code-box:not([hidden])");
    await phone.fill("#typed", (await phone.textContent("#code")) ?? "");
    await phone.click("#submit");
    await phone.waitForSelector("#payload-view:not([hidden])");
    await phone.waitForSelector("#trail details");
    const outside = await controlsOutside(phone, ["#workstation", "#phone"], PHONE.width);
    assert(outside.length === 0, `controls outside the screen: ${outside.join("; ")}`);
    const cut = await cutPlaceholders(phone);
    assert(cut.length === 0, `placeholders cut off: ${cut.join("; ")}`);
    await phone.locator("#trail summary").first().click();
    await noSidewaysScroll(phone);
    const layout = await phone.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      width: window.innerWidth,
      workstation: document.getElementById("workstation").getBoundingClientRect(),
      phonePanel: document.getElementById("phone").getBoundingClientRect(),
    }));
    assert(layout.scrollWidth <= layout.width, `page is ${layout.scrollWidth}px wide on a ${layout.width}px screen`);
    assert(layout.phonePanel.top >= layout.workstation.bottom, "the panels stack in one column");
    await screenshots(phone, "demo-390x844");
    await phone.close();
  });
  await check("the browser never held a token, and the CSP held", async () => {
    assert(
      requests.every((r) => !r.headers().authorization),
      "no Authorization header from the page",
    );
    assert(cspViolations.length === 0, `CSP violations: ${cspViolations.join("; ")}`);
  });
  await check("/docs renders the API reference from the static-assets Worker, nothing from outside", async () => {
    const docs = await browser.newPage();
    const external = [];
    docs.on("request", (r) => {
      if (!r.url().startsWith(BASE) && !r.url().startsWith("data:")) external.push(r.url());
    });
    await docs.goto(`${BASE}/docs/`);
    await docs.getByText("/rp/versioned/device/pendingqr", { exact: true }).first().waitFor({ timeout: 20_000 });
    await docs.screenshot({ path: path.join(root, "test-results/docs.png") });
    assert(external.length === 0, `requests left the Worker: ${external.join(", ")}`);
    await docs.close();
  });

  await consoleFlow(browser);
  await page.screenshot({ path: path.join(root, "test-results/demo-flow.png"), fullPage: true });
  await page.setViewportSize(DESKTOP);
  await noSidewaysScroll(page);
  await screenshots(page, "demo-1280x800");
  console.log("  screenshots: test-results/demo-flow.png, test-results/screenshots/");
} catch (err) {
  failed++;
  console.log(`  ✗ e2e setup: ${err?.message ?? err}`);
} finally {
  await browser?.close();
  stopDev();
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
