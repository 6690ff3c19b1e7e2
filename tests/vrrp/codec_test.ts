import assert from "node:assert/strict";
import {
  type Advertisement,
  decodeAdvertisement,
  encodeAdvertisement,
  parseIpv4Packet,
  verifyChecksum,
  vrrpChecksum,
  VrrpDecodeError,
} from "../../lib/vrrp/mod.ts";
import {
  hex,
  internetChecksum,
  ip,
  ipv4Datagram,
  prng,
  randInt,
  vrrpMessage,
} from "./_support.ts";

// Captured with tcpdump from keepalived v2.2.7 (Debian), `version 3`,
// virtual_router_id 51, priority 150, advert_int 1, VIPs 10.99.0.100 and
// 10.99.0.101, on a veth between two namespaces (10.99.0.11 -> .12).
// The Ethernet header is cut off: this is what a raw socket receives.
const KEEPALIVED_MULTICAST = Uint8Array.from([
  // IPv4 header
  0x45, // version 4, IHL 5 (20 bytes)
  0xc0, // TOS: internetwork control (keepalived's choice)
  0x00,
  0x24, // total length 36 = 20 + 16
  0x00,
  0x01, // identification
  0x00,
  0x00, // flags, fragment offset
  0xff, // TTL 255 (RFC 5798 §5.1.1.3)
  0x70, // protocol 112 (VRRP)
  0xd0,
  0x28, // IPv4 header checksum
  0x0a,
  0x63,
  0x00,
  0x0b, // source 10.99.0.11 (the master's primary IP)
  0xe0,
  0x00,
  0x00,
  0x12, // destination 224.0.0.18
  // VRRP message
  0x31, // version 3, type 1 (advertisement)
  0x33, // VRID 51
  0x96, // priority 150
  0x02, // count IPv4 addresses: 2
  0x00,
  0x64, // rsvd 0, max advert interval 100 centiseconds
  0x37,
  0xd6, // checksum over pseudo-header + message
  0x0a,
  0x63,
  0x00,
  0x64, // 10.99.0.100
  0x0a,
  0x63,
  0x00,
  0x65, // 10.99.0.101
]);

// The same keepalived stopping: its priority-0 advertisement.
const KEEPALIVED_MULTICAST_PRIO0 = hex(
  "45c0 0024 0002 0000 ff70 d027 0a63 000b e000 0012" + // IPv4, id 2
    "3133 0002 0064 cdd6 0a63 0064 0a63 0065", // prio 0, checksum 0xcdd6
);

// keepalived with `unicast_src_ip 10.99.0.11; unicast_peer { 10.99.0.12 }`:
// same message, but the pseudo-header destination is the peer, so the
// checksum differs (0x0d7a vs 0x37d6 for multicast).
const KEEPALIVED_UNICAST = hex(
  "45c0 0024 0001 0000 ff70 a5cc 0a63 000b 0a63 000c" + // 10.99.0.11 > .12
    "3133 9602 0064 0d7a 0a63 0064 0a63 0065",
);
const KEEPALIVED_UNICAST_PRIO0 = hex(
  "45c0 0024 0002 0000 ff70 a5cb 0a63 000b 0a63 000c" +
    "3133 0002 0064 a37a 0a63 0064 0a63 0065",
);

const KEEPALIVED_ADVERT: Advertisement = {
  vrid: 51,
  priority: 150,
  maxAdvertIntervalCs: 100,
  addresses: ["10.99.0.100", "10.99.0.101"],
};

Deno.test("parseIpv4Packet reads a keepalived packet's header", () => {
  const p = parseIpv4Packet(KEEPALIVED_MULTICAST);
  assert.equal(p.headerLength, 20);
  assert.equal(p.totalLength, 36);
  assert.equal(p.tos, 0xc0);
  assert.equal(p.ttl, 255);
  assert.equal(p.protocol, 112);
  assert.equal(p.src, "10.99.0.11");
  assert.equal(p.dst, "224.0.0.18");
  assert.deepEqual(p.payload, KEEPALIVED_MULTICAST.subarray(20));
});

Deno.test("decode reads keepalived's multicast advertisement", () => {
  const vrrp = KEEPALIVED_MULTICAST.subarray(20);
  assert.deepEqual(decodeAdvertisement(vrrp), {
    ...KEEPALIVED_ADVERT,
    checksum: 0x37d6,
  });
  assert.ok(verifyChecksum(vrrp, "10.99.0.11", "224.0.0.18"));
  // The pseudo-header matters: the same bytes fail as unicast or as v2.
  assert.ok(!verifyChecksum(vrrp, "10.99.0.11", "10.99.0.12"));
  assert.notEqual(internetChecksum([[...vrrp]]), 0);
});

