import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  AUTH_TRAILER_SIZE,
  AuthKey,
  decodeTrailer,
  sequenceSeconds,
  signAdvertisement,
  verifyTrailer,
} from "../../lib/vrrp_auth/mod.ts";
import { property } from "../sys/_fuzz.ts";
import { ipPacketOf, parsePcap } from "../../testing/mod.ts";

// The vectors (copied from the team's shared vectors, see vectors/README.md):
// keepalived v2.4.3 with `auth_hmac { key 1 hex:000102...1f }`, VRID 51,
// priority 150, 1 s adverts, VIP 10.201.0.100, master 10.201.0.11.
const VECTORS = new URL("./vectors/", import.meta.url);
const json = JSON.parse(
  await Deno.readTextFile(new URL("keepalived-2.4.3.json", VECTORS)),
);
const KEY = new AuthKey(
  1,
  Uint8Array.from(
    (json.config.auth_hmac.key_hex as string).match(/../g)!,
    (h) => parseInt(h, 16),
  ),
);

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g)!, (h) => parseInt(h, 16));
}

// The first advert of the `anti_replay time` capture, field by field.
const FIRST = hex(
  // IPv4 header (20): its total length 0x3c = 60 counts the trailer too.
  "45 c0 003c 0001 0000 ff 70 cfaa" + // v4 IHL 5, TOS c0, len 60, TTL 255, proto 112
    "0a c9 00 0b" + // source 10.201.0.11
    "e0 00 00 12" + // destination 224.0.0.18
    // VRRPv3 PDU (12)
    "31" + // version 3, type 1 (advertisement)
    "33" + // VRID 51
    "96" + // priority 150
    "01" + // one IPv4 address
    "0064" + // rsvd 0, max advert interval 100 cs
    "41d7" + // checksum over the pseudo-header and the PDU only
    "0a c9 00 64" + // 10.201.0.100
    // Authentication trailer (28)
    "01" + // ext_type 1: HMAC-SHA256, 16 bytes
    "01" + // key_id 1
    "0000" + // reserved
    "6b0ce26b" + // sec 1796006507 (UTC seconds)
    "be6d" + // subsec 0xbe6d / 65536 = 0.744 s
    "0000" + // ctr 0
    "94342645 a1f3e646 6c36fc0e 68569337", // HMAC, first 16 bytes
);

interface Captured {
  mode: string;
  time: number;
  packet: Uint8Array;
}

/** Splits an IPv4 VRRP packet into source, PDU and trailer. */
function split(packet: Uint8Array) {
  const ihl = (packet[0] & 0x0f) * 4;
  const payload = packet.subarray(ihl);
  const pduLength = 8 + 4 * payload[3];
  return {
    src: packet.subarray(12, 16),
    pdu: payload.subarray(0, pduLength),
    trailer: payload.subarray(pduLength),
  };
}

async function captures(): Promise<Captured[]> {
  const out: Captured[] = [];
  for (const [mode, list] of Object.entries(json.captures)) {
    for (
      const c of list as { captured_unix: number; ip_packet_hex: string }[]
    ) {
      out.push({ mode, time: c.captured_unix, packet: hex(c.ip_packet_hex) });
    }
  }
  for (const mode of ["time", "monotonic"]) {
    const pcap = parsePcap(
      await Deno.readFile(
        new URL(`keepalived-2.4.3-anti-replay-${mode}.pcap`, VECTORS),
      ),
    );
    for (const f of pcap.frames) {
      out.push({
        mode: `pcap ${mode}`,
        time: f.time,
        packet: ipPacketOf(pcap.linkType, f.data),
      });
    }
  }
  return out;
}

Deno.test("the annotated fixture is the capture's first packet", () => {
  assert.deepEqual(
    FIRST,
    hex(json.captures.anti_replay_time[0].ip_packet_hex),
  );
  const { trailer } = split(FIRST);
  const d = decodeTrailer(trailer);
  assert.ok(d.ok);
  assert.equal(d.trailer.keyId, 1);
  assert.equal(d.trailer.sequence, 0x6b0ce26b_be6d_0000n);
  assert.equal(Math.floor(sequenceSeconds(d.trailer.sequence)), 1796006507);
  assert.deepEqual(d.trailer.hmac, trailer.subarray(12));
});

