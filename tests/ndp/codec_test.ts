import { AddressParseError, formatIPv6, formatMac } from "../../lib/ip/mod.ts";
import assert from "node:assert/strict";
import {
  decodeNeighborAdvertisement,
  encodeNeighborAdvertisement,
  NdpDecodeError,
  type NeighborAdvertisement,
  unsolicitedAdvertisement,
} from "../../lib/ndp/_codec.ts";
import { fuzzDecoder, property } from "../sys/_fuzz.ts";

// Unsolicited NA: fd00::100 is at 02:00:00:00:00:0a (override).
// deno-fmt-ignore
const UNSOLICITED_NA = Uint8Array.of(
  0x88,                   // ICMPv6 type 136: neighbour advertisement
  0x00,                   // code 0
  0x00, 0x00,             // checksum: left to the kernel
  0x20, 0x00, 0x00, 0x00, // flags: R=0 S=0 O=1, reserved 0
  0xfd, 0x00, 0x00, 0x00, // target fd00::100 ...
  0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x01, 0x00, // ... (end of target)
  0x02,                   // option type 2: target link-layer address
  0x01,                   // option length 1 (x 8 bytes)
  0x02, 0x00, 0x00, 0x00, // 02:00:00:00:00:0a
  0x00, 0x0a,
);

Deno.test("the unsolicited NA matches the fixture", () => {
  const na = unsolicitedAdvertisement("fd00:0::100", "02:00:00:00:00:0A");
  assert.deepEqual(na, {
    router: false,
    solicited: false,
    override: true,
    target: "fd00::100",
    targetMac: "02:00:00:00:00:0a",
  });
  assert.deepEqual(encodeNeighborAdvertisement(na), UNSOLICITED_NA);
  assert.deepEqual(decodeNeighborAdvertisement(UNSOLICITED_NA), na);
});

Deno.test("decoding skips unknown options and enforces RFC 4861 checks", () => {
  // An unknown option (type 14, 16 bytes) before the TLLA option.
  const withNonce = new Uint8Array(UNSOLICITED_NA.length + 16);
  withNonce.set(UNSOLICITED_NA.subarray(0, 24));
  withNonce.set([14, 2], 24);
  withNonce.set(UNSOLICITED_NA.subarray(24), 40);
  assert.equal(
    decodeNeighborAdvertisement(withNonce).targetMac,
    "02:00:00:00:00:0a",
  );
  // No options at all.
  const bare = decodeNeighborAdvertisement(UNSOLICITED_NA.subarray(0, 24));
  assert.equal(bare.targetMac, undefined);

  const mutate = (i: number, v: number) => {
    const b = UNSOLICITED_NA.slice();
    b[i] = v;
    return b;
  };
  assert.throws(() => decodeNeighborAdvertisement(mutate(0, 135)), /type 135/);
  assert.throws(() => decodeNeighborAdvertisement(mutate(1, 1)), /code 1/);
  assert.throws(
    () => decodeNeighborAdvertisement(mutate(8, 0xff)),
    /multicast/,
  );
  assert.throws(
    () => decodeNeighborAdvertisement(mutate(25, 0)),
    /option length 0/,
  );
  assert.throws(() => decodeNeighborAdvertisement(mutate(25, 2)), /exceeds/);
  assert.throws(
    () => decodeNeighborAdvertisement(UNSOLICITED_NA.subarray(0, 23)),
    NdpDecodeError,
  );
  assert.throws(
    () => decodeNeighborAdvertisement(UNSOLICITED_NA.subarray(0, 25)),
    /truncated/,
  );
});

Deno.test("encoding refuses bad input", () => {
  assert.throws(
    () => unsolicitedAdvertisement("ff02::1", "02:00:00:00:00:0a"),
    AddressParseError,
  );
  assert.throws(
    () => unsolicitedAdvertisement("10.0.0.1", "02:00:00:00:00:0a"),
    AddressParseError,
  );
  assert.throws(
    () => unsolicitedAdvertisement("fd00::1", new Uint8Array(8)),
    AddressParseError,
  );
  assert.throws(
    () =>
      encodeNeighborAdvertisement({
        router: false,
        solicited: false,
        override: true,
        target: "ff02::1",
      }),
    AddressParseError,
  );
});

Deno.test("decode(encode(x)) == x over random advertisements", () => {
  property("na round trip", 5000, (prng) => {
    const target = prng.bytes(16);
    if (target[0] === 0xff) target[0] = 0xfe;
    for (let i = 0; i < 16; i++) if (prng.chance(0.3)) target[i] = 0;
    const na: NeighborAdvertisement = {
      router: prng.chance(0.5),
      solicited: prng.chance(0.5),
      override: prng.chance(0.5),
      target: formatIPv6(target),
    };
    if (prng.chance(0.7)) na.targetMac = formatMac(prng.bytes(6));
    assert.deepEqual(
      decodeNeighborAdvertisement(encodeNeighborAdvertisement(na)),
      na,
    );
  });
});

Deno.test("fuzz: decodeNeighborAdvertisement returns a value or throws NdpDecodeError", () => {
  const s = fuzzDecoder(
    "decodeNeighborAdvertisement",
    decodeNeighborAdvertisement,
    NdpDecodeError,
    [UNSOLICITED_NA, UNSOLICITED_NA.subarray(0, 24)],
    30_000,
  );
  assert.ok(s.decoded > 0 && s.rejected > 0, JSON.stringify(s));
});
