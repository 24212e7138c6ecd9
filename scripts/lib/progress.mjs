// What a long command is doing and about how long it has left (issue #31): on a terminal one status
// line at the bottom, redrawn each second, with the command's own output printed above it; elsewhere
// (a pipe, CI) one plain line as each step starts. Estimates are each step's expected seconds, scaled
// by how the finished steps compared with theirs.

/** "1 min 05 s", "40 s". */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s` : `${s} s`;
}

/**
 * Seconds left: the current step's expected rest and the steps after it, each scaled by the finished
 * steps' actual / expected (1 before any has finished, in full once they are a quarter of the
 * expected whole). Pure, for the tests.
 * @param {{ expected: number, actual?: number }[]} steps in order; `actual` set once finished
 * @param {number} current index of the running step
 * @param {number} elapsedInCurrent seconds
 */
export function secondsLeft(steps, current, elapsedInCurrent) {
  const done = steps.filter((s) => typeof s.actual === "number");
  const expectedDone = done.reduce((a, s) => a + s.expected, 0);
  const expectedAll = steps.reduce((a, s) => a + s.expected, 0);
  const ratio = expectedDone > 0 ? done.reduce((a, s) => a + s.actual, 0) / expectedDone : 1;
  // One short step says little: its ratio counts fully once a quarter of the expected time is done.
  const weight = expectedAll > 0 ? Math.min(1, expectedDone / (0.25 * expectedAll)) : 1;
  const scale = 1 + (ratio - 1) * weight;
  const here = steps[current] ? Math.max(0, steps[current].expected * scale - elapsedInCurrent) : 0;
  return here + steps.slice(current + 1).reduce((a, s) => a + s.expected * scale, 0);
}

export class Progress {
  /**
   * @param {{ name: string, steps: { key: string, expected: number }[], stream?: NodeJS.WriteStream }} options
   */
  constructor({ name, steps, stream = process.stderr }) {
    this.name = name;
    this.steps = steps.map((s) => ({ ...s }));
    this.stream = stream;
    this.tty = Boolean(stream.isTTY) && !process.env.CI;
    this.current = -1;
    this.startedAt = Date.now();
    this.stepAt = Date.now();
    this.detail = "";
    this.shown = false;
    if (this.tty) this.hookOutput();
  }

  /** Starts step `key` (steps not in the list are added at the end with `expected` seconds). */
  start(key, expected = 0) {
    this.finishCurrent();
    let i = this.steps.findIndex((s) => s.key === key && s.actual === undefined);
    if (i < 0) {
      this.steps.push({ key, expected });
      i = this.steps.length - 1;
    }
    this.current = i;
    this.stepAt = Date.now();
    this.detail = "";
    if (this.tty) {
      this.timer ??= setInterval(() => this.draw(), 1000);
      this.timer.unref?.();
      this.draw();
    } else {
      this.write(`${this.line()}\n`);
    }
  }

  /** A short note on the status line (a terminal only: plain output stays one line per step). */
  note(detail) {
    this.detail = detail;
    if (this.tty) this.draw();
  }

  /** Ends the display; returns each finished step's seconds. */
  end() {
    this.finishCurrent();
    this.current = -1;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
    this.unhook?.();
    return Object.fromEntries(
      this.steps.filter((s) => s.actual !== undefined).map((s) => [s.key, +s.actual.toFixed(1)]),
    );
  }

  finishCurrent() {
    if (this.current >= 0 && this.steps[this.current].actual === undefined)
      this.steps[this.current].actual = (Date.now() - this.stepAt) / 1000;
  }

  line() {
    const n = this.steps.length;
    const step = this.steps[this.current];
    const left = secondsLeft(this.steps, this.current, (Date.now() - this.stepAt) / 1000);
    const elapsed = duration((Date.now() - this.startedAt) / 1000);
    return `[${this.name} ${this.current + 1}/${n}] ${step.key}${this.detail ? ` (${this.detail})` : ""}: ${elapsed} in, about ${duration(left)} left`;
  }

  draw() {
    if (this.current < 0) return;
    const width = this.stream.columns ? this.stream.columns - 1 : 120;
    this.raw(`\r\x1b[2K${this.line().slice(0, width)}`);
    this.shown = true;
  }

  clear() {
    if (this.shown) this.raw("\r\x1b[2K");
    this.shown = false;
  }

  write(text) {
    this.raw(text);
  }

  /** On a terminal, whatever else is printed goes above the status line, which is then drawn again. */
  hookOutput() {
    const streams = [process.stdout, process.stderr];
    const originals = streams.map((s) => s.write.bind(s));
    this.raw = (text) => originals[1](text);
    streams.forEach((s, i) => {
      s.write = (chunk, ...rest) => {
        const wasShown = this.shown;
        this.clear();
        const ok = originals[i](chunk, ...rest);
        if (wasShown && this.current >= 0 && String(chunk).endsWith("\n")) this.draw();
        return ok;
      };
    });
    this.unhook = () =>
      streams.forEach((s, i) => {
        s.write = originals[i];
      });
  }

  raw(text) {
    this.stream.write(text);
  }
}

/** A plain table: a header row and aligned columns (numbers to the right). */
export function table(header, rows) {
  const cells = [header, ...rows].map((r) => r.map((c) => String(c ?? "")));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const numeric = header.map((_, i) => rows.every((r) => r[i] === "" || r[i] == null || !Number.isNaN(Number(r[i]))));
  const fmt = (r) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [fmt(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(fmt)].join("\n");
}
