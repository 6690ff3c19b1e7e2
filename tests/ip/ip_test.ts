import assert from "node:assert/strict";
import {
  AddressParseError,
  formatIP,
  formatIPv4,
  formatIPv6,
  formatMac,
  inSubnet,
  isCidr,
  isIPv4,
  isIPv6,
  parseCidr,
  parseIP,
  parseIPv4,
  parseIPv6,
  parseMac,
} from "../../lib/ip/mod.ts";
import { property } from "../sys/_fuzz.ts";

Deno.test("parseIPv4 / formatIPv4 accept dotted quads only", () => {
  assert.deepEqual(parseIPv4("10.0.0.100"), Uint8Array.of(10, 0, 0, 100));
  assert.equal(formatIPv4(Uint8Array.of(192, 168, 1, 255)), "192.168.1.255");
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.0.0.1",
      "01.2.3.4",
      "a.b.c.d",
      "1.2.3.4/24",
      " 1.2.3.4",
    ]
  ) {
    assert.throws(() => parseIPv4(bad), AddressParseError, bad);
  }
});

Deno.test("parseIPv6 handles ::, embedded IPv4 and rejects junk", () => {
  assert.deepEqual(parseIPv6("::"), new Uint8Array(16));
  assert.deepEqual(
    parseIPv6("fd00::1"),
    Uint8Array.of(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
  );
  assert.deepEqual(
    parseIPv6("::ffff:10.0.0.1"),
    Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1),
  );
  assert.equal(formatIPv6(parseIPv6("FF02:0:0:0:0:0:0:1")), "ff02::1");
  assert.equal(
    formatIPv6(parseIPv6("2001:db8:0:0:1:0:0:1")),
    "2001:db8::1:0:0:1",
  );
  assert.equal(
    formatIPv6(parseIPv6("2001:db8:0:1:1:1:1:1")),
    "2001:db8:0:1:1:1:1:1",
  );
  for (
    const bad of [
      "",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "fe80::1%eth0",
      "12345::",
      "1:2:3:4:5:6:7::8",
      "::1.2.3.4:5",
    ]
  ) {
    assert.throws(() => parseIPv6(bad), AddressParseError, bad);
  }
});

Deno.test("IP and MAC text round-trips over random values", () => {
  property("ip round trip", 5000, (prng) => {
    const v4 = prng.bytes(4);
    assert.deepEqual(parseIPv4(formatIPv4(v4)), v4);
    const v6 = prng.bytes(16);
    // Sprinkle zero runs so that '::' compression is exercised.
    for (let i = 0; i < 16; i++) if (prng.chance(0.4)) v6[i] = 0;
    assert.deepEqual(parseIPv6(formatIPv6(v6)), v6);
    assert.deepEqual(parseIP(formatIP(v6)), { family: 6, bytes: v6 });
    assert.deepEqual(parseIP(formatIP(v4)), { family: 4, bytes: v4 });
    const mac = prng.bytes(6);
    assert.deepEqual(parseMac(formatMac(mac)), mac);
  });
});

Deno.test("isIPv4 / isIPv6 answer what the parsers accept", () => {
  assert.equal(isIPv4("192.168.1.100"), true);
  for (
    const bad of ["256.1.1.1", "1.2.3", "01.2.3.4", "a.b.c.d", "1.2.3.4.5"]
  ) assert.equal(isIPv4(bad), false, bad);
  assert.equal(isIPv6("fd00::1"), true);
  assert.equal(isIPv6("::ffff:10.0.0.1"), true);
  for (const bad of ["1::2::3", "fd00", "g::1", "1:2:3:4:5:6:7:8:9"]) {
    assert.equal(isIPv6(bad), false, bad);
  }
});

Deno.test("parseCidr needs a prefix length within the family's range", () => {
  const v4 = parseCidr("10.0.0.1/24");
  assert.deepEqual(v4, {
    address: "10.0.0.1",
    bytes: Uint8Array.of(10, 0, 0, 1),
    prefixLength: 24,
    family: 4,
  });
  assert.equal(parseCidr("fd00::1/64").family, 6);
  assert.equal(parseCidr("fd00::1/128").prefixLength, 128);
  for (
    const bad of [
      "10.0.0.1",
      "10.0.0.1/33",
      "fd00::1/129",
      "10.0.0.1/x",
      "10.0.0.1/",
      "10.0.0.1/0024",
      "300.0.0.1/24",
    ]
  ) {
    assert.throws(() => parseCidr(bad), AddressParseError, bad);
    assert.equal(isCidr(bad), false, bad);
  }
});

Deno.test("inSubnet compares the first prefixLength bits", () => {
  const a = parseIPv4("10.0.0.1");
  assert.equal(inSubnet(a, parseIPv4("10.0.0.200"), 24), true);
  assert.equal(inSubnet(a, parseIPv4("10.0.1.1"), 24), false);
  assert.equal(inSubnet(a, parseIPv4("10.0.1.1"), 23), true);
  assert.equal(inSubnet(a, parseIPv4("10.0.0.0"), 31), true);
  assert.equal(inSubnet(a, parseIPv4("10.0.0.0"), 32), false);
  assert.equal(inSubnet(a, parseIPv4("99.0.0.0"), 0), true);
  assert.equal(inSubnet(a, parseIPv6("::1"), 0), false, "families differ");
});
