import assert from "node:assert/strict";
import {
  formatDuration,
  parseCidr,
  parseDuration,
  parseIpv4,
  parseIpv6,
} from "../../lib/config/mod.ts";

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

Deno.test("address parsing accepts canonical forms only", () => {
  assert.deepEqual([...parseIpv4("192.168.1.100")!], [192, 168, 1, 100]);
  for (
    const bad of ["256.1.1.1", "1.2.3", "01.2.3.4", "a.b.c.d", "1.2.3.4.5"]
  ) assert.equal(parseIpv4(bad), undefined, bad);
  assert.deepEqual([...parseIpv6("fd00::1")!], [
    0xfd,
    0,
    ...new Array(13).fill(0),
    1,
  ]);
  assert.deepEqual([...parseIpv6("::ffff:10.0.0.1")!].slice(10), [
    0xff,
    0xff,
    10,
    0,
    0,
    1,
  ]);
  for (const bad of ["1::2::3", "fd00", "g::1", "1:2:3:4:5:6:7:8:9"]) {
    assert.equal(parseIpv6(bad), undefined, bad);
  }
  assert.deepEqual(parseCidr("10.0.0.1/24")?.prefixLength, 24);
  assert.equal(parseCidr("fd00::1/64")?.family, 6);
  for (const bad of ["10.0.0.1", "10.0.0.1/33", "fd00::1/129", "10.0.0.1/x"]) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
});
