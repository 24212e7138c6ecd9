#!/usr/bin/env node
// `npm run test:e2e`: starts `npm run dev` on a spare port, walks the README's new-user flow (token
// CLI, create, open lookup, single use, authentication, nothing in clear under .wrangler/), then drives
// the /demo page in headless Chromium (Debian's package, through playwright-core) through both panels,
// checks the retrieved payload and the audit rows, and saves a screenshot to test-results/demo-flow.png.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { LOCKED_NOTICE, root, STATE_DIR } from "../scripts/wrangler.mjs";

const PORT = Number(process.env.E2E_PORT ?? 8795);
const BASE = `http://127.0.0.1:${PORT}`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** The local stores `npm run token` writes, each one SQLite file that dev's workerd holds open too. */
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
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
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

  await check("console: an admin token connects; applications, tokens, hooks and attack mode are shown", async () => {
    await page.goto(`${BASE}/console/`);
    await page.fill("#token", admin);
    await page.click("#connect button[type=submit]");
    await page.waitForSelector(appRow, { timeout: 15_000 });
    assert((await page.textContent("#attack-state"))?.startsWith("Off"), "attack mode shown as off");
    assert((await page.textContent("#hooks"))?.includes("No event hooks"), "hooks panel filled");
    assert((await page.locator("#tokens tr").count()) >= 2, "tokens listed");
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
    "console: usable on a phone (no sideways scrolling), strict CSP held, no token in a URL or cookie",
    async () => {
      const width = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      assert(width[0] <= width[1], `page is ${width[0]}px wide on a ${width[1]}px screen`);
      assert(violations.length === 0, `CSP violations: ${violations.join("; ")}`);
      assert(
        urls.every((u) => !u.includes(admin)),
        "the token never went into a URL",
      );
      assert((await context.cookies()).length === 0, "no cookie");
      await page.screenshot({ path: path.join(root, "test-results/console-phone.png"), fullPage: true });
    },
  );
  await context.close();
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
  mkdirSync(path.join(root, "test-results"), { recursive: true });
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
    await page.waitForSelector("#payload:not([hidden])");
    const payload = JSON.parse((await page.textContent("#payload")) ?? "{}");
    assert(payload.type === "REGISTRATION", "payload type");
    assert(payload.activationCode === code, "payload carries the code");
    assert(/^[0-9a-f]{64}$/.test(payload.pin), "payload carries a 256-bit pin");
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
  await check("on a phone-sized screen: one column, no sideways scrolling", async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await phone.goto(`${BASE}/demo/`);
    await phone.click("#create");
    await phone.click("#show-code");
    await phone.waitForSelector("#code-box:not([hidden])");
    const layout = await phone.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      width: window.innerWidth,
      workstation: document.getElementById("workstation").getBoundingClientRect(),
      phonePanel: document.getElementById("phone").getBoundingClientRect(),
    }));
    assert(layout.scrollWidth <= layout.width, `page is ${layout.scrollWidth}px wide on a ${layout.width}px screen`);
    assert(layout.phonePanel.top >= layout.workstation.bottom, "the panels stack in one column");
    await phone.screenshot({ path: path.join(root, "test-results/demo-phone.png"), fullPage: true });
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
  console.log("  screenshot: test-results/demo-flow.png");
} catch (err) {
  failed++;
  console.log(`  ✗ e2e setup: ${err?.message ?? err}`);
} finally {
  await browser?.close();
  stopDev();
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
