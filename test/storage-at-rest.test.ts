import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createRegistration, mintToken } from "./helpers";

/** Everything KV holds, keys, values and metadata, as text. */
async function dumpKv(): Promise<string> {
  const { keys } = await env.QR_KV.list();
  const parts: string[] = [];
  for (const key of keys) {
    const value = await env.QR_KV.get(key.name, "arrayBuffer");
    parts.push(
      key.name,
      JSON.stringify(key.metadata ?? null),
      new TextDecoder("latin1").decode(value ?? new ArrayBuffer(0)),
    );
  }
  return parts.join("\n");
}

describe("what KV holds at rest", () => {
  it("holds no activation code, pin, payload, username or token in clear", async () => {
    const token = await mintToken("AtRestApp");
    const reg = await createRegistration(token, { username: "alice-at-rest" });
    const authRes = await call("POST", "/rp/api/oob/qr/client/authentication/requests", {
      token,
      body: { namedUser: "bob-at-rest", machineId: "machine-at-rest", includeQRFallbackCode: true },
    });
    const auth = (await authRes.json()) as { activationCode: string; response: { qrCode: string } };
    const dump = await dumpKv();
    const secrets = [
      reg.json.qrFallbackActivationCode as string,
      JSON.parse(reg.json.qrCode).pin,
      JSON.parse(reg.json.qrCode).sessionId,
      auth.activationCode,
      JSON.parse(auth.response.qrCode).pin,
      "alice-at-rest",
      "bob-at-rest",
      "machine-at-rest",
      token,
    ];
    expect(dump.length).toBeGreaterThan(0);
    for (const s of secrets) expect(dump).not.toContain(s);
    expect(dump).toContain("pending:v1:");
    expect(dump).toContain("token:v1:");
  });
});
