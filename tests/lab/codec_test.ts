/**
 * The lab's pure parts: `ip monitor` line parsers, the prober's ICMP and
 * ARP codecs, and the interval arithmetic behind "two holders at once".
 * No root needed.
 */
import { parseIPv4, parseMac } from "../../lib/ip/mod.ts";
import assert from "node:assert/strict";
import {
  buildArpProbe,
  buildEchoRequest,
  buildEchoRequest6,
  clip,
  defaultBounds,
  dualTimes,
  internetChecksum,
  keepalivedConfig,
  linkLocalFor,
  parseAddrLine,
  parseArpFrame,
  parseEchoReply,
  parseEchoReply6,
  parseNeighLine,
  splitStamp,
  subtract,
  total,
  union,
} from "../../lab/mod.ts";

Deno.test("splitStamp reads ip -ts stamps as local time with microseconds", () => {
  const s = splitStamp("[2026-11-21T00:13:49.054366] 2: eth0    inet ...");
  assert.ok(s);
  const local = new Date(2026, 10, 21, 0, 13, 49, 54).getTime();
  assert.ok(Math.abs(s.t - (local + 0.366)) < 1e-6);
  assert.equal(s.rest, "2: eth0    inet ...");
  assert.equal(splitStamp("       valid_lft 2sec preferred_lft 0sec"), null);
  assert.equal(splitStamp("[not a stamp] x"), null);
});

Deno.test("parseAddrLine: additions, refreshes and deletions of IPv4 and IPv6 addresses", () => {
  const add = parseAddrLine(
    "[2026-11-21T00:13:49.055382] 2: eth0    inet 10.254.9.100/24 scope global secondary deprecated dynamic eth0",
  );
  assert.deepEqual(
    { ...add, t: undefined },
    {
      t: undefined,
      present: true,
      ifname: "eth0",
      address: "10.254.9.100",
      prefixLength: 24,
      dynamic: true,
    },
  );
  const del = parseAddrLine(
    "[2026-11-21T00:13:51.550268] Deleted 2: eth0    inet 10.254.9.100/24 scope global secondary deprecated dynamic eth0",
  );
  assert.equal(del?.present, false);
  assert.equal(del?.address, "10.254.9.100");
  const permanent = parseAddrLine(
    "[2026-11-21T00:13:49.054366] 2: eth0    inet 10.254.9.11/24 scope global eth0",
  );
  assert.equal(permanent?.dynamic, false);
  // IPv6 (as iproute2 6.x prints an IPv6 VIP added with nodad).
  const add6 = parseAddrLine(
    "[2026-11-30T06:36:23.658570] 3: v0    inet6 fd00:254:9::100/64 scope global nodad deprecated dynamic ",
  );
  assert.deepEqual(
    { ...add6, t: undefined },
    {
      t: undefined,
      present: true,
      ifname: "v0",
      address: "fd00:254:9::100",
      prefixLength: 64,
      dynamic: true,
    },
  );
  const del6 = parseAddrLine(
    "[2026-11-30T06:36:24.018972] Deleted 3: v0    inet6 fd00:254:9::100/64 scope global nodad deprecated dynamic ",
  );
  assert.equal(del6?.present, false);
  // Continuation lines and noise are not address events.
  assert.equal(
    parseAddrLine("       valid_lft forever preferred_lft forever"),
    null,
  );
  assert.equal(parseAddrLine(""), null);
});

Deno.test("parseNeighLine: MAC, state and deletion", () => {
  const e = parseNeighLine(
    "[2026-11-21T00:19:05.123456] 10.254.9.100 dev eth0 lladdr 02:6C:61:62:00:0B REACHABLE",
  );
  assert.equal(e?.address, "10.254.9.100");
  assert.equal(e?.ifname, "eth0");
  assert.equal(e?.mac, "02:6c:61:62:00:0b");
  assert.equal(e?.state, "REACHABLE");
  assert.equal(e?.deleted, false);
  const failed = parseNeighLine(
    "[2026-11-21T00:19:05.123456] 10.254.9.100 dev eth0  FAILED",
  );
  assert.equal(failed?.mac, null);
  assert.equal(failed?.state, "FAILED");
  const deleted = parseNeighLine(
    "[2026-11-21T00:19:05.123456] Deleted 10.254.9.100 dev eth0 lladdr 02:6c:61:62:00:0c STALE",
  );
  assert.equal(deleted?.deleted, true);
  assert.equal(parseNeighLine("garbage"), null);
});

