#!/usr/bin/env node
// `npm run test:readme`: runs README.md's walk-through as written. The ```sh blocks between
// <!-- walkthrough:start --> and <!-- walkthrough:end --> run in one bash process (set -euo pipefail,
// so variables carry from step to step) against `npm run dev` started on a spare port in a fresh copy
// of this tree (its own .wrangler/state: nothing of yours is read or written). The one change made to
// the README's text is the port in its `BASE=http://localhost:8787` line. Fails when a command fails
// or when a step's expected outcome is not in its output (EXPECT below). The dev server's process
// group is stopped on every exit.
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const START = "<!-- walkthrough:start -->";
const END = "<!-- walkthrough:end -->";
const BASE_LINE = "BASE=http://localhost:8787";
const MARK = "@@readme-step@@";
const STEP_TIMEOUT_MS = Number(process.env.README_STEP_TIMEOUT_MS ?? 300_000);

/**
 * What each numbered step (a block's first line is `# <n>. ...`) must show: `output`, patterns its
 * output must match; `shell`, a bash test run right after the block, with the variables it set;
 * `check`, a test across steps' outputs. Every step of the README must be listed here, and every
 * step listed must be in the README.
 */
const EXPECT = {
  1: { shell: ['[[ "$BASE" == http://localhost:* ]]', '[[ "$TOKEN" =~ ^qrf_[A-Za-z0-9_-]{43}$ ]]'] },
  2: { output: [/"qrFallbackActivationCode":"[a-z]{6}"/], shell: ['[[ "$CODE" =~ ^[a-z]{6}$ ]]'] },
  3: {
    output: [/"qrCode":/, /\bHTTP 200\b/],
    check: (out) => {
      const created = JSON.parse(firstJson(out[2])).qrCode;
      const served = JSON.parse(firstJson(out[3])).qrCode;
      if (served !== created) throw new Error("the payload looked up is not the qrCode step 2 created");
    },
  },
  4: { output: [/"code":"QR_FALLBACK_NOT_FOUND"/, /\bHTTP 400\b/] },
  5: { output: [/"activationCode":"[a-z]{6}"/, /"qrCode":/, /AUTHENTICATION/] },
  6: {
    output: [/QR_FALLBACK_CODE_ISSUED/, /QR_FALLBACK_PAYLOAD_RETRIEVED/, /HYPRDefaultWorkstationApplication/],
    shell: ['[[ "$ADMIN" =~ ^qrf_[A-Za-z0-9_-]{43}$ ]]'],
  },
  7: { output: [/"enabled":false/, /"code":"QR_FALLBACK_DISABLED"/, /\bHTTP 403\b/, /"qrTtlSeconds":120/] },
};

/** The first line of `text` that parses as JSON (a step's output mixes JSON and status lines). */
function firstJson(text) {
  for (const line of text.split("\n")) {
    const candidate = line.replace(/ HTTP \d{3}$/, "").trim();
    if (!candidate.startsWith("{")) continue;
    try {
      JSON.parse(candidate);
      return candidate;
    } catch {}
  }
  throw new Error(`no JSON line in:\n${text}`);
}

/** The walk-through's steps: each ```sh block between the markers, with its number. */
function readSteps() {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} ... ${END} section`);
  const blocks = [...readme.slice(start, end).matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  const steps = blocks.map((text) => {
    const n = Number(/^#\s*(\d+)\./.exec(text)?.[1]);
    if (!n) throw new Error(`a walk-through block does not start with "# <n>. ...":\n${text}`);
    return { n, text };
  });
  const numbers = steps.map((s) => s.n).join(",");
  const expected = Object.keys(EXPECT).join(",");
  if (numbers !== expected)
    throw new Error(`README.md's walk-through has steps ${numbers}; this runner checks ${expected}`);
  const baseLines = steps.flatMap((s) => s.text.split("\n")).filter((l) => l.trim() === BASE_LINE);
  if (baseLines.length !== 1) throw new Error(`the walk-through must set ${BASE_LINE} exactly once`);
  return steps;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The tree without its state, results and dependencies; node_modules is linked, not copied. */
function freshCopy() {
  const dir = mkdtempSync(path.join(tmpdir(), "qrf-readme-"));
  const skip = new Set([
    ".git",
    "node_modules",
    ".wrangler",
    ".dev.vars",
    "test-results",
    ".bench",
    "bench/results",
    "public/vendor",
    "sim/results",
  ]);
  cpSync(root, dir, {
    recursive: true,
    filter: (src) => !skip.has(path.relative(root, src)) && !src.split(path.sep).includes("node_modules"),
  });
  symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
  return dir;
}

const children = new Set();
let workdir = null;
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
/**
 * Whether a process of group `pgid` is still running. A zombie does not count: this script reaps its
 * own children only between event-loop turns, and the waits below block the loop. Without /proc, any
 * member counts.
 */
