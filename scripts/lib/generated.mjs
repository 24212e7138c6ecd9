// Text the tools generate into committed files (docs tables, config sections), and the formatter pass
// that keeps `npm run lint` green on what they wrote.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` in a doc: a table the tools generate. */
export function replaceGenerated(text, name, generated) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`no ${start} ... ${end} in the document`);
  return `${text.slice(0, i + start.length)}\n${generated.trim()}\n${text.slice(j)}`;
}

/** Puts a generated table into a doc between its markers, formatted as the project's formatter (Biome) wants. */
export function writeGenerated(docPath, name, generated) {
  writeFileSync(docPath, replaceGenerated(readFileSync(docPath, "utf8"), name, generated));
  formatWithBiome(docPath);
}

/** Formats a file the tools wrote as the project's formatter wants it (so `npm run lint` stays green). */
export function formatWithBiome(filePath) {
  const biome = createRequire(import.meta.url).resolve("@biomejs/biome/bin/biome");
  spawnSync(process.execPath, [biome, "format", "--write", filePath], { stdio: "ignore" });
}

/** `text` formatted as Biome would format it at `filePath`. */
export function formatText(text, filePath) {
  const biome = createRequire(import.meta.url).resolve("@biomejs/biome/bin/biome");
  const out = spawnSync(process.execPath, [biome, "format", `--stdin-file-path=${filePath}`], {
    input: text,
    encoding: "utf8",
  });
  if (out.status !== 0) throw new Error(`biome could not format ${filePath}:\n${out.stderr}`);
  return out.stdout;
}
