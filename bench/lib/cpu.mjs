// The machine from /proc (Linux; nothing elsewhere): the workerd processes this bench started, and
// whether the machine is quiet enough to measure.
import { existsSync, readdirSync, readFileSync } from "node:fs";

export const HAS_PROC = existsSync("/proc/self/stat");

/** workerd processes started by this process (one per Miniflare instance). */
export function workerdPids() {
  if (!HAS_PROC) return [];
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === process.pid && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("workerd")) {
        out.push(Number(entry));
      }
    } catch {
      // the process ended while we read
    }
  }
  return out;
}

function machineJiffies() {
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const values = fields.map(Number);
  const idle = values[3] + (values[4] ?? 0);
  return { busy: values.reduce((a, b) => a + b, 0) - idle, total: values.reduce((a, b) => a + b, 0) };
}

/** CPU time (ns) every thread of a process has used so far (/proc/<pid>/task/<tid>/schedstat), or null. */
export function processCpuNs(pid) {
  if (!HAS_PROC || !pid) return null;
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // the thread ended while we read
      }
    }
  } catch {
    return null;
  }
  return total;
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (at most `limitMs`) for two 250 ms windows in a row in which `isCalm(before, after)` holds for `sample()`. */
async function calmWindows(sample, isCalm, limitMs) {
  const until = Date.now() + limitMs;
  for (let calm = 0; calm < 2 && Date.now() < until; ) {
    const before = sample();
    await pause(250);
    calm = isCalm(before, sample()) ? calm + 1 : 0;
  }
}

/**
 * Waits until the machine is quiet (under 5 % busy; at most 15 s): work left over from the previous
 * run (a consumer writing a backlog of audit events, a Durable Object's writes) would otherwise land
 * on the next run's side of a comparison.
 */
export async function quiesce() {
  if (!HAS_PROC) return;
  await calmWindows(machineJiffies, (a, b) => (b.busy - a.busy) / Math.max(1, b.total - a.total) < 0.05, 15_000);
}

/**
 * Waits until one process is idle (under 2 % of a core; at most 10 s): its consumer's last batch
 * (delivered up to 1 s after its last message) and its `waitUntil` work are done.
 */
export async function idle(pid) {
  if (!HAS_PROC || !pid) return;
  await pause(1_200);
  await calmWindows(
    () => processCpuNs(pid) ?? 0,
    (a, b) => b - a < 5e6,
    10_000,
  );
}