function groupAlive(pgid) {
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let stat;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      } catch {
        continue;
      }
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so read from its closing parenthesis.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z") return true;
    }
    return false;
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
}
/** SIGTERM to a process group, SIGKILL after 10 s; returns once none of it runs (sync: runs on exit too). */
function stopGroup(pgid) {
  const signal = (s) => {
    try {
      process.kill(-pgid, s);
    } catch {}
  };
  signal("SIGTERM");
  for (let waited = 0; groupAlive(pgid) && waited < 10_000; waited += 100) sleep(100);
  if (groupAlive(pgid)) {
    signal("SIGKILL");
    for (let waited = 0; groupAlive(pgid) && waited < 5_000; waited += 100) sleep(100);
  }
}
/** Stops every process group this script started, then removes the copy. */
function cleanUp() {
  for (const child of children) stopGroup(child.pid);
  children.clear();
  if (workdir) {
    rmSync(workdir, { recursive: true, force: true, maxRetries: 5 });
    workdir = null;
  }
}
process.on("exit", cleanUp);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping`);
    process.exit(130);
  });
}

/** Starts `npm run dev` in its own process group; resolves once it answers, rejects if it ends first. */
async function startDev(cwd, port, inspectorPort) {
  const args = [
    "run",
    "dev",
    "--",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--inspector-port",
    String(inspectorPort),
  ];
  console.log(`$ npm ${args.join(" ")}   (in ${cwd})`);
  const dev = spawn("npm", args, {
    cwd,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.add(dev);
  let output = "";
  dev.stdout.on("data", (d) => {
    output += d;
  });
  dev.stderr.on("data", (d) => {
    output += d;
  });
  let exited = null;
  dev.on("exit", (code, signal) => {
    exited = signal ?? code;
  });
  const until = Date.now() + 180_000;
  while (Date.now() < until) {
    if (exited !== null) throw new Error(`npm run dev ended (${exited}) before it served:\n${output}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/openapi.json`);
      await res.arrayBuffer();
      if (res.ok) return { dev, output: () => output };
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`npm run dev did not serve /openapi.json within 180 s:\n${output}`);
}

/** The bash script: each step printed, marked, run as written, then its shell checks. */
function script(steps, port) {
  const lines = ["set -euo pipefail"];
  for (const { n, text } of steps) {
    const body = text.replace(/^BASE=http:\/\/localhost:8787[ \t]*$/m, `BASE=http://localhost:${port}`);
    const shown = body
      .trimEnd()
      .split("\n")
      .map((l) => `$ ${l}`)
      .join("\n");
    lines.push(`echo '${MARK} ${n}'`, "cat <<'__README_STEP__'", shown, "__README_STEP__", body);
    for (const test of EXPECT[n].shell ?? []) {
      lines.push(`${test} || { echo 'step ${n}: failed check: ${test}' >&2; exit 1; }`);
    }
  }
  lines.push(`echo '${MARK} end'`);
  return `${lines.join("\n")}\n`;
}

function runBash(source, cwd) {
  return new Promise((resolve) => {
    const bash = spawn("bash", ["-c", source], {
      cwd,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    children.add(bash);
    let stdout = "";
    bash.stdout.on("data", (d) => {
      stdout += d;
      process.stdout.write(
        String(d)
          .replace(new RegExp(`^${MARK} (\\d+)$`, "gm"), "\n── step $1 ──")
          .replace(new RegExp(`^${MARK} end\n`, "m"), ""),
      );
    });
    bash.stderr.on("data", (d) => process.stdout.write(d));
    const timer = setTimeout(() => {
      console.error(`\nthe walk-through took over ${STEP_TIMEOUT_MS / 1000} s: stopping it`);
      try {
        process.kill(-bash.pid, "SIGKILL");
      } catch {}
    }, STEP_TIMEOUT_MS);
    bash.on("exit", (code, signal) => {
      clearTimeout(timer);
      children.delete(bash);
      resolve({ code: signal ? 1 : code, stdout });
    });
  });
}

/** Each step's output (what follows its marker and its echoed commands), by step number. */
function outputsByStep(stdout) {
  const out = {};
  const parts = stdout.split(new RegExp(`^${MARK} `, "m")).slice(1);
  for (const part of parts) {
    const [head, ...rest] = part.split("\n");
    if (head === "end") continue;
    out[Number(head)] = rest.filter((l) => !l.startsWith("$ ")).join("\n");
  }
  return out;
}

async function main() {
  const steps = readSteps();
  workdir = freshCopy();
  const [port, inspectorPort] = [await freePort(), await freePort()];
  console.log(`README walk-through: ${steps.length} steps, npm run dev on port ${port}, fresh state in ${workdir}`);
  await startDev(workdir, port, inspectorPort);
  console.log(`npm run dev answers on http://localhost:${port}`);
  const { code, stdout } = await runBash(script(steps, port), workdir);
  const outputs = outputsByStep(stdout);
  const failures = [];
  if (code !== 0)
    failures.push(`bash exited ${code}${stdout.includes(`${MARK} end`) ? "" : " before the last step ended"}`);
  for (const { n } of steps) {
    const out = outputs[n];
    if (out === undefined) {
      failures.push(`step ${n}: did not run`);
      continue;
    }
    for (const pattern of EXPECT[n].output ?? [])
      if (!pattern.test(out)) failures.push(`step ${n}: output does not match ${pattern}`);
    try {
      EXPECT[n].check?.(outputs);
    } catch (err) {
      failures.push(`step ${n}: ${err.message}`);
    }
  }
  console.log("");
  if (failures.length) {
    console.log(`README walk-through FAILED:\n  ${failures.join("\n  ")}`);
    process.exitCode = 1;
  } else {
    console.log(`README walk-through passed: ${steps.length} steps, every command exit 0, every expected outcome seen`);
  }
}

try {
  await main();
} catch (err) {
  console.error(`README walk-through FAILED: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  cleanUp();
}
