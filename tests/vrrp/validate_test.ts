import assert from "node:assert/strict";
import {
  DROP_REASONS,
  isSilentDrop,
  validateAdvertisement,
  type ValidateOptions,
  type ValidateResult,
} from "../../lib/vrrp/mod.ts";
import {
  advertDatagram,
  hex,
  ipv4Datagram,
  prng,
  randInt,
  vrrpMessage,
} from "./_support.ts";

const OPTS: ValidateOptions = {
  vrid: 51,
  addresses: ["10.0.0.100"],
  primaryIp: "10.0.0.10",
};

function dropOf(r: ValidateResult): string {
  return r.ok ? "ok" : r.drop;
}

Deno.test("a valid advertisement is accepted with its source", () => {
  const r = validateAdvertisement(advertDatagram({ priority: 120 }), OPTS);
  assert.ok(r.ok);
  assert.equal(r.src, "10.0.0.11");
  assert.equal(r.dst, "224.0.0.18");
  assert.equal(r.advertisement.priority, 120);
  assert.equal(r.advertisement.maxAdvertIntervalCs, 100);
  assert.equal(r.oldUnicastChecksum, false);
});

Deno.test("a real keepalived packet passes validation", () => {
  // From codec_test: keepalived v2.2.7, VRID 51, priority 150, two VIPs.
  const pkt = hex(
    "45c0 0024 0001 0000 ff70 d028 0a63 000b e000 0012" +
      "3133 9602 0064 37d6 0a63 0064 0a63 0065",
  );
  const r = validateAdvertisement(pkt, {
    vrid: 51,
    addresses: ["10.99.0.101", "10.99.0.100"], // order does not matter
    primaryIp: "10.99.0.12",
  });
  assert.ok(r.ok);
  assert.equal(r.advertisement.priority, 150);
});

Deno.test("drop: ttl other than 255", () => {
  const r = validateAdvertisement(advertDatagram({ ttl: 254 }), OPTS);
  assert.equal(dropOf(r), "ttl");
  assert.ok(!r.ok && r.detail.includes("TTL 254"));
  // keepalived's unicast behaviour when asked: routed peers allowed.
  const off = validateAdvertisement(advertDatagram({ ttl: 64 }), {
    ...OPTS,
    checkTtl: false,
  });
  assert.ok(off.ok);
});

Deno.test("drop: version other than 3", () => {
  assert.equal(
    dropOf(validateAdvertisement(advertDatagram({ version: 2 }), OPTS)),
    "version",
  );
});

Deno.test("drop: type other than advertisement", () => {
  assert.equal(
    dropOf(validateAdvertisement(advertDatagram({ type: 2 }), OPTS)),
    "type",
  );
});

Deno.test("drop: bad checksum", () => {
  assert.equal(
    dropOf(validateAdvertisement(advertDatagram({ checksum: 0x1234 }), OPTS)),
    "checksum",
  );
  // A checksum without the pseudo-header (Cisco-style v3) is not ours.
  const msg = vrrpMessage({
    vrid: 51,
    priority: 100,
    intervalCs: 100,
    addresses: ["10.0.0.100"],
    src: "0.0.0.0",
    dst: "0.0.0.0",
  });
  const noPseudo = ipv4Datagram({
    src: "10.0.0.11",
    dst: "224.0.0.18",
    payload: msg,
  });
  assert.equal(dropOf(validateAdvertisement(noPseudo, OPTS)), "checksum");
});

Deno.test("old keepalived unicast checksum (224.0.0.18 in the pseudo-header) is accepted and flagged", () => {
  const msg = vrrpMessage({
    vrid: 51,
    priority: 100,
    intervalCs: 100,
    addresses: ["10.0.0.100"],
    src: "10.0.0.11",
    dst: "224.0.0.18",
  });
  const unicast = ipv4Datagram({
    src: "10.0.0.11",
    dst: "10.0.0.10",
    payload: msg,
  });
  const r = validateAdvertisement(unicast, OPTS);
  assert.ok(r.ok);
  assert.equal(r.oldUnicastChecksum, true);
});

Deno.test("drop: other VRID is silent", () => {
  const r = validateAdvertisement(advertDatagram({ vrid: 52 }), OPTS);
  assert.equal(dropOf(r), "vrid");
  assert.ok(!r.ok && isSilentDrop(r.drop));
  assert.ok(!isSilentDrop("checksum"));
});

