// The phone: the payload for a typed activation code (no token), as the app would show it.
// Run: QRF_BASE=http://localhost:8787 node clients/typescript/examples/phone.ts <activation code>
import { lookupCode, qrFallbackClient } from "../client.ts";

const client = qrFallbackClient(process.env.QRF_BASE ?? "http://localhost:8787");
const answer = await lookupCode(client, process.argv[2] ?? "");
if ("error" in answer) {
  console.error(`${answer.error.error.code}: ${answer.error.error.message}`);
  process.exit(1);
}
const { type, rpAppId, rpUrl, expiresAt } = answer.payload;
console.log(JSON.stringify({ type, rpAppId, rpUrl, expiresAt: new Date(expiresAt).toISOString() }));