Deno.test("encode reproduces keepalived's packets byte for byte", () => {
  const cases = [
    [KEEPALIVED_MULTICAST, 150, "224.0.0.18"],
    [KEEPALIVED_MULTICAST_PRIO0, 0, "224.0.0.18"],
    [KEEPALIVED_UNICAST, 150, "10.99.0.12"],
    [KEEPALIVED_UNICAST_PRIO0, 0, "10.99.0.12"],
  ] as const;
  for (const [packet, priority, dst] of cases) {
    const got = encodeAdvertisement(
      { ...KEEPALIVED_ADVERT, priority },
      { src: "10.99.0.11", dst },
    );
    assert.deepEqual(
      got,
      packet.subarray(20),
      `priority ${priority} to ${dst}`,
    );
    assert.ok(verifyChecksum(packet.subarray(20), "10.99.0.11", dst));
  }
});

Deno.test("vrrpChecksum matches an independent RFC 1071 implementation", () => {
  const rand = prng(5798);
  for (let i = 0; i < 300; i++) {
    const addresses = Array.from(
      { length: randInt(rand, 6) },
      () =>
        `${randInt(rand, 256)}.${randInt(rand, 256)}.0.${randInt(rand, 256)}`,
    );
    const fields = {
      vrid: 1 + randInt(rand, 255),
      priority: randInt(rand, 256),
      intervalCs: 1 + randInt(rand, 4095),
      addresses,
      src: `10.${randInt(rand, 256)}.${randInt(rand, 256)}.${
        randInt(rand, 256)
      }`,
      dst: rand() < 0.5 ? "224.0.0.18" : `192.168.${randInt(rand, 256)}.7`,
    };
    const want = Uint8Array.from(vrrpMessage(fields));
    const got = encodeAdvertisement({
      vrid: fields.vrid,
      priority: fields.priority,
      maxAdvertIntervalCs: fields.intervalCs,
      addresses,
    }, fields);
    assert.deepEqual(got, want);
    const zeroed = got.slice();
    zeroed[6] = zeroed[7] = 0;
    assert.equal(vrrpChecksum(zeroed, fields), (got[6] << 8) | got[7]);
  }
});

Deno.test("decode(encode(x)) == x for random advertisements", () => {
  const rand = prng(112);
  for (let i = 0; i < 500; i++) {
    const adv: Advertisement = {
      vrid: 1 + randInt(rand, 255),
      priority: randInt(rand, 256),
      maxAdvertIntervalCs: 1 + randInt(rand, 4095),
      addresses: Array.from(
        { length: randInt(rand, 20) },
        () => Array.from({ length: 4 }, () => randInt(rand, 256)).join("."),
      ),
    };
    const addrs = { src: "10.0.0.1", dst: "224.0.0.18" };
    const bytes = encodeAdvertisement(adv, addrs);
    const { checksum, ...decoded } = decodeAdvertisement(bytes);
    assert.deepEqual(decoded, adv);
    assert.equal(checksum, (bytes[6] << 8) | bytes[7]);
    assert.ok(verifyChecksum(bytes, addrs.src, addrs.dst));
  }
});

Deno.test("decode ignores the reserved bits before the interval", () => {
  const msg = vrrpMessage({
    vrid: 7,
    priority: 90,
    intervalCs: 0xfff,
    addresses: ["10.0.0.100"],
    src: "10.0.0.1",
    dst: "224.0.0.18",
  });
  msg[4] |= 0xf0; // rsvd: "MUST be ignored by receivers"
  assert.equal(
    decodeAdvertisement(Uint8Array.from(msg)).maxAdvertIntervalCs,
    0xfff,
  );
});

Deno.test("encode rejects out-of-range fields with a RangeError", () => {
  const ok: Advertisement = {
    vrid: 1,
    priority: 100,
    maxAdvertIntervalCs: 100,
    addresses: ["10.0.0.100"],
  };
  const addrs = { src: "10.0.0.1", dst: "224.0.0.18" };
  for (
    const bad of [
      { vrid: 0 },
      { vrid: 256 },
      { priority: -1 },
      { priority: 256 },
      { maxAdvertIntervalCs: 0 },
      { maxAdvertIntervalCs: 4096 },
      { maxAdvertIntervalCs: 1.5 },
      { addresses: Array(256).fill("10.0.0.1") },
    ]
  ) {
    assert.throws(
      () => encodeAdvertisement({ ...ok, ...bad }, addrs),
      RangeError,
      JSON.stringify(bad).slice(0, 40),
    );
  }
});

function decodeReason(bytes: Uint8Array): string {
  try {
    decodeAdvertisement(bytes);
    return "ok";
  } catch (err) {
    assert.ok(err instanceof VrrpDecodeError, String(err));
    return err.reason;
  }
}

