// A line chart as a standalone SVG (no DOM, no fonts to load): series over x, optional horizontal
// reference lines, and shaded x-ranges. Used by the tools that measure (attack-sim, sim:scale).

const esc = (s) => String(s).replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700"];

/**
 * @param {{ title: string, xLabel: string, yLabel: string, width?: number, height?: number,
 *   series: { name: string, points: [number, number][] }[],
 *   lines?: { name: string, y: number }[], shaded?: { name: string, ranges: [number, number][] } }} chart
 */
export function lineChart({ title, xLabel, yLabel, width = 720, height = 320, series, lines = [], shaded }) {
  const m = { left: 56, right: 16, top: 36, bottom: 64 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...lines.map((l) => l.y)];
  const xMax = Math.max(1, ...xs);
  const yMax = niceMax(Math.max(1, ...ys));
  const X = (x) => m.left + (x / xMax) * (width - m.left - m.right);
  const Y = (y) => height - m.bottom - (y / yMax) * (height - m.top - m.bottom);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  for (const [a, b] of shaded?.ranges ?? []) {
    out.push(
      `<rect x="${X(a)}" y="${m.top}" width="${Math.max(1, X(b) - X(a))}" height="${height - m.top - m.bottom}" fill="#fff1e5"/>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${Y(y)}" y2="${Y(y)}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 6}" y="${Y(y) + 4}" text-anchor="end">${+y.toFixed(1)}</text>`);
  }
  for (let i = 0; i <= 6; i++) {
    const x = (xMax * i) / 6;
    out.push(`<text x="${X(x)}" y="${height - m.bottom + 16}" text-anchor="middle">${Math.round(x)}</text>`);
  }
  out.push(`<text x="${width / 2}" y="${height - m.bottom + 32}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(
    `<text transform="translate(14 ${(height - m.bottom + m.top) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  for (const l of lines) {
    out.push(
      `<line x1="${m.left}" x2="${width - m.right}" y1="${Y(l.y)}" y2="${Y(l.y)}" stroke="#57606a" stroke-dasharray="6 4"/>`,
    );
  }
  series.forEach((s, i) => {
    const d = s.points.map(([x, y], k) => `${k ? "L" : "M"}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join("");
    out.push(`<path d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/>`);
  });
  const legend = [
    ...series.map((s, i) => ({
      name: s.name,
      swatch: `<rect width="14" height="3" y="-4" fill="${COLORS[i % COLORS.length]}"/>`,
    })),
    ...lines.map((l) => ({
      name: l.name,
      swatch: `<line x2="14" y1="-3" y2="-3" stroke="#57606a" stroke-dasharray="4 2"/>`,
    })),
    ...(shaded
      ? [{ name: shaded.name, swatch: `<rect width="14" height="10" y="-9" fill="#fff1e5" stroke="#e0c0a0"/>` }]
      : []),
  ];
  let lx = m.left;
  for (const item of legend) {
    out.push(`<g transform="translate(${lx} ${height - 12})">${item.swatch}<text x="18">${esc(item.name)}</text></g>`);
    lx += 28 + item.name.length * 6.5;
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const k of [1, 2, 2.5, 5, 10]) if (k * p >= v) return k * p;
  return 10 * p;
}

/** The sum over the last `windowS` seconds at each second: a per-second series as "per minute". */
export function rolling(perSecond, windowS = 60) {
  let sum = 0;
  return perSecond.map((v, i) => {
    sum += v - (i >= windowS ? perSecond[i - windowS] : 0);
    return sum;
  });
}

/** The [start, end] second ranges where a per-second series is non-zero. */
export function rangesOf(perSecond) {
  const ranges = [];
  let start = -1;
  perSecond.forEach((v, i) => {
    if (v > 0 && start < 0) start = i;
    if (v === 0 && start >= 0) {
      ranges.push([start, i]);
      start = -1;
    }
  });
  if (start >= 0) ranges.push([start, perSecond.length]);
  return ranges;
}
