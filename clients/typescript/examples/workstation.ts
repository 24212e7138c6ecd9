// The workstation: a registration QR with an activation code, for the user to type into the app.
// Run: QRF_BASE=http://localhost:8787 QRF_TOKEN=<token with qr:create> node clients/typescript/examples/workstation.ts alice
import { qrFallbackClient } from "../client.ts";

const client = qrFallbackClient(process.env.QRF_BASE ?? "http://localhost:8787", process.env.QRF_TOKEN);
const { data, error } = await client.POST("/rp/versioned/client/qr/create", {
  body: { username: process.argv[2] ?? "alice", includeQRFallbackCode: true },
});
if (error) {
  console.error(`${error.error.code}: ${error.error.message}`);
  process.exit(1);
}
// The QR image encodes data.qrCode; the code goes next to it. Both die at data.expirationTime.
console.log(data.qrFallbackActivationCode);