Deno.test("every captured keepalived 2.4.3 trailer verifies (json and pcap)", async () => {
  const all = await captures();
  assert.equal(all.length, 20);
  for (const c of all) {
    const parts = split(c.packet);
    assert.equal(parts.trailer.length, AUTH_TRAILER_SIZE);
    const d = decodeTrailer(parts.trailer);
    assert.ok(d.ok, c.mode);
    assert.ok(verifyTrailer(KEY, d.trailer, parts), `${c.mode} at ${c.time}`);
    // The sequence carries the sender's clock: within 10 ms of the capture.
    assert.ok(Math.abs(sequenceSeconds(d.trailer.sequence) - c.time) < 0.01);
  }
});

Deno.test("signing reproduces every captured trailer byte for byte", async () => {
  for (const c of await captures()) {
    const parts = split(c.packet);
    const d = decodeTrailer(parts.trailer);
    assert.ok(d.ok);
    assert.deepEqual(
      signAdvertisement(KEY, d.trailer.sequence, parts),
      parts.trailer,
      `${c.mode} at ${c.time}`,
    );
  }
});

Deno.test("the HMAC reads the checksum as zero and covers everything else", async () => {
  const [c] = await captures();
  const parts = split(c.packet);
  const d = decodeTrailer(parts.trailer);
  assert.ok(d.ok);
  // The checksum field is not covered: any value verifies.
  const pdu = parts.pdu.slice();
  pdu[6] ^= 0xff;
  assert.ok(verifyTrailer(KEY, d.trailer, { pdu, src: parts.src }));
  // Every other PDU bit, the source, the key id and the sequence are.
  for (let bit = 0; bit < parts.pdu.length * 8; bit++) {
    if (bit >= 48 && bit < 64) continue;
    const p = parts.pdu.slice();
    p[bit >> 3] ^= 0x80 >> (bit & 7);
    assert.ok(!verifyTrailer(KEY, d.trailer, { pdu: p, src: parts.src }));
  }
  const src = parts.src.slice();
  src[3] ^= 1;
  assert.ok(!verifyTrailer(KEY, d.trailer, { pdu: parts.pdu, src }));
  const later = { ...d.trailer, sequence: d.trailer.sequence + 1n };
  assert.ok(!verifyTrailer(KEY, later, parts));
  const other = new AuthKey(2, KEY.reveal());
  const asKey2 = { ...d.trailer, keyId: 2 };
  assert.ok(!verifyTrailer(other, asKey2, parts));
  // A different key with the same id fails.
  const wrong = new AuthKey(1, new Uint8Array(32).fill(7));
  assert.ok(!verifyTrailer(wrong, d.trailer, parts));
});

Deno.test("an IPv6 trailer signs a 6-led pseudo-header with the 16-byte source", () => {
  // No keepalived 2.4 IPv6 capture exists here: check the construction
  // against the README's words with an independent HMAC input.
  const src = hex("fe80 0000 0000 0000 0000 00ff fe00 0011");
  const pdu = hex(
    "3133 9601 0064 0000 fd00 0000 0000 0000 0000 0000 0000 0100",
  );
  const sequence = 0x6b0ce26b_be6d_0000n;
  const trailer = signAdvertisement(KEY, sequence, { pdu, src });
  const input = new Uint8Array([
    ...[6, 3, 51, 0],
    ...src, // 4 + 16 = 20: no padding
    ...pdu,
    ...trailer.subarray(0, 12),
    ...new Uint8Array(16),
  ]);
  const want = createHmacSha256(KEY.reveal(), input).subarray(0, 16);
  assert.deepEqual(trailer.subarray(12), want);
});