Deno.test("drop: our own source address", () => {
  assert.equal(
    dropOf(validateAdvertisement(advertDatagram({ src: "10.0.0.10" }), OPTS)),
    "own",
  );
});

Deno.test("drop: source not a configured unicast peer", () => {
  const opts = { ...OPTS, allowedSources: ["10.0.0.12"] };
  assert.equal(dropOf(validateAdvertisement(advertDatagram(), opts)), "source");
  assert.ok(
    validateAdvertisement(advertDatagram({ src: "10.0.0.12" }), opts).ok,
  );
});

Deno.test("drop: address mismatch is logged, not obeyed", () => {
  for (
    const addresses of [
      ["10.0.0.101"],
      ["10.0.0.100", "10.0.0.101"],
      [],
      ["10.0.0.100", "10.0.0.100"],
    ]
  ) {
    const r = validateAdvertisement(
      advertDatagram({ addresses, priority: 255 }),
      OPTS,
    );
    assert.equal(dropOf(r), "address_mismatch", addresses.join(","));
    assert.ok(!r.ok && r.detail.includes("10.0.0.11"));
  }
});

Deno.test("drop: max advertisement interval 0", () => {
  assert.equal(
    dropOf(validateAdvertisement(advertDatagram({ intervalCs: 0 }), OPTS)),
    "interval_zero",
  );
});

Deno.test("drop: truncated, length, IP header, protocol", () => {
  const good = advertDatagram();
  assert.equal(
    dropOf(validateAdvertisement(good.subarray(0, 10), OPTS)),
    "truncated",
  );
  assert.equal(
    dropOf(validateAdvertisement(good.subarray(0, 30), OPTS)),
    "truncated",
  );
  // The IP total length says 28 bytes but the address count needs 4 more.
  const short = ipv4Datagram({
    src: "10.0.0.11",
    dst: "224.0.0.18",
    payload: [...good.subarray(20, 28)],
  });
  assert.equal(dropOf(validateAdvertisement(short, OPTS)), "truncated");
  const long = ipv4Datagram({
    src: "10.0.0.11",
    dst: "224.0.0.18",
    payload: [...good.subarray(20), 0, 0, 0, 0],
  });
  assert.equal(dropOf(validateAdvertisement(long, OPTS)), "length");
  const v6 = good.slice();
  v6[0] = 0x60;
  assert.equal(dropOf(validateAdvertisement(v6, OPTS)), "ip_header");
  const udp = ipv4Datagram({
    src: "10.0.0.11",
    dst: "224.0.0.18",
    protocol: 17,
    payload: [...good.subarray(20)],
  });
  assert.equal(dropOf(validateAdvertisement(udp, OPTS)), "protocol");
});

Deno.test("fuzz: validate never throws, only drops with a known reason", () => {
  const rand = prng(0x7001);
  const known = new Set<string>(DROP_REASONS);
  const seen = new Set<string>();
  const seeds = [
    advertDatagram(),
    advertDatagram({ priority: 0 }),
    advertDatagram({ addresses: ["10.0.0.100", "10.0.0.7"] }),
  ];
  for (let i = 0; i < 30000; i++) {
    let bytes: Uint8Array;
    if (i % 4 === 0) {
      bytes = Uint8Array.from(
        { length: randInt(rand, 64) },
        () => randInt(rand, 256),
      );
    } else {
      const seed = seeds[randInt(rand, seeds.length)];
      bytes = seed.slice(
        0,
        i % 4 === 1 ? randInt(rand, seed.length + 1) : seed.length,
      );
      for (let k = randInt(rand, 3); k >= 0; k--) {
        bytes[randInt(rand, bytes.length)] ^= 1 << randInt(rand, 8);
      }
    }
    let r: ValidateResult;
    try {
      r = validateAdvertisement(bytes, OPTS);
    } catch (err) {
      throw new Error(`validate([${bytes}]) threw ${err}`);
    }
    if (r.ok) {
      seen.add("ok");
    } else {
      assert.ok(known.has(r.drop), r.drop);
      assert.equal(typeof r.detail, "string");
      seen.add(r.drop);
    }
  }
  for (
    const k of ["ok", "truncated", "ttl", "checksum", "version", "ip_header"]
  ) {
    assert.ok(seen.has(k), `${k} never happened`);
  }
});
