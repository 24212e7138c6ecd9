import { describe, expect, it } from "vitest";
// The doc, as text, bundled into the test (Vite's ?raw import).
import storageDoc from "../docs/storage.md?raw";
import { KV_PREFIXES } from "../src/storage/kv-keys.js";

describe("docs/storage.md", () => {
  it("lists exactly the KV prefixes of src/storage/kv-keys.js", () => {
    const documented = [...storageDoc.matchAll(/^\| `([a-z]+:v\d+:)`/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(Object.values(KV_PREFIXES).sort());
  });
});
