import assert from "node:assert/strict";
import {
  compareAddresses,
  decodeAdvertisement,
  DROP_REASONS,
  encodeAdvertisement,
  receiveDatagram,
  type ReceivedPacket,
  splitAdvertisement,
  type ValidateOptions,
  validatePacket,
  type ValidateResult,
  verifyChecksum,
  VrrpDecodeError,
} from "../../lib/vrrp/mod.ts";
import { ipPacketOf, parsePcap } from "../../testing/mod.ts";
import { Driver, hex, prng, randInt, vrrpMessage6 } from "./_support.ts";

// keepalived 2.2.7 over IPv6, captured for this test (see vectors/README.md):
// the IPv6 header is what the kernel strips for a raw AF_INET6 socket; it is
// kept here to show where the source, destination and hop limit come from.
const KEEPALIVED_V6_MULTICAST = hex(
  // IPv6 header (40)
  "6c04 2bf9" + // version 6, traffic class 0xc0, flow label 0x42bf9
    "0028" + // payload length 40
    "70" + // next header 112 (VRRP)
    "ff" + // hop limit 255
    "fe80 0000 0000 0000 0000 0aff fe63 000b" + // src fe80::aff:fe63:b (EUI-64)
    "ff02 0000 0000 0000 0000 0000 0000 0012" + // dst ff02::12
    // VRRP message (40)
    "31" + // version 3, type 1
    "33" + // VRID 51
    "96" + // priority 150
    "02" + // two IPv6 addresses
    "0064" + // max advert interval 100 cs
    "3395" + // checksum over the RFC 2460 pseudo-header and the message
    "fd00 0099 0000 0000 0000 0000 0000 0100" + // fd00:99::100
    "fd00 0099 0000 0000 0000 0000 0000 0101", // fd00:99::101
);

const VECTORS = new URL("./vectors/", import.meta.url);

async function capture(name: string) {
  const pcap = parsePcap(
    await Deno.readFile(new URL(`keepalived-2.2.7-ipv6-${name}.pcap`, VECTORS)),
  );
  return pcap.frames.map((f) => ipPacketOf(pcap.linkType, f.data));
}

/** What a raw AF_INET6 socket and recvmsg make of an IPv6 packet. */
function received(ipv6: Uint8Array): ReceivedPacket {
  const fmt = (b: Uint8Array) =>
    Array.from(
      { length: 8 },
      (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16),
    ).join(":");
  return {
    src: fmt(ipv6.subarray(8, 24)),
    dst: fmt(ipv6.subarray(24, 40)),
    ttl: ipv6[7],
    protocol: ipv6[6],
    payload: ipv6.subarray(40, 40 + ((ipv6[4] << 8) | ipv6[5])),
  };
}

const V6: ValidateOptions = {
  vrid: 51,
  addresses: ["fd00:99::101", "fd00:99:0::100"], // any order, any spelling
  primaryIp: "fe80::a:12",
};

const dropOf = (r: ValidateResult) => r.ok ? "ok" : r.drop;

Deno.test("the annotated IPv6 fixture is the multicast capture's first packet", async () => {
  const [first] = await capture("multicast");
  assert.deepEqual(first, KEEPALIVED_V6_MULTICAST);
});

Deno.test("decode reads keepalived's IPv6 adverts; checksums verify", async () => {
  for (const name of ["multicast", "unicast", "unicast-ttl255"]) {
    const packets = await capture(name);
    assert.equal(packets.length, 5, name);
    packets.forEach((p, i) => {
      const r = received(p);
      const adv = decodeAdvertisement(r.payload, 6);
      assert.deepEqual(adv.addresses, ["fd00:99::100", "fd00:99::101"]);
      assert.equal(adv.vrid, 51);
      assert.equal(adv.priority, i === 4 ? 0 : 150, `${name} #${i}`);
      assert.equal(adv.maxAdvertIntervalCs, 100);
      assert.ok(verifyChecksum(r.payload, r.src, r.dst), `${name} #${i}`);
    });
  }
});

Deno.test("encode reproduces keepalived's IPv6 messages byte for byte", async () => {
  for (
    const [name, src, dst] of [
      ["multicast", "fe80::aff:fe63:b", "ff02::12"],
      ["unicast", "fe80::a:11", "fe80::a:12"],
    ]
  ) {
    const packets = await capture(name);
    for (const [i, priority] of [[0, 150], [4, 0]]) {
      const got = encodeAdvertisement({
        vrid: 51,
        priority,
        maxAdvertIntervalCs: 100,
        addresses: ["fd00:99::100", "fd00:99::101"],
      }, { src, dst });
      assert.deepEqual(
        got,
        received(packets[i]).payload,
        `${name} ${priority}`,
      );
    }
  }
});

