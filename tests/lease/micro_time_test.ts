import assert from "node:assert/strict";
import {
  formatMicroTime,
  microsFromMs,
  MicroTimeError,
  parseMicroTime,
} from "../../lib/lease/mod.ts";
import { prng } from "../vrrp/_support.ts";

// 2026-11-30T12:00:00Z = 1796040000 s since the epoch (independently:
// 20,787 days × 86,400 s + 12 h).
const NOON = 1796040000_000000;

Deno.test("format: six fractional digits in UTC, where toISOString gives three", () => {
  assert.equal(20787 * 86400 + 12 * 3600, 1796040000);
  assert.equal(formatMicroTime(NOON + 123456), "2026-11-30T12:00:00.123456Z");
  assert.equal(formatMicroTime(NOON), "2026-11-30T12:00:00.000000Z");
  assert.equal(formatMicroTime(NOON + 1), "2026-11-30T12:00:00.000001Z");
  assert.equal(formatMicroTime(NOON - 1), "2026-11-30T11:59:59.999999Z");
  assert.equal(formatMicroTime(0), "1970-01-01T00:00:00.000000Z");
  assert.equal(formatMicroTime(-1), "1969-12-31T23:59:59.999999Z");
  assert.equal(new Date(NOON / 1000).toISOString(), "2026-11-30T12:00:00.000Z");
  assert.equal(
    formatMicroTime(microsFromMs(1.5)),
    "1970-01-01T00:00:00.001500Z",
  );
});

Deno.test("format: out-of-range and fractional inputs throw", () => {
  for (
    const bad of [0.5, NaN, Infinity, 253402300800000000, -62167219200000001]
  ) {
    assert.throws(() => formatMicroTime(bad), RangeError);
  }
});

Deno.test("parse: what the API server and other clients write", () => {
  assert.equal(parseMicroTime("2026-11-30T12:00:00.123456Z"), NOON + 123456);
  assert.equal(parseMicroTime("2026-11-30T12:00:00Z"), NOON);
  assert.equal(parseMicroTime("2026-11-30T12:00:00.1Z"), NOON + 100000);
  // Go truncates beyond microseconds.
  assert.equal(parseMicroTime("2026-11-30T12:00:00.123456789Z"), NOON + 123456);
  assert.equal(parseMicroTime("2026-11-30T13:30:00.000001+01:30"), NOON + 1);
  assert.equal(parseMicroTime("2026-11-30T10:00:00-02:00"), NOON);
  assert.equal(parseMicroTime("2026-11-30t12:00:00z"), NOON);
});

Deno.test("parse strict: exactly six digits, as the API server's MicroTime", () => {
  assert.equal(
    parseMicroTime("2026-11-30T12:00:00.123456Z", { strict: true }),
    NOON + 123456,
  );
  for (const three of ["2026-11-30T12:00:00.123Z", "2026-11-30T12:00:00Z"]) {
    assert.throws(
      () => parseMicroTime(three, { strict: true }),
      /fractional digits; a MicroTime has exactly six/,
    );
  }
});

Deno.test("parse: invalid text is a MicroTimeError naming the text", () => {
  const bad = [
    "",
    "2026-11-30",
    "2026-11-30 12:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-02-29T00:00:00Z", // not a leap year
    "2026-11-31T00:00:00Z",
    "2026-11-30T24:00:00Z",
    "2026-11-30T12:60:00Z",
    "2026-11-30T12:00:60Z",
    "2026-11-30T12:00:00.Z",
    "2026-11-30T12:00:00.1234567890Z",
    "2026-11-30T12:00:00+25:00",
    "2026-11-30T12:00:00",
  ];
  for (const text of bad) {
    assert.throws(() => parseMicroTime(text), (err: unknown) => {
      assert.ok(err instanceof MicroTimeError, text);
      assert.ok(
        err.message.includes(JSON.stringify(text).slice(0, 20)),
        err.message,
      );
      return true;
    });
  }
  assert.equal(parseMicroTime("2024-02-29T00:00:00Z") > 0, true);
});

Deno.test("round trip: format then parse gives the same microseconds", () => {
  const rand = prng(11);
  for (let i = 0; i < 2000; i++) {
    const us = Math.floor((rand() * 2 - 0.5) * 4e15);
    assert.equal(parseMicroTime(formatMicroTime(us), { strict: true }), us);
  }
});

Deno.test("fuzz: random and mangled text never throws anything but MicroTimeError", () => {
  const rand = prng(5);
  const alphabet = "0123456789-:.TZz+ ";
  const good = formatMicroTime(NOON);
  for (let i = 0; i < 5000; i++) {
    let text: string;
    if (i % 2 === 0) {
      text = Array.from(
        { length: Math.floor(rand() * 40) },
        () => alphabet[Math.floor(rand() * alphabet.length)],
      ).join("");
    } else {
      const chars = [...good];
      chars[Math.floor(rand() * chars.length)] =
        alphabet[Math.floor(rand() * alphabet.length)];
      text = chars.join("").slice(0, Math.floor(rand() * 30) + 10);
    }
    try {
      const us = parseMicroTime(text);
      assert.ok(Number.isSafeInteger(us), text);
    } catch (err) {
      assert.ok(err instanceof MicroTimeError, `${text}: ${err}`);
    }
  }
});
