import { describe, expect, it } from "vitest";
import { KV_PREFIXES } from "../common/kv-keys.js";
// The doc, as text, bundled into the test (Vite's ?raw import).
import storageDoc from "../docs/storage.md?raw";

describe("docs/storage.md", () => {
  it("lists exactly the KV prefixes of common/kv-keys.js", () => {
    const documented = [...storageDoc.matchAll(/^\| `([a-z]+:v\d+:)`/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(Object.values(KV_PREFIXES).sort());
  });
});
