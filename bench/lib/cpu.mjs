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

/** The longest quiesce() wait of this run, printed with the pairs: how much work lingers between runs. */
export const quiet = { longestWaitMs: 0 };

/**
 * Waits until the machine is quiet (two 250 ms windows in a row under 5 % busy; at most 15 s): work
 * left over from the previous run (a consumer writing a backlog of audit events, a Durable Object's
 * writes) would otherwise land on the next run's side of a comparison.
 */
export async function quiesce() {
  if (!HAS_PROC) return;
  const started = Date.now();
  let calm = 0;
  while (Date.now() - started < 15_000 && calm < 2) {
    const a = machineJiffies();
    await new Promise((resolve) => setTimeout(resolve, 250));
    const b = machineJiffies();
    calm = (b.busy - a.busy) / Math.max(1, b.total - a.total) < 0.05 ? calm + 1 : 0;
  }
  quiet.longestWaitMs = Math.max(quiet.longestWaitMs, Date.now() - started);
}
