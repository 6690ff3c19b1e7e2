import { AddressParseError, formatIPv4, formatMac } from "../../lib/ip/mod.ts";
import assert from "node:assert/strict";
import {
  ARP_REPLY,
  ARP_REQUEST,
  ArpDecodeError,
  type ArpPacket,
  decodeArp,
  encodeArp,
  gratuitousReply,
  gratuitousRequest,
} from "../../lib/arp/_codec.ts";
import { fuzzDecoder, property } from "../sys/_fuzz.ts";

// Gratuitous ARP, request form: "who has 10.0.0.100? tell 10.0.0.100".
// deno-fmt-ignore
const GARP_REQUEST = Uint8Array.of(
  0x00, 0x01,                         // htype Ethernet
  0x08, 0x00,                         // ptype IPv4
  0x06,                               // hlen
  0x04,                               // plen
  0x00, 0x01,                         // op request
  0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, // sha 02:00:00:00:00:0a
  0x0a, 0x00, 0x00, 0x64,             // spa 10.0.0.100
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // tha unknown
  0x0a, 0x00, 0x00, 0x64,             // tpa 10.0.0.100 (= spa)
);

// Gratuitous ARP, reply form: "10.0.0.100 is at 02:00:00:00:00:0a".
// deno-fmt-ignore
const GARP_REPLY = Uint8Array.of(
  0x00, 0x01,                         // htype Ethernet
  0x08, 0x00,                         // ptype IPv4
  0x06,                               // hlen
  0x04,                               // plen
  0x00, 0x02,                         // op reply
  0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, // sha 02:00:00:00:00:0a
  0x0a, 0x00, 0x00, 0x64,             // spa 10.0.0.100
  0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, // tha = sha (Linux needs this within locktime)
  0x0a, 0x00, 0x00, 0x64,             // tpa 10.0.0.100
);

const MAC = "02:00:00:00:00:0a";
const VIP = "10.0.0.100";

Deno.test("gratuitous request form matches the fixture", () => {
  const p = gratuitousRequest(MAC, VIP);
  assert.deepEqual(p, {
    operation: ARP_REQUEST,
    senderMac: MAC,
    senderIp: VIP,
    targetMac: "00:00:00:00:00:00",
    targetIp: VIP,
  });
  assert.deepEqual(encodeArp(p), GARP_REQUEST);
  assert.deepEqual(decodeArp(GARP_REQUEST), p);
});

Deno.test("gratuitous reply form matches the fixture", () => {
  const p = gratuitousReply(
    Uint8Array.of(2, 0, 0, 0, 0, 0x0a),
    Uint8Array.of(10, 0, 0, 100),
  );
  assert.equal(p.operation, ARP_REPLY);
  assert.equal(p.targetMac, p.senderMac);
  assert.deepEqual(encodeArp(p), GARP_REPLY);
  assert.deepEqual(decodeArp(GARP_REPLY), p);
});

Deno.test("decodeArp ignores Ethernet padding and rejects other ARP kinds", () => {
  const padded = new Uint8Array(46);
  padded.set(GARP_REPLY);
  assert.deepEqual(decodeArp(padded), decodeArp(GARP_REPLY));
  const cases: Array<[number, number, RegExp]> = [
    [1, 6, /hardware type 6/], // IEEE 802
    [2, 0x86, /protocol type 0x86dd/], // IPv6 over ARP does not exist
    [4, 8, /hardware length 8/],
    [5, 16, /protocol length 16/],
  ];
  for (const [offset, value, msg] of cases) {
    const b = GARP_REQUEST.slice();
    b[offset] = value;
    if (offset === 2) b[3] = 0xdd;
    assert.throws(
      () => decodeArp(b),
      (e: unknown) => e instanceof ArpDecodeError && msg.test(e.message),
    );
  }
  assert.throws(() => decodeArp(GARP_REQUEST.subarray(0, 27)), ArpDecodeError);
});

Deno.test("encodeArp and the helpers refuse bad addresses", () => {
  assert.throws(
    () => gratuitousRequest("02:00:00:00:00", VIP),
    AddressParseError,
  );
  assert.throws(() => gratuitousRequest(MAC, "10.0.0.256"), AddressParseError);
  assert.throws(
    () => gratuitousReply(new Uint8Array(5), VIP),
    AddressParseError,
  );
  assert.throws(
    () => encodeArp({ ...gratuitousReply(MAC, VIP), operation: 70000 }),
    RangeError,
  );
});

Deno.test("decodeArp(encodeArp(x)) == x over random packets", () => {
  property("arp round trip", 5000, (prng) => {
    const p: ArpPacket = {
      operation: prng.int(0, 0xffff),
      senderMac: formatMac(prng.bytes(6)),
      senderIp: formatIPv4(prng.bytes(4)),
      targetMac: formatMac(prng.bytes(6)),
      targetIp: formatIPv4(prng.bytes(4)),
    };
    assert.deepEqual(decodeArp(encodeArp(p)), p);
  });
});

Deno.test("fuzz: decodeArp returns a packet or throws ArpDecodeError", () => {
  const s = fuzzDecoder("decodeArp", decodeArp, ArpDecodeError, [
    GARP_REQUEST,
    GARP_REPLY,
  ], 30_000);
  assert.ok(s.decoded > 0 && s.rejected > 0, JSON.stringify(s));
});
