// The budgets' history (issue #30): a full run records each budgeted figure under the project's
// version in bench/results/history.json (committed; a version's later run replaces its figures, a
// BENCH_ONLY run only those it took) and renders two pictures next to it: every budget's figure per
// version against its limit, and the geo model's p50 per region against its floor. A quick run
// (`npm run bench:quick`) touches neither.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { root } from "../../scripts/wrangler.mjs";

export const HISTORY = path.join(root, "bench/results/history.json");
export const BUDGETS_SVG = path.join(root, "bench/results/budgets.svg");
export const GEO_SVG = path.join(root, "bench/results/geo-p50.svg");

/** Each budget's short key, the limit's direction and value, from the names the bench prints. */
export const KEYS = [
  ["hit", /^lookup hit: service/, ">=", 0.9],
  ["miss", /^lookup miss: service/, ">=", 0.9],
  ["create", /^create with fallback code: service/, ">=", 0.9],
  ["pending", /^lookup mean latency with/, "<=", 1.1],
  ["search first", /^search first page/, "<=", 1.5],
  ["search deep", /^search page 10|^search deep/, "<=", 1.5],
  ["consumer", /^consumer batched/, ">=", 10],
  ["upload KiB", /^main Worker upload/, "<=", 64],
  ["edge hit", /^edge model lookupHit/, "<=", 1.1],
  ["edge miss", /^edge model lookupMiss/, "<=", 1.1],
  ["edge create", /^edge model create/, "<=", 1.1],
  ["geo lookup", /^geo model lookup/, "<=", 1.25],
  ["busiest peak", /^busiest Durable Object rps, peak100/, "<=", 500],
  ["busiest attack", /^busiest Durable Object rps, attack10k/, "<=", 500],
  ["cost", /^cost per million/, "<=", 1.3],
];

const keyOf = (name) => KEYS.find(([, re]) => re.test(name))?.[0] ?? null;

export function readHistory() {
  return existsSync(HISTORY) ? JSON.parse(readFileSync(HISTORY, "utf8")) : { versions: [] };
}

/** Records this run's budgets under the package version (merged into that version's entry) and renders the pictures. */
export function recordHistory(budgets, geoModel) {
  const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  let commit = null;
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  } catch {}
  const history = readHistory();
  let entry = history.versions.find((v) => v.version === version);
  if (!entry) {
    entry = { version, figures: {} };
    history.versions.push(entry);
  }
  Object.assign(entry, { commit, at: new Date().toISOString().slice(0, 10), source: "npm run bench" });
  for (const b of budgets) {
    const key = keyOf(b.name);
    if (key) entry.figures[key] = Number(b.figure);
  }
  writeFileSync(HISTORY, `${JSON.stringify(history, null, 2)}\n`);
  writeFileSync(BUDGETS_SVG, budgetsChart(history));
  if (geoModel) writeFileSync(GEO_SVG, geoChart(geoModel));
}

const esc = (s) => String(s).replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
const BLUE = "#1f6feb";
const RED = "#d1242f";
const GREY = "#8c959f";

