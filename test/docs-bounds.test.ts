import { describe, expect, it } from "vitest";
import { OUTAGE_RIDDEN_OUT_SECONDS } from "../common/audit-retry.js";
import { EVENT_SEND_DELAY_MS } from "../common/claim-shards.js";
import { CONFIG_VARS } from "../common/config-vars.js";
import api from "../docs/api.md?raw";
import auditEvents from "../docs/audit-events.md?raw";
import configuration from "../docs/configuration.md?raw";
import deploy from "../docs/deploy.md?raw";
import operations from "../docs/operations.md?raw";
import securityModel from "../docs/security-model.md?raw";
import storage from "../docs/storage.md?raw";
// The docs, as text (Vite's ?raw import).
import readme from "../README.md?raw";
import { LEFT_AFTER_MS } from "../src/controls/change-events";
import { CONTROLS_MAX_AGE_MS, CONTROLS_REFRESH_MS } from "../src/controls/controls-snapshot";
import { EVENT_RETRY_MS } from "../src/fallback/code-claims";
import { DELIVERY_TIMEOUT_MS } from "../src/hooks/deliver";
import { MAX_BODY_BYTES } from "../src/http/middleware";
import { MAX_DRAIN_MS } from "../src/lib/count-batcher";
import { ATTACK_CHECK_MS } from "../src/security/guess-budget";
import { REFUSAL_REPORT_MS } from "../src/security/guess-gate";

const DOCS = { readme, api, auditEvents, configuration, deploy, operations, securityModel, storage };
const defaultOf = (name: keyof typeof CONFIG_VARS) => Number(CONFIG_VARS[name].default);

/**
 * Each bound the docs cite, with the phrasings that cite it: every match's number must be the
 * constant's, and each phrasing must occur somewhere (so a reworded sentence is noticed here).
 */
const BOUNDS: { bound: string; value: number; phrasings: RegExp[] }[] = [
  {
    bound: "CONTROLS_MAX_AGE_MS (s): a revocation or settings change holds everywhere",
    value: CONTROLS_MAX_AGE_MS / 1000,
    phrasings: [
      /everywhere within (\d+) (?:s|seconds)\b/g,
      /never uses a copy (\d+) s old/g,
      /snapshot at most (\d+) s old/g,
      /within (\d+) s elsewhere/g,
      /copy is\s+(\d+) s old\)/g,
    ],
  },
  {
    bound: "CONTROLS_REFRESH_MS (s)",
    value: CONTROLS_REFRESH_MS / 1000,
    phrasings: [
      /controls at most every (\d+) s/g,
      /isolate at most every (\d+) s/g,
      /at\s+most every (\d+) s \(in the background/g,
    ],
  },
  {
    bound: "MAX_BODY_BYTES (KiB)",
    value: MAX_BODY_BYTES / 1024,
    phrasings: [/accepted\); at most (\d+) KiB/g, /body over (\d+) KiB/g],
  },
  { bound: "EVENT_SEND_DELAY_MS", value: EVENT_SEND_DELAY_MS, phrasings: [/shard sends it about (\d+) ms later/g] },
  { bound: "EVENT_RETRY_MS (s)", value: EVENT_RETRY_MS / 1000, phrasings: [/again (\d+) s later if the queue/g] },
  {
    bound: "LEFT_AFTER_MS (s): the outbox's cron drain",
    value: LEFT_AFTER_MS / 1000,
    phrasings: [/cron once (\d+) s old/g],
  },
  {
    bound: "AUDIT_BATCH_MS default",
    value: defaultOf("AUDIT_BATCH_MS"),
    phrasings: [/`AUDIT_BATCH_MS` \((\d+) ms\)/g],
  },
  {
    bound: "LEDGER_BATCH_MS default",
    value: defaultOf("LEDGER_BATCH_MS"),
    phrasings: [/`LEDGER_BATCH_MS`, (\d+) ms/g],
  },
  { bound: "MAX_DRAIN_MS (s)", value: MAX_DRAIN_MS / 1000, phrasings: [/a drain held at most (\d+) s/g] },
  { bound: "DELIVERY_TIMEOUT_MS (s)", value: DELIVERY_TIMEOUT_MS / 1000, phrasings: [/timeout of (\d+) s/g] },
  { bound: "QR_TTL_SECONDS default", value: defaultOf("QR_TTL_SECONDS"), phrasings: [/\((\d+) s by default\)/g] },
  {
    bound: "AUDIT_RETRY_MAX_DELAY_SECONDS default",
    value: defaultOf("AUDIT_RETRY_MAX_DELAY_SECONDS"),
    phrasings: [/`AUDIT_RETRY_MAX_DELAY_SECONDS` \((\d+)\)/g],
  },
  {
    bound: "OUTAGE_RIDDEN_OUT_SECONDS (minutes)",
    value: OUTAGE_RIDDEN_OUT_SECONDS / 60,
    phrasings: [/(?:more|over) than (\d+) minutes/g, /over (\d+) minutes; then/g],
  },
  { bound: "ATTACK_CHECK_MS (s)", value: ATTACK_CHECK_MS / 1000, phrasings: [/keeper decides every (\d+) s/g] },
  {
    bound: "REFUSAL_REPORT_MS (s)",
    value: REFUSAL_REPORT_MS / 1000,
    phrasings: [/refuse \(at most every (\d+) s each/g],
  },
];

describe("bounds cited in the docs", () => {
  for (const { bound, value, phrasings } of BOUNDS) {
    it(`${bound} = ${value}`, () => {
      for (const phrasing of phrasings) {
        const cited = Object.entries(DOCS).flatMap(([doc, text]) =>
          [...text.matchAll(phrasing)].map((m) => ({ doc, number: Number(m[1]) })),
        );
        expect(cited.length, `${phrasing} cited nowhere`).toBeGreaterThan(0);
        for (const c of cited) expect(c, `${phrasing} in ${c.doc}`).toEqual({ doc: c.doc, number: value });
      }
    });
  }
});