Deno.test("internetChecksum: RFC 1071 example and odd lengths", () => {
  // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d.
  assert.equal(
    internetChecksum(
      Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7),
    ),
    0x220d,
  );
  assert.equal(internetChecksum(Uint8Array.of(0xff)), 0x00ff);
  assert.equal(internetChecksum(new Uint8Array(0)), 0xffff);
});

Deno.test("echo request: type 8, id, seq, and a checksum that verifies", () => {
  const req = buildEchoRequest(0x1234, 0xbeef);
  assert.equal(req[0], 8);
  assert.equal(req[1], 0);
  assert.equal((req[4] << 8) | req[5], 0x1234);
  assert.equal((req[6] << 8) | req[7], 0xbeef);
  assert.equal(internetChecksum(req), 0);
});

/** An IPv4 header (20 bytes, protocol ICMP) in front of `icmp`. */
function ipv4(src: string, icmp: Uint8Array): Uint8Array {
  const b = new Uint8Array(20 + icmp.length);
  b[0] = 0x45;
  b[9] = 1;
  b.set(parseIPv4(src), 12);
  b.set(icmp, 20);
  return b;
}

/** The echo reply a host makes of a request: type 0, checksum fixed. */
function replyOf(req: Uint8Array): Uint8Array {
  const r = req.slice();
  r[0] = 0;
  r[2] = r[3] = 0;
  const c = internetChecksum(r);
  r[2] = c >> 8;
  r[3] = c & 0xff;
  return r;
}

Deno.test("parseEchoReply: accepts replies, rejects requests and bad checksums", () => {
  const reply = ipv4("10.254.9.100", replyOf(buildEchoRequest(7, 42)));
  assert.deepEqual(parseEchoReply(reply), {
    from: "10.254.9.100",
    id: 7,
    seq: 42,
  });
  assert.equal(
    parseEchoReply(ipv4("10.254.9.100", buildEchoRequest(7, 42))),
    null,
  );
  const corrupt = reply.slice();
  corrupt[30] ^= 1;
  assert.equal(parseEchoReply(corrupt), null);
  assert.equal(parseEchoReply(reply.subarray(0, 27)), null);
});

Deno.test("ARP probe: RFC 5227 form (sender IP 0.0.0.0), parsed back", () => {
  const mac = parseMac("02:6c:61:62:ff:fe");
  const f = buildArpProbe(mac, parseIPv4("10.254.9.100"));
  assert.equal(f.length, 42);
  assert.deepEqual(Array.from(f.subarray(0, 6)), [
    255,
    255,
    255,
    255,
    255,
    255,
  ]);
  assert.deepEqual(parseArpFrame(f), {
    op: 1,
    sha: "02:6c:61:62:ff:fe",
    spa: "0.0.0.0",
    tha: "00:00:00:00:00:00",
    tpa: "10.254.9.100",
  });
});

