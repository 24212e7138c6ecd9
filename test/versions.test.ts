import { describe, expect, it } from "vitest";
import changelog from "../CHANGELOG.md?raw";
import packageJson from "../package.json";
import { call } from "./helpers";

describe("one version everywhere", () => {
  it("package.json, the CHANGELOG's latest entry and the OpenAPI document agree", async () => {
    const latest = /^## (\d+\.\d+\.\d+)/m.exec(changelog)?.[1];
    expect(latest).toBe(packageJson.version);
    const doc = (await (await call("GET", "/openapi.json")).json()) as { info: { version: string } };
    expect(doc.info.version).toBe(packageJson.version);
  });
});