/** Small multiples: one panel per budget, its figure per version (red when missed) and its limit dashed. */
export function budgetsChart(history) {
  const versions = history.versions.map((v) => v.version);
  const cols = 5;
  const pw = 200;
  const ph = 130;
  const rows = Math.ceil(KEYS.length / cols);
  const width = cols * pw + 20;
  const height = rows * ph + 50;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`,
    "<title>Each budget's figure per version against its limit (npm run bench)</title>",
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">Each budget per version (dashed: the limit; red: missed)</text>`,
  ];
  KEYS.forEach(([key, , dir, limit], k) => {
    const x0 = 10 + (k % cols) * pw;
    const y0 = 34 + Math.floor(k / cols) * ph;
    const m = { left: 36, right: 18, top: 16, bottom: 26 };
    const points = history.versions.map((v, i) => [i, v.figures[key]]).filter(([, y]) => typeof y === "number");
    const ys = [limit, ...points.map(([, y]) => y)];
    const lo = Math.min(...ys) * 0.9;
    const hi = Math.max(...ys) * 1.05;
    const X = (i) => x0 + m.left + (versions.length < 2 ? 0.5 : i / (versions.length - 1)) * (pw - m.left - m.right);
    const Y = (y) => y0 + ph - m.bottom - ((y - lo) / (hi - lo || 1)) * (ph - m.top - m.bottom);
    out.push(
      `<text x="${x0 + pw / 2}" y="${y0 + 10}" text-anchor="middle" font-size="11">${esc(`${key} (${dir} ${limit})`)}</text>`,
    );
    out.push(
      `<line x1="${x0 + m.left}" x2="${x0 + pw - m.right}" y1="${Y(limit)}" y2="${Y(limit)}" stroke="${GREY}" stroke-dasharray="4 3"/>`,
    );
    for (const y of [lo, hi])
      out.push(`<text x="${x0 + m.left - 3}" y="${Y(y) + 3}" text-anchor="end">${+y.toPrecision(3)}</text>`);
    versions.forEach((v, i) => {
      if (i === 0 || i === versions.length - 1 || versions.length <= 6)
        out.push(`<text x="${X(i)}" y="${y0 + ph - m.bottom + 12}" text-anchor="middle">${esc(v)}</text>`);
    });
    if (points.length > 1)
      out.push(
        `<polyline fill="none" stroke="${BLUE}" points="${points.map(([i, y]) => `${X(i)},${Y(y)}`).join(" ")}"/>`,
      );
    for (const [i, y] of points) {
      const ok = dir === ">=" ? y >= limit : y <= limit;
      out.push(
        `<circle cx="${X(i)}" cy="${Y(y)}" r="3" fill="${ok ? BLUE : RED}"><title>${esc(`${versions[i]}: ${y}`)}</title></circle>`,
      );
    }
    if (points.length === 0)
      out.push(`<text x="${x0 + pw / 2}" y="${y0 + ph / 2}" text-anchor="middle" fill="${GREY}">not yet run</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

/** Grouped bars per region: the floor, after, before (lookup p50, ms). */
export function geoChart(geoModel) {
  const regions = Object.keys(geoModel.regions);
  const series = [
    ["floor", GREY, (r) => r.lookup.floorP50Ms],
    ["after (placement)", BLUE, (r) => r.lookup.p50Ms],
    ["before (all in enam)", RED, (r) => r.lookup.before.p50Ms],
  ];
  const width = 760;
  const height = 320;
  const m = { left: 50, right: 16, top: 50, bottom: 40 };
  const max = Math.max(...regions.flatMap((name) => series.map(([, , f]) => f(geoModel.regions[name]))));
  const yMax = Math.ceil(max / 100) * 100;
  const Y = (y) => height - m.bottom - (y / yMax) * (height - m.top - m.bottom);
  const group = (width - m.left - m.right) / regions.length;
  const bar = (group - 10) / series.length;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    "<title>Geo model: lookup p50 per region against its floor, before and after placement</title>",
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">Lookup p50 per region (ms): floor, after and before placement</text>`,
  ];
  series.forEach(([name, color], i) => {
    out.push(`<rect x="${m.left + i * 170}" y="28" width="10" height="10" fill="${color}"/>`);
    out.push(`<text x="${m.left + i * 170 + 14}" y="37">${esc(name)}</text>`);
  });
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${Y(y)}" y2="${Y(y)}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 6}" y="${Y(y) + 4}" text-anchor="end">${y}</text>`);
  }
  regions.forEach((name, g) => {
    const x0 = m.left + g * group + 5;
    series.forEach(([label, color, f], i) => {
      const v = f(geoModel.regions[name]);
      out.push(
        `<rect x="${x0 + i * bar}" y="${Y(v)}" width="${bar - 1}" height="${Y(0) - Y(v)}" fill="${color}"><title>${esc(`${name} ${label}: ${v} ms`)}</title></rect>`,
      );
    });
    out.push(`<text x="${x0 + group / 2 - 5}" y="${height - m.bottom + 14}" text-anchor="middle">${esc(name)}</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