/** HMAC-SHA256 from its definition (RFC 2104) over node's SHA-256. */
function createHmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  const block = new Uint8Array(64);
  block.set(key);
  const ipad = block.map((b) => b ^ 0x36);
  const opad = block.map((b) => b ^ 0x5c);
  const inner = createHash("sha256").update(ipad).update(data).digest();
  return new Uint8Array(
    createHash("sha256").update(opad).update(inner).digest(),
  );
}

Deno.test("an independent RFC 2104 HMAC agrees with a captured trailer", async () => {
  const [c] = await captures();
  const { src, pdu, trailer } = split(c.packet);
  const zeroed = pdu.slice();
  zeroed[6] = zeroed[7] = 0;
  const input = new Uint8Array([
    ...[4, 3, 51, 0],
    ...src,
    ...new Uint8Array(12), // zero padding to 20 bytes
    ...zeroed,
    ...trailer.subarray(0, 12),
    ...new Uint8Array(16),
  ]);
  assert.deepEqual(
    createHmacSha256(KEY.reveal(), input).subarray(0, 16),
    trailer.subarray(12),
  );
});

Deno.test("decodeTrailer refuses wrong sizes, types and reserved bits", () => {
  const good = split(FIRST).trailer;
  assert.equal(decodeTrailer(good.subarray(0, 27)).ok, false);
  assert.equal(
    (decodeTrailer(new Uint8Array([...good, 0])) as { problem: string })
      .problem,
    "length",
  );
  const t2 = good.slice();
  t2[0] = 2;
  assert.equal(
    (decodeTrailer(t2) as { problem: string }).problem,
    "ext_type",
  );
  const r = good.slice();
  r[3] = 1;
  assert.equal((decodeTrailer(r) as { problem: string }).problem, "reserved");
  // Key id 0 or an unconfigured id is not malformed: the caller decides.
  const k0 = good.slice();
  k0[1] = 0;
  assert.ok(decodeTrailer(k0).ok);
});

Deno.test("fuzz: decodeTrailer returns a trailer or a problem, never throws", () => {
  const good = split(FIRST).trailer;
  property("decodeTrailer", 5000, (prng) => {
    let bytes: Uint8Array;
    if (prng.chance(0.5)) {
      bytes = prng.bytes(prng.int(0, 64));
    } else {
      // Mutations of a real trailer: flips, cuts and extensions.
      bytes = good.slice(0, prng.int(0, 28));
      if (prng.chance(0.5)) {
        bytes = new Uint8Array([...good, ...prng.bytes(prng.int(0, 4))]);
      }
      for (let i = prng.int(0, 3); i > 0 && bytes.length > 0; i--) {
        bytes[prng.int(0, bytes.length - 1)] ^= 1 << prng.int(0, 7);
      }
    }
    const d = decodeTrailer(bytes);
    const valid = bytes.length === 28 && bytes[0] === 1 && bytes[2] === 0 &&
      bytes[3] === 0;
    assert.equal(d.ok, valid);
    if (d.ok) {
      assert.equal(d.trailer.keyId, bytes[1]);
      assert.equal(d.trailer.hmac.length, 16);
      // The decoded fields re-sign to the same first 12 bytes.
      const again = signAdvertisement(
        new AuthKey(d.trailer.keyId || 1, KEY.reveal()),
        d.trailer.sequence,
        split(FIRST),
      );
      if (d.trailer.keyId !== 0) {
        assert.deepEqual(again.subarray(0, 12), bytes.subarray(0, 12));
      }
    }
  });
});

Deno.test("signAdvertisement refuses sequences beyond 64 bits", () => {
  const parts = split(FIRST);
  assert.throws(() => signAdvertisement(KEY, -1n, parts), RangeError);
  assert.throws(() => signAdvertisement(KEY, 1n << 64n, parts), RangeError);
  assert.throws(
    () =>
      signAdvertisement(KEY, 1n, { pdu: parts.pdu, src: new Uint8Array(5) }),
    RangeError,
  );
});