Deno.test("IPv6 checksum agrees with an independent RFC 2460 implementation", () => {
  const rand = prng(2460);
  for (let i = 0; i < 200; i++) {
    const addresses = Array.from(
      { length: randInt(rand, 5) },
      () =>
        `fd00:${randInt(rand, 0xffff).toString(16)}::${
          randInt(rand, 0xffff).toString(16)
        }`,
    );
    const f = {
      vrid: 1 + randInt(rand, 255),
      priority: randInt(rand, 256),
      intervalCs: 1 + randInt(rand, 4095),
      addresses,
      src: `fe80::${randInt(rand, 0xffff).toString(16)}:${
        randInt(rand, 0xffff).toString(16)
      }`,
      dst: rand() < 0.5 ? "ff02::12" : "fe80::1",
    };
    const want = Uint8Array.from(vrrpMessage6(f));
    const got = encodeAdvertisement({
      vrid: f.vrid,
      priority: f.priority,
      maxAdvertIntervalCs: f.intervalCs,
      addresses,
    }, f);
    assert.deepEqual(got, want);
    const { checksum: _, ...decoded } = decodeAdvertisement(got, 6);
    assert.equal(decoded.addresses.length, addresses.length);
  }
});

Deno.test("a virtual router carries one family", () => {
  assert.throws(
    () =>
      encodeAdvertisement({
        vrid: 51,
        priority: 100,
        maxAdvertIntervalCs: 100,
        addresses: ["10.0.0.100"],
      }, { src: "fe80::1", dst: "ff02::12" }),
    /not IPv6/,
  );
  assert.throws(
    () =>
      encodeAdvertisement({
        vrid: 51,
        priority: 100,
        maxAdvertIntervalCs: 100,
        addresses: [],
      }, { src: "10.0.0.1", dst: "ff02::12" }),
    /different families/,
  );
  // An IPv4 reader sees an IPv6 advert's extra bytes as "length"; an IPv6
  // reader sees an IPv4 advert with two addresses as truncated.
  const v6 = encodeAdvertisement({
    vrid: 51,
    priority: 100,
    maxAdvertIntervalCs: 100,
    addresses: ["fd00::1"],
  }, { src: "fe80::1", dst: "ff02::12" });
  assert.throws(
    () => decodeAdvertisement(v6, 4),
    (e: unknown) => e instanceof VrrpDecodeError && e.reason === "length",
  );
  const v4 = encodeAdvertisement({
    vrid: 51,
    priority: 100,
    maxAdvertIntervalCs: 100,
    addresses: ["10.0.0.1", "10.0.0.2"],
  }, { src: "10.0.0.11", dst: "224.0.0.18" });
  assert.throws(
    () => decodeAdvertisement(v4, 6),
    (e: unknown) => e instanceof VrrpDecodeError && e.reason === "truncated",
  );
});

Deno.test("IPv6 validation: keepalived's adverts pass, hop limit and link-local checked", async () => {
  const [multicast] = await capture("multicast");
  const r = validatePacket(received(multicast), V6);
  assert.ok(r.ok);
  assert.equal(r.src, "fe80::aff:fe63:b");
  assert.equal(r.advertisement.priority, 150);

  // keepalived 2.2.7 sends IPv6 unicast with hop limit 64 by default: dropped
  // (RFC 5798 §7.1) unless it sets unicast_ttl 255.
  const [uni64] = await capture("unicast");
  const [uni255] = await capture("unicast-ttl255");
  const peers = { ...V6, allowedSources: ["fe80::a:11"] };
  const low = validatePacket(received(uni64), peers);
  assert.equal(dropOf(low), "ttl");
  assert.match((low as { detail: string }).detail, /hop limit 64/);
  assert.ok(validatePacket(received(uni255), peers).ok);
  assert.equal(
    dropOf(
      validatePacket(received(uni255), {
        ...V6,
        allowedSources: ["fe80::a:13"],
      }),
    ),
    "source",
  );

  // A global source is refused even with a right checksum.
  const msg = vrrpMessage6({
    vrid: 51,
    priority: 200,
    intervalCs: 100,
    addresses: ["fd00:99::100", "fd00:99::101"],
    src: "fd00:99::66",
    dst: "ff02::12",
  });
  const global: ReceivedPacket = {
    src: "fd00:99::66",
    dst: "ff02::12",
    ttl: 255,
    protocol: 112,
    payload: Uint8Array.from(msg),
  };
  assert.equal(dropOf(validatePacket(global, V6)), "not_link_local");

  // Our own link-local source, in any spelling.
  const own = received(multicast);
  assert.equal(
    dropOf(validatePacket(own, { ...V6, primaryIp: "FE80:0::aff:fe63:b" })),
    "own",
  );
  // Wrong destination in the pseudo-header (a unicast copy): checksum.
  assert.equal(
    dropOf(validatePacket({ ...own, dst: "fe80::a:12" }, V6)),
    "checksum",
  );
  // An IPv4 packet on an IPv6 virtual router is refused outright.
  assert.equal(
    dropOf(validatePacket({ ...own, src: "10.0.0.1" }, V6)),
    "ip_header",
  );
});

