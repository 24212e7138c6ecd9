// A redemption and its retrieval event are one durable fact: the claim's shard stores the event in
// the step that redeems the code and sends it itself. Here the isolate "stops right after answering":
// its own audit hand-off never happens (the queue binding it was given drops every send), as when the
// runtime is stopped between the answer and the send.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRegistration, lookup, mintToken, waitForTrail } from "./helpers";

/** The real queue binding, whose sends from this isolate never leave it. */
const droppingQueue = new Proxy(env.AUDIT_QUEUE, {
  get: (target, key) => (key === "send" || key === "sendBatch" ? async () => {} : Reflect.get(target, key)),
});

describe("retrieval events are durable at the source", () => {
  it("every lookup answered 200 has its retrieval event though the isolate's hand-off is lost", async () => {
    const token = await mintToken("DurableApp");
    const served: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { json } = await createRegistration(token);
      const code = json.qrFallbackActivationCode as string;
      const res = await lookup(code, `203.0.113.${40 + i}`, { env: { ...env, AUDIT_QUEUE: droppingQueue } });
      expect(res.status).toBe(200);
      served.push(code);
    }
    const rows = await waitForTrail(
      (r) => r.filter((e) => e.rpAppId === "DurableApp" && e.eventName === "QR_FALLBACK_PAYLOAD_RETRIEVED").length >= 6,
    );
    const issued = rows.filter((e) => e.rpAppId === "DurableApp" && e.eventName === "QR_FALLBACK_CODE_ISSUED");
    const retrieved = rows.filter((e) => e.rpAppId === "DurableApp" && e.eventName === "QR_FALLBACK_PAYLOAD_RETRIEVED");
    // One success per redeemed code, correlated with its issuance, none twice.
    expect(retrieved).toHaveLength(6);
    expect(retrieved.every((e) => e.isSuccessful && e.subName === "device/pendingqr")).toBe(true);
    expect(new Set(retrieved.map((e) => e.additionalDetails.extras.fallbackId))).toEqual(
      new Set(issued.map((e) => e.additionalDetails.extras.fallbackId)),
    );
    expect(retrieved.map((e) => e.remoteIP)).toEqual(served.map(() => "203.0.113.0"));
    // The codes are used up: the redemption happened with the event, not without it.
    for (const code of served) expect((await lookup(code, "203.0.113.99")).status).toBe(400);
  });
});
