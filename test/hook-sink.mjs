// Vitest global setup (runs in Node, outside workerd): a real local HTTP sink for event hooks.
// It records every request it receives; `POST /__fail?times=N` makes its next N answers 500.
import { createServer } from "node:http";

/** @param {import("vitest/node").TestProject} project */
export default async function setup(project) {
  /** @type {{ path: string, method: string, headers: Record<string, string>, body: string, status: number }[]} */
  const received = [];
  let failures = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://sink");
      if (url.pathname === "/__received") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(received));
        return;
      }
      if (url.pathname === "/__fail") {
        failures = Number(url.searchParams.get("times") ?? "1");
        res.writeHead(204).end();
        return;
      }
      const status = failures > 0 ? 500 : 200;
      if (failures > 0) failures--;
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      received.push({ path: url.pathname, method: req.method ?? "", headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  project.provide("hookSinkUrl", `http://127.0.0.1:${port}`);
  return () => new Promise((resolve) => server.close(() => resolve(undefined)));
}