/** A seeded PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  };
}

Deno.test("fuzz: packet and line decoders return a value or null, never throw", () => {
  const seed = Number(Deno.env.get("HV_SEED") ?? Date.now() % 0x7fffffff);
  const rnd = prng(seed);
  const seeds = [
    ipv4("10.254.9.100", replyOf(buildEchoRequest(7, 42))),
    buildArpProbe(parseMac("02:6c:61:62:ff:fe"), parseIPv4("10.254.9.100")),
  ];
  const lines = [
    "[2026-11-21T00:13:51.550268] Deleted 2: eth0    inet 10.254.9.100/24 scope global secondary dynamic eth0",
    "[2026-11-21T00:19:05.123456] 10.254.9.100 dev eth0 lladdr 02:6c:61:62:00:0b REACHABLE",
  ];
  try {
    for (let i = 0; i < 20_000; i++) {
      const base = seeds[i % 2];
      let input: Uint8Array;
      if (i % 3 === 0) {
        input = Uint8Array.from(
          { length: Math.floor(rnd() * 96) },
          () => Math.floor(rnd() * 256),
        );
      } else {
        input = base.slice(0, Math.floor(rnd() * (base.length + 1)));
        if (i % 3 === 2 && input.length > 0) {
          input[Math.floor(rnd() * input.length)] ^= 1 << Math.floor(rnd() * 8);
        }
      }
      parseEchoReply(input);
      parseArpFrame(input);
      const line = lines[i % 2];
      const cut = line.slice(0, Math.floor(rnd() * (line.length + 1)));
      const chars = [...cut];
      if (chars.length > 0) {
        chars[Math.floor(rnd() * chars.length)] = String.fromCharCode(
          32 + Math.floor(rnd() * 95),
        );
      }
      parseAddrLine(chars.join(""));
      parseNeighLine(chars.join(""));
    }
  } catch (err) {
    console.error(`fuzz failed with seed ${seed}: rerun with HV_SEED=${seed}`);
    throw err;
  }
});

Deno.test("interval arithmetic: overlaps of holders, minus cut-off time", () => {
  const end = 100;
  const n1 = [{ from: 0, to: 50 }, { from: 70, to: null }];
  const n2 = [{ from: 40, to: 80 }];
  const n3 = [{ from: 45, to: 46 }];
  // Two holders: 40-50 (n1+n2, n3 inside it) and 70-80 (n1+n2).
  assert.deepEqual(dualTimes([n1, n2, n3], end), [
    { from: 40, to: 50 },
    { from: 70, to: 80 },
  ]);
  assert.equal(total(dualTimes([n1, n2, n3], end), end), 20);
  // n1 cut off from 60 on: its open interval no longer counts.
  const n1Connected = subtract(n1, [{ from: 60, to: null }], end);
  assert.deepEqual(n1Connected, [{ from: 0, to: 50 }]);
  assert.equal(total(dualTimes([n1Connected, n2], end), end), 10);
  assert.deepEqual(clip(n1, 45, 75), [{ from: 45, to: 50 }, {
    from: 70,
    to: 75,
  }]);
  assert.deepEqual(union([{ from: 5, to: 10 }, { from: 0, to: 6 }], end), [
    { from: 0, to: 10 },
  ]);
});

Deno.test("defaultBounds follow the VRRP timers", () => {
  const p = { A: 1000, W: 2000, H: 2000, L: 5000 };
  // A steady state moves the VIP never: each move is a spurious failover.
  assert.deepEqual(defaultBounds("ha-vip", "steady", p), {
    maxGapMs: 0,
    maxDualMs: 0,
    maxVipGains: 0,
  });
  const crash = defaultBounds("ha-vip", "crash", p);
  // A node's death: the client is dark until the backup takes over, and
  // nobody else holds the VIP meanwhile.
  assert.deepEqual(defaultBounds("ha-vip", "die", p), {
    maxGapMs: 5500,
    maxTakeoverMs: 5000,
    maxDualMs: 0,
  });
  assert.equal(crash.maxTakeoverMs, 5000);
  assert.equal(crash.maxExpiryMs, 7000);
  assert.equal(defaultBounds("keepalived", "crash", p).maxExpiryMs, undefined);
  assert.equal(defaultBounds("ha-vip", "stop", p).maxGapMs, 250);
});

Deno.test("keepalivedConfig: VRRPv3, priority, interval in seconds, the VIP", () => {
  const conf = keepalivedConfig({
    routerId: "node2",
    ifname: "eth0",
    priority: 100,
    advertIntervalMs: 500,
    vipCidr: "10.254.9.100/24",
  });
  assert.match(conf, /vrrp_version 3/);
  assert.match(conf, /priority 100\n/);
  assert.match(conf, /advert_int 0\.5\n/);
  assert.match(conf, /virtual_router_id 51\n/);
  assert.match(conf, /10\.254\.9\.100\/24 dev eth0/);
  assert.doesNotMatch(conf, /vrrp_strict/);
});

Deno.test("IPv6 probes: echo request type 128 (kernel checksum), replies by type 129 and the socket's source", () => {
  const req = buildEchoRequest6(0x1234, 7);
  assert.deepEqual([...req.subarray(0, 8)], [128, 0, 0, 0, 0x12, 0x34, 0, 7]);
  const reply = req.slice();
  reply[0] = 129;
  assert.deepEqual(parseEchoReply6(reply, "fd00::100"), {
    from: "fd00::100",
    id: 0x1234,
    seq: 7,
  });
  assert.equal(parseEchoReply6(req, "fd00::100"), null, "a request");
  assert.equal(parseEchoReply6(reply.subarray(0, 7), "fd00::100"), null);
});

Deno.test("linkLocalFor: the kernel's EUI-64 address of a lab MAC", () => {
  // `ip -6 addr` on a lab node with MAC 02:6c:61:62:00:0b.
  assert.equal(linkLocalFor("02:6c:61:62:00:0b"), "fe80::6c:61ff:fe62:b");
  assert.equal(linkLocalFor("00:00:5e:00:53:01"), "fe80::200:5eff:fe00:5301");
});
