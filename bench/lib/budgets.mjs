// Budgets: every figure with its limit, printed as it is taken and written to bench/results/latest.json.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { table } from "../../scripts/lib/progress.mjs";
import { root } from "../../scripts/wrangler.mjs";
import { recordHistory } from "./history.mjs";
import { QUICK } from "./mode.mjs";

const budgets = [];

export function budget(name, figure, limit, ok, detail) {
  budgets.push({ name, figure, limit, ok, detail });
  console.log(`${ok ? "  ok  " : "  FAIL"} ${name}: ${figure} (budget ${limit})${detail ? ` ${detail}` : ""}`);
}

/**
 * Writes the results; `edgeModel` goes at the top level (issue #14's shape). A run without the model
 * (BENCH_ONLY) keeps the previous run's, with `edgeModelAt` saying when it was measured. Returns the
 * missed budgets.
 */
// A quick run checks that the bench runs: its figures go elsewhere and its budgets are not enforced.
const resultsFile = () => path.join(root, `bench/results/${QUICK ? "quick" : "latest"}.json`);

/** The last run's file of this size (quick or full), or {}. */
export function previousResults() {
  const file = resultsFile();
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
}

export function writeResults({ edgeModel, geoModel, costPerMillion, laps, ...results }) {
  const file = resultsFile();
  mkdirSync(path.dirname(file), { recursive: true });
  const previous = previousResults();
  const model = edgeModel ?? previous.edgeModel;
  const geo = geoModel ?? previous.geoModel;
  const cost = costPerMillion ?? previous.costPerMillion;
  const out = {
    at: new Date().toISOString(),
    results,
    budgets,
    ...(model ? { edgeModel: model, edgeModelAt: edgeModel ? new Date().toISOString() : previous.edgeModelAt } : {}),
    ...(geo ? { geoModel: geo } : {}),
    ...(cost ? { costPerMillion: cost } : {}),
    laps: { ...previous.laps, ...laps },
  };
  writeFileSync(file, JSON.stringify(out, null, 2));
  // The committed history and pictures take full runs only (bench/lib/history.mjs).
  if (!QUICK) recordHistory(budgets, geo);
  const failed = budgets.filter((b) => !b.ok);
  console.log(
    `\n${table(
      ["figure", "value", "budget", ""],
      budgets.map((b) => [b.name, b.figure, b.limit, b.ok ? "met" : "MISSED"]),
    )}`,
  );
  console.log(
    `\n${budgets.length - failed.length}/${budgets.length} budgets met${failed.length ? `; missed: ${failed.map((f) => f.name).join("; ")}` : ""}`,
  );
  return QUICK ? [] : failed;
}
