// Issue #28's figures in `npm run bench` (after the edge model, whose counted binding calls the cost
// uses): the geographic latency model per region against its floor, before and after placement, the
// busiest Durable Object's requests per second, and the cost per million fallbacks, each with its budget.
import path from "node:path";
import { EVENT_SEND_DELAY_MS } from "../../common/claim-shards.js";
import { table } from "../../scripts/lib/progress.mjs";
import { root } from "../../scripts/wrangler.mjs";
import { budget } from "../lib/budgets.mjs";
import { auditRowsPerEvent, dollarsPerMillion, floorCalls, serviceCalls } from "./cost.mjs";
import { busiestObjects, geoLatency, placement } from "./model.mjs";
import { DEFAULT_WEIGHTS, REGIONS } from "./regions.mjs";

export const BUDGETS = { lookupOverFloor: 1.25, busiestRps: 500, costRatio: 1.3 };

/**
 * `edgeModel`: this run's or the last one's (its `serviceCallsPerRequest`); `cpu`: CPU per request
 * (ms) of the service and the reference, create and hit, from the throughput pairs (this run's or the
 * last). Returns { geoModel, costPerMillion }.
 */
export function geoReport({ edgeModel, cpu, weights = DEFAULT_WEIGHTS }) {
  const regions = geoLatency({ weights });
  const { byRegion } = placement();
  const log = (s = "") => console.log(s);
  log("\ngeo model (bench/geo): lookup and create p50 / p99 in ms, after | before, against the floor");
  log(
    `  ${"region".padEnd(6)} chars objects  lookup after     floor  ratio | before     ratio   create after     floor  ratio | before  ratio`,
  );
  for (const r of REGIONS) {
    const { lookup: l, create: c, objectsIn } = regions[r];
    log(
      `  ${r.padEnd(6)} ${String(byRegion[r].length).padStart(5)} ${objectsIn.padEnd(7)} ${fmt(l)} ${String(l.floorP50Ms).padStart(6)} ${l.ratio.toFixed(3)} | ${fmt(l.before)} ${l.before.ratio.toFixed(3)}   ${fmt(c)} ${String(c.floorP50Ms).padStart(6)} ${c.ratio.toFixed(3)} | ${c.before.ratio.toFixed(3)}`,
    );
  }
  const worst = REGIONS.reduce((a, b) => (regions[a].lookup.ratio >= regions[b].lookup.ratio ? a : b));
  budget(
    "geo model lookup p50 / floor, every region (after)",
    regions[worst].lookup.ratio,
    `<= ${BUDGETS.lookupOverFloor}`,
    regions[worst].lookup.ratio <= BUDGETS.lookupOverFloor,
    `(worst: ${worst})`,
  );

  const busy = busiestObjects();
  log("\nbusiest Durable Object, requests/s received (bench/geo/model.mjs busiestObjects)");
  for (const design of ["before", "after"]) {
    for (const key of ["peak100", "attack10k"]) {
      const b = busy[design][key];
      log(
        `  ${design.padEnd(6)} ${key.padEnd(9)} ${String(b.rps).padStart(6)} ${b.object}  (${Object.entries(b.byObject)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")})`,
      );
    }
  }
  log(
    `  guesses past the rate limits ${busy.inputs.passedGuessesPerSecond}/s; a shard if none were stopped: ${busy.inputs.noLimitsShard}/s`,
  );
  const busiestObjectRps = { peak100: busy.after.peak100.rps, attack10k: busy.after.attack10k.rps };
  for (const key of ["peak100", "attack10k"]) {
    const rps = Math.max(busy.after[key].rps, busy.before[key].rps);
    budget(
      `busiest Durable Object rps, ${key} (before and after)`,
      rps,
      `<= ${BUDGETS.busiestRps}`,
      rps <= BUDGETS.busiestRps,
    );
  }

  const geoModel = {
    regions: Object.fromEntries(REGIONS.map((r) => [r, { ...regions[r], chars: byRegion[r].length }])),
    busiestObjectRps,
    busiest: busy,
    weights,
  };
  const costPerMillion = cost(edgeModel, cpu);
  return { geoModel, costPerMillion };
}

const fmt = (s) => `${String(s.p50Ms).padStart(6)} / ${String(s.p99Ms).padEnd(6)}`;

function cost(edgeModel, cpu) {
  const perCreate = edgeModel?.create?.serviceCallsPerRequest;
  const perLookup = edgeModel?.lookupHit?.serviceCallsPerRequest;
  if (!perCreate || !perLookup) {
    console.log("\ncost per million fallbacks: no counted binding calls (run the edge model: BENCH_ONLY=edge)");
    return null;
  }
  const rowsPerEvent = auditRowsPerEvent(path.join(root, "audit-consumer/migrations"));
  const calls = serviceCalls({
    perCreate,
    perLookup,
    cpuMs: cpu?.service ?? 0,
    rowsPerEvent,
    heldMsPerEvent: EVENT_SEND_DELAY_MS,
  });
  const floor = floorCalls({ cpuMs: cpu?.reference ?? 0 });
  const s = dollarsPerMillion(calls);
  const f = dollarsPerMillion(floor);
  const ratio = +(s.total / f.total).toFixed(3);
  console.log(
    "\ncost per million fallbacks (a create, its lookup, their events), USD at Cloudflare's published prices",
  );
  console.log(
    table(
      ["", ...Object.keys(s.lines), "total"],
      [
        ["service", ...Object.values(s.lines).map((v) => v.toFixed(3)), s.total.toFixed(3)],
        ["floor", ...Object.values(f.lines).map((v) => v.toFixed(3)), f.total.toFixed(3)],
      ],
    ),
  );
  console.log(`  calls per fallback, service: ${JSON.stringify(calls)}; audit rows per event ${rowsPerEvent}`);
  budget("cost per million fallbacks, service / floor", ratio, `<= ${BUDGETS.costRatio}`, ratio <= BUDGETS.costRatio);
  return {
    service: s.total,
    floor: f.total,
    ratio,
    lines: { service: s.lines, floor: f.lines },
    calls: { service: calls, floor },
  };
}
