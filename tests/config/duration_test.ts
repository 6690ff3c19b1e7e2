import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "../../lib/config/mod.ts";

Deno.test("parseDuration reads units and compound durations", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("2s"), 2000);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("1m"), 60_000);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("0"), 0);
  for (const bad of ["", "2", "s", "2 s", "2x", "-1s", "1s2", "ms"]) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
});

Deno.test("formatDuration is the inverse of parseDuration", () => {
  for (
    const ms of [0, 10, 500, 1000, 1500, 60_000, 90_000, 3_600_000, 3_661_000]
  ) {
    assert.equal(parseDuration(formatDuration(ms)), ms, formatDuration(ms));
  }
  assert.equal(formatDuration(90_000), "1m30s");
});