Deno.test("IPv6 tie-break: the greater link-local address wins", () => {
  assert.ok(compareAddresses("fe80::a:12", "fe80::a:11") > 0);
  assert.ok(compareAddresses("fe80::1:0", "fe80::ffff") > 0);
  assert.ok(compareAddresses("fe80::1", "fe80::0:1") === 0);
  assert.ok(compareAddresses("10.0.0.2", "10.0.0.10") < 0);
  // The machine: a master at equal priority yields to a higher address only.
  const d = new Driver({ primaryIp: "fe80::a:11" });
  d.at(0, { type: "startup" });
  d.advance(4000);
  assert.equal(d.state.phase, "master");
  // (A lower master is answered at most once per interval: wait one.)
  const lower = d.at(5000, {
    type: "advertisement",
    src: "fe80::a:10",
    priority: 100,
    maxAdvertIntervalCs: 100,
  });
  assert.equal(d.state.phase, "master");
  assert.ok(lower.some((a) => a.type === "send"));
  d.at(5100, {
    type: "advertisement",
    src: "fe80::a:12",
    priority: 100,
    maxAdvertIntervalCs: 100,
  });
  assert.equal(d.state.phase, "backup");
  assert.equal(d.state.master, "fe80::a:12");
});

Deno.test("receiveDatagram steps the machine with an IPv6 packet", async () => {
  const [multicast] = await capture("multicast");
  const d = new Driver({ primaryIp: "fe80::a:12", priority: 100 });
  d.at(0, { type: "startup" });
  const r = receiveDatagram(d.state, {
    datagram: received(multicast),
    nowMs: 100,
    validation: V6,
  });
  assert.equal(r.drop, null);
  assert.equal(r.state.master, "fe80::aff:fe63:b");
  assert.notEqual(r.state.masterDownAt, d.state.masterDownAt);
});

Deno.test("splitAdvertisement hands back the bytes after the addresses", () => {
  const v6 = vrrpMessage6({
    vrid: 51,
    priority: 100,
    intervalCs: 100,
    addresses: ["fd00::1"],
    src: "fe80::1",
    dst: "ff02::12",
  });
  const s = splitAdvertisement(Uint8Array.from([...v6, 1, 2, 3]), 6);
  assert.equal(s.pdu.length, 24);
  assert.deepEqual([...s.trailer], [1, 2, 3]);
});

Deno.test("fuzz: IPv6 validation never throws, only drops with a known reason", async () => {
  const rand = prng(0x6006);
  const known = new Set<string>(DROP_REASONS);
  const seeds = (await capture("multicast")).map(received);
  for (let i = 0; i < 20000; i++) {
    const seed = seeds[randInt(rand, seeds.length)];
    let payload = seed.payload.slice(
      0,
      i % 3 === 0
        ? randInt(rand, seed.payload.length + 20)
        : seed.payload.length,
    );
    if (i % 5 === 0) {
      payload = Uint8Array.from(
        { length: randInt(rand, 80) },
        () => randInt(rand, 256),
      );
    }
    for (let k = randInt(rand, 3); k >= 0 && payload.length > 0; k--) {
      payload[randInt(rand, payload.length)] ^= 1 << randInt(rand, 8);
    }
    const pkt = {
      ...seed,
      payload,
      ttl: i % 7 === 0 ? randInt(rand, 256) : 255,
    };
    const r = validatePacket(pkt, V6);
    if (!r.ok) assert.ok(known.has(r.drop), r.drop);
  }
});