Deno.test("decode errors are typed with a reason", () => {
  const good = KEEPALIVED_MULTICAST.slice(20);
  assert.equal(decodeReason(good), "ok");
  assert.equal(decodeReason(good.subarray(0, 7)), "truncated");
  assert.equal(decodeReason(good.subarray(0, 15)), "truncated");
  assert.equal(decodeReason(Uint8Array.from([...good, 0, 0, 0, 0])), "length");
  const v2 = good.slice();
  v2[0] = 0x21;
  assert.equal(decodeReason(v2), "version");
  const type2 = good.slice();
  type2[0] = 0x32;
  assert.equal(decodeReason(type2), "type");
});

Deno.test("parseIpv4Packet skips IP options and cuts at total length", () => {
  const payload = vrrpMessage({
    vrid: 51,
    priority: 100,
    intervalCs: 100,
    addresses: ["10.0.0.100"],
    src: "10.0.0.11",
    dst: "224.0.0.18",
  });
  // IHL 6: one 4-byte option (router alert, RFC 2113), then the payload.
  const dgram = ipv4Datagram({
    src: "10.0.0.11",
    dst: "224.0.0.18",
    options: [0x94, 0x04, 0x00, 0x00],
    payload,
  });
  const padded = Uint8Array.from([...dgram, 0xee, 0xee]); // trailing junk
  const p = parseIpv4Packet(padded);
  assert.equal(p.headerLength, 24);
  assert.deepEqual([...p.payload], payload);
});

Deno.test("parseIpv4Packet errors are typed with a reason", () => {
  const reason = (b: Uint8Array) => {
    try {
      parseIpv4Packet(b);
      return "ok";
    } catch (err) {
      assert.ok(err instanceof VrrpDecodeError);
      return err.reason;
    }
  };
  const good = KEEPALIVED_MULTICAST;
  assert.equal(reason(good), "ok");
  assert.equal(reason(good.subarray(0, 19)), "truncated");
  assert.equal(reason(good.subarray(0, 35)), "truncated"); // total length 36
  const v6 = good.slice();
  v6[0] = 0x65;
  assert.equal(reason(v6), "ip_header");
  const ihl4 = good.slice();
  ihl4[0] = 0x44;
  assert.equal(reason(ihl4), "ip_header");
  const short = good.slice();
  short[3] = 16; // total length below the header length
  assert.equal(reason(short), "ip_header");
});

Deno.test("fuzz: decoders give a value or a VrrpDecodeError, never hang", () => {
  const rand = prng(0x5798);
  const packets = [
    KEEPALIVED_MULTICAST,
    KEEPALIVED_UNICAST,
    KEEPALIVED_MULTICAST_PRIO0,
  ];
  const decoders = [
    { f: parseIpv4Packet, seeds: packets },
    { f: decodeAdvertisement, seeds: packets.map((p) => p.subarray(20)) },
  ];
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 20000; i++) {
    const { f, seeds } = decoders[i % 2];
    let bytes: Uint8Array;
    const mode = randInt(rand, 3);
    if (mode === 0) {
      // Random bytes.
      bytes = Uint8Array.from(
        { length: randInt(rand, 80) },
        () => randInt(rand, 256),
      );
    } else {
      // A real packet, truncated, and (mode 2) with a few bytes changed.
      const seed = seeds[randInt(rand, seeds.length)];
      bytes = seed.slice(0, randInt(rand, seed.length + 1));
      if (mode === 2) {
        for (let k = randInt(rand, 4); k >= 0 && bytes.length > 0; k--) {
          bytes[randInt(rand, bytes.length)] = randInt(rand, 256);
        }
      }
    }
    let key = "ok";
    try {
      f(bytes);
    } catch (err) {
      if (!(err instanceof VrrpDecodeError)) {
        throw new Error(`${f.name}([${bytes}]) threw ${err}`);
      }
      key = err.reason;
    }
    key = `${f.name}:${key}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  // The fuzzer reached the interesting outcomes, not only "truncated".
  for (
    const k of [
      "parseIpv4Packet:ok",
      "parseIpv4Packet:truncated",
      "parseIpv4Packet:ip_header",
      "decodeAdvertisement:ok",
      "decodeAdvertisement:truncated",
      "decodeAdvertisement:version",
      "decodeAdvertisement:type",
      "decodeAdvertisement:length",
    ]
  ) {
    assert.ok((outcomes.get(k) ?? 0) > 0, `${k} never happened`);
  }
});

Deno.test("test helpers agree with the capture (sanity of the independent builder)", () => {
  const built = ipv4Datagram({
    src: "10.99.0.11",
    dst: "224.0.0.18",
    payload: vrrpMessage({
      vrid: 51,
      priority: 150,
      intervalCs: 100,
      addresses: ["10.99.0.100", "10.99.0.101"],
      src: "10.99.0.11",
      dst: "224.0.0.18",
    }),
  });
  // Identical but for nothing: same id (1), TOS, TTL, so same IP checksum.
  assert.deepEqual(built, KEEPALIVED_MULTICAST);
  assert.deepEqual(ip("10.99.0.11"), [10, 99, 0, 11]);
});
