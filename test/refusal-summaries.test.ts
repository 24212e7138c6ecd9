import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../common/audit-contract";
import { handOnDelayMs, NETWORK_SPREAD_MS, summaryShardOf } from "../src/security/client-ledger";
import {
  deployment,
  expectErrorShape,
  lookup,
  refusedCount,
  trailRows,
  waitForTrail,
  writeRefusalSummaries,
} from "./helpers";

describe("the trail stays bounded under any flood", () => {
  it("400 malformed codes from 400 addresses in 100 networks: counted toward the caps, summarized in a row, not 400", async () => {
    const deployed = deployment("malformed", { CLIENT_DAILY_FAILURE_CAP: "3" });
    const networks = Array.from({ length: 100 }, (_, i) => `10.70.${i}`);
    for (let host = 1; host <= 4; host++) {
      const answers = await Promise.all(
        networks.map((net, i) => lookup(`bad${i}-${host}`, `${net}.${host}`, { env: deployed })),
      );
      for (const answer of answers) await expectErrorShape(answer, 400, "QR_FALLBACK_NOT_FOUND");
    }
    // Malformed codes count toward the client's daily cap like any failed lookup.
    for (let i = 0; i < 2; i++) await lookup("x", "10.70.0.1", { env: deployed });
    await expectErrorShape(await lookup("x", "10.70.0.1", { env: deployed }), 429, "RATE_LIMITED");

    await writeRefusalSummaries(...networks.map((n) => `${n}.0/24`));
    const rows = await waitForTrail((r) =>
      r.some((e) => e.eventName === "QR_FALLBACK_LOOKUPS_REFUSED" && e.errorCode === "MALFORMED_CODE"),
    );
    const summaries = rows.filter((e) => e.errorCode === "MALFORMED_CODE");
    expect(summaries.length).toBeLessThanOrEqual(2); // one a minute; the flood may straddle two minutes
    expect(summaries.reduce((n, e) => n + (e.additionalDetails.extras.refusedCount ?? 0), 0)).toBe(402);
    expect(summaries[0].additionalDetails.extras.topNetworks?.length).toBe(5);
    expect(refusedCount(rows, "10.70.0.0", "MALFORMED_CODE")).toBe(6);
    // No event per malformed lookup.
    expect(
      rows.filter((e) => e.eventName === "QR_FALLBACK_PAYLOAD_RETRIEVED" && e.message.includes("malformed")),
    ).toEqual([]);
  }, 60_000);

  it("wrong long codes (no budget bounds them) are summarized too, not written one by one", async () => {
    const deployed = deployment("long-misses");
    const networks = Array.from({ length: 20 }, (_, i) => `10.72.${i}`);
    const answers = await Promise.all(
      networks.map((net, i) => lookup(`zzzzzzzz${String.fromCharCode(97 + i)}q`, `${net}.1`, { env: deployed })),
    );
    for (const answer of answers) await expectErrorShape(answer, 400, "QR_FALLBACK_NOT_FOUND");
    // The summaries may land as more than one row, and a count handed on while a level was writing its
    // minute goes into that level's next minute: the ledgers' alarms run again (time passes) until
    // every count is in. Counts lost would never come: the sum stays short and the test fails.
    const longMisses = (r: AuditEvent[]) =>
      r
        .filter((e) => e.errorCode === "UNKNOWN_LONG_CODE")
        .reduce((n, e) => n + (e.additionalDetails.extras.refusedCount ?? 0), 0);
    for (let minute = 0; minute < 4 && longMisses(await trailRows()) < 20; minute++) {
      await writeRefusalSummaries(...networks.map((n) => `${n}.0/24`));
      await waitForTrail((r) => longMisses(r) >= 20, 5_000).catch(() => undefined);
    }
    const rows = await trailRows();
    expect(longMisses(rows)).toBe(20);
    expect(
      rows.filter((e) => e.eventName === "QR_FALLBACK_PAYLOAD_RETRIEVED" && e.remoteIP?.startsWith("10.72.")),
    ).toEqual([]);
  }, 60_000);
});

it("networks hand a minute on at their own moments: a summary shard does not hear from all its networks in one second", () => {
  // 12,800 /24s: 200 per summary shard, 20 a second on average over the spread.
  const perShardSecond = new Map<string, number>();
  for (let i = 0; i < 12_800; i++) {
    const network = `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`;
    const delay = handOnDelayMs(network);
    expect(delay).toBeGreaterThanOrEqual(1_000);
    expect(delay).toBeLessThan(1_000 + NETWORK_SPREAD_MS);
    const key = `${summaryShardOf(env.CLIENT_LEDGER, network).id}|${Math.floor(delay / 1_000)}`;
    perShardSecond.set(key, (perShardSecond.get(key) ?? 0) + 1);
  }
  expect(Math.max(...perShardSecond.values())).toBeLessThanOrEqual(60); // 200 if they all handed on after 1 s
});
