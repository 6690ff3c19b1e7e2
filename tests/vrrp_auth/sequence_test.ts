import assert from "node:assert/strict";
import {
  nextSequence,
  sequenceAgeSeconds,
  sequenceAt,
  sequenceSeconds,
  serialGreater,
} from "../../lib/vrrp_auth/mod.ts";
import { property } from "../sys/_fuzz.ts";

Deno.test("sequenceAt: seconds << 32 | 1/65536 fraction << 16 | 0", () => {
  // keepalived's first captured advert: 1796006507.74386 s -> 6b0ce26b be6d 0000
  assert.equal(sequenceAt(1796006507_743.86), 0x6b0ce26b_be6d_0000n);
  assert.equal(sequenceAt(1796006507_999.99), 0x6b0ce26b_ffff_0000n);
  assert.equal(sequenceAt(0), 0n);
  assert.equal(sequenceSeconds(sequenceAt(1_500)), 1.5);
});

Deno.test("nextSequence grows even when the clock does not", () => {
  const t = 1796006507_000;
  const a = nextSequence(null, t);
  assert.equal(a, sequenceAt(t));
  const b = nextSequence(a, t); // same tick
  assert.equal(b, a + 1n);
  const c = nextSequence(b, t - 60_000); // clock stepped back a minute
  assert.equal(c, b + 1n);
  const d = nextSequence(c, t + 1000); // clock moves on again
  assert.equal(d, sequenceAt(t + 1000));
  // Wraps at 2^64 and stays "greater" in serial arithmetic.
  const top = (1n << 64n) - 1n;
  assert.equal(nextSequence(top, 0), 0n);
  assert.ok(serialGreater(0n, top));
});

Deno.test("serialGreater follows RFC 1982 for 64-bit numbers", () => {
  const half = 1n << 63n;
  assert.ok(serialGreater(1n, 0n));
  assert.ok(!serialGreater(0n, 1n));
  assert.ok(!serialGreater(5n, 5n));
  assert.ok(serialGreater(half - 1n, 0n));
  // Exactly 2^63 apart is undefined in RFC 1982: never "greater" here.
  assert.ok(!serialGreater(half, 0n));
  assert.ok(!serialGreater(0n, half));
  assert.ok(serialGreater(0n, half + 1n));
  property("serial antisymmetry", 2000, (prng) => {
    const a = (BigInt(prng.u32()) << 32n) | BigInt(prng.u32());
    const d = BigInt(prng.int(1, 2 ** 31));
    const b = (a + d) & ((1n << 64n) - 1n);
    assert.ok(serialGreater(b, a));
    assert.ok(!serialGreater(a, b));
  });
});

Deno.test("sequenceAgeSeconds is signed and crosses the 2106 wrap", () => {
  const t = 1796006507_000;
  assert.equal(sequenceAgeSeconds(sequenceAt(t), t), 0);
  assert.equal(sequenceAgeSeconds(sequenceAt(t - 10_000), t), 10);
  assert.equal(sequenceAgeSeconds(sequenceAt(t + 10_000), t), -10);
  // Just after the 32-bit seconds wrap, a sequence from just before it.
  const wrap = 2 ** 32 * 1000;
  const before = 0xffff_fffen << 32n;
  assert.equal(sequenceAgeSeconds(before, wrap + 1000), 3);
});
