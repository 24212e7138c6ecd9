// Long commands' progress (scripts/lib/progress.mjs, issue #31): the time-left estimate and the table.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { duration, Progress, secondsLeft, table } from "../../scripts/lib/progress.mjs";

test("time left: the rest of this step and the next, scaled by how the finished steps went", () => {
  const steps = [{ expected: 20 }, { expected: 20 }, { expected: 40 }];
  assert.equal(secondsLeft(steps, 0, 4), 16 + 20 + 40);
  steps[0].actual = 40; // twice as slow as expected, and a quarter of the whole: counts fully
  assert.equal(secondsLeft(steps, 1, 10), 40 - 10 + 80);
  assert.equal(secondsLeft(steps, 1, 100), 80); // a step over its estimate counts as ending now
  // A short first step moves the estimate only by its share of a quarter of the whole.
  const short = [{ expected: 5, actual: 10 }, { expected: 95 }];
  assert.equal(secondsLeft(short, 1, 0), 95 * (1 + 1 * (5 / 25)));
  assert.equal(duration(65), "1 min 05 s");
  assert.equal(duration(9.6), "10 s");
});

test("not a terminal: one plain line as each step starts, nothing redrawn", () => {
  const stream = Object.assign(new PassThrough(), { isTTY: false });
  let out = "";
  stream.on("data", (d) => {
    out += d;
  });
  const p = new Progress({
    name: "t",
    steps: [
      { key: "one", expected: 1 },
      { key: "two", expected: 1 },
    ],
    stream,
  });
  p.start("one");
  p.note("ignored off a terminal");
  p.start("two");
  const laps = p.end();
  assert.deepEqual(Object.keys(laps), ["one", "two"]);
  const lines = out.trim().split("\n");
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^\[t 1\/2\] one: 0 s in, about 2 s left$/);
  assert.ok(!out.includes("\r"));
});

test("a table aligns its columns, numbers to the right", () => {
  assert.equal(
    table(
      ["a", "n"],
      [
        ["x", 1],
        ["yy", 10],
      ],
    ),
    "a    n\n--  --\nx    1\nyy  10",
  );
});
