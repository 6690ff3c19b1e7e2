import assert from "node:assert/strict";
import {
  DROP_REASONS,
  receiveDatagram,
  validateAdvertisement,
  type ValidateAuth,
  type ValidateOptions,
  type ValidateResult,
  type VrrpState,
} from "../../lib/vrrp/mod.ts";
import {
  type AuthConfig,
  AuthKey,
  EMPTY_REPLAY_STATE,
  type ReplayState,
  signAdvertisement,
} from "../../lib/vrrp_auth/mod.ts";
import {
  capturedAdverts,
  CountingKey,
  VECTOR_KEY_BYTES,
} from "../vrrp_auth/_support.ts";
import {
  Driver,
  internetChecksum,
  ipv4Datagram,
  prng,
  randInt,
} from "./_support.ts";

// keepalived 2.4.3's signed adverts (tests/vrrp_auth/vectors): VRID 51,
// priority 150, VIP 10.201.0.100, from 10.201.0.11 to 224.0.0.18.
const OPTS: ValidateOptions = {
  vrid: 51,
  addresses: ["10.201.0.100"],
  primaryIp: "10.201.0.12",
};

function authConfig(over: Partial<AuthConfig> = {}): AuthConfig {
  return {
    keys: new Map([[1, new AuthKey(1, VECTOR_KEY_BYTES)]]),
    activeKeyId: 1,
    mode: "enforce",
    antiReplay: "time",
    timeWindowMs: 5000,
    replaySlots: 4,
    ...over,
  };
}

const dropOf = (r: ValidateResult) => r.ok ? "ok" : r.drop;
const SRC = [10, 201, 0, 11];
const GROUP = [224, 0, 0, 18];

/** An attacker's packet: any PDU, a right VRRP checksum, any trailer. */
function forge(pdu: Uint8Array, trailer: Uint8Array): Uint8Array {
  return forgeFrom(SRC, pdu, trailer);
}

/** The PDU with priority 254, as an injector would send it. */
function priority254(pdu: Uint8Array): Uint8Array {
  const p = pdu.slice();
  p[2] = 254;
  return p;
}

Deno.test("keepalived 2.4.3's signed adverts pass validation with the key", () => {
  const auth: ValidateAuth = {
    config: authConfig(),
    replay: EMPTY_REPLAY_STATE,
    wallMs: 0,
  };
  for (const c of capturedAdverts("time")) {
    const r = validateAdvertisement(c.packet, OPTS, {
      ...auth,
      wallMs: c.wallMs,
    });
    assert.ok(r.ok, dropOf(r));
    assert.equal(r.keyId, 1);
    assert.equal(r.advertisement.priority, 150);
    auth.replay = r.replay!;
  }
  assert.equal(auth.replay.slots[0].sender, "10.201.0.11");
});

Deno.test("without a key, a signed advert is dropped and the log says why", () => {
  const [c] = capturedAdverts("time");
  const r = validateAdvertisement(c.packet, OPTS);
  assert.equal(dropOf(r), "length");
  assert.match(
    (r as { detail: string }).detail,
    /authentication trailer.*--auth-key/,
  );
});

Deno.test("cheap checks come first: a bad checksum costs no HMAC", () => {
  const [c] = capturedAdverts("time");
  const key = new CountingKey(1, VECTOR_KEY_BYTES);
  const config = authConfig({ keys: new Map([[1, key]]) });
  const bad = c.packet.slice();
  bad[20 + 7] ^= 1; // the VRRP checksum
  const r = validateAdvertisement(bad, OPTS, {
    config,
    replay: EMPTY_REPLAY_STATE,
    wallMs: c.wallMs,
  });
  assert.equal(dropOf(r), "checksum");
  const other = validateAdvertisement(c.packet, { ...OPTS, vrid: 52 }, {
    config,
    replay: EMPTY_REPLAY_STATE,
    wallMs: c.wallMs,
  });
  assert.equal(dropOf(other), "vrid");
  assert.equal(key.uses, 0);
});

Deno.test("authentication comes before the address check (no warning for forgeries)", () => {
  const [c] = capturedAdverts("time");
  const pdu = c.pdu.slice();
  pdu[11] = 0x65; // advertises 10.201.0.101 instead
  const r = validateAdvertisement(forge(pdu, c.trailer), OPTS, {
    config: authConfig(),
    replay: EMPTY_REPLAY_STATE,
    wallMs: c.wallMs,
  });
  assert.equal(dropOf(r), "bad_hmac");
});

interface Hostile {
  name: string;
  reason: string;
  packet: Uint8Array;
}

/** The injector's priority-254 adverts, every kind, at the time of `at`. */
function hostilePackets(): Hostile[] {
  const [a, b] = capturedAdverts("time");
  const seqB = 0x6b0ce26c_c0630000n;
  const wrongKey = new AuthKey(1, new Uint8Array(32).fill(0x5a));
  const p254 = priority254(b.pdu);
  const newer = b.trailer.slice();
  newer[11] += 1; // ctr + 1
  return [
    {
      name: "unsigned",
      reason: "unsigned",
      packet: forge(p254, new Uint8Array(0)),
    },
    {
      // The genuine trailer on a changed PDU: its sequence was accepted
      // already, so it is a replay, refused before any HMAC.
      name: "forged (kept trailer)",
      reason: "replay",
      packet: forge(p254, b.trailer),
    },
    {
      name: "forged (kept HMAC, newer sequence)",
      reason: "bad_hmac",
      packet: forge(p254, newer),
    },
    {
      name: "signed with a wrong key",
      reason: "bad_hmac",
      packet: forge(
        p254,
        signAdvertisement(wrongKey, seqB + 1n, { pdu: p254, src: b.src }),
      ),
    },
    {
      name: "unknown key id",
      reason: "unknown_key",
      packet: forge(
        p254,
        signAdvertisement(new AuthKey(9, VECTOR_KEY_BYTES), seqB + 1n, {
          pdu: p254,
          src: b.src,
        }),
      ),
    },
    { name: "replayed capture", reason: "replay", packet: a.packet },
    { name: "replayed current advert", reason: "replay", packet: b.packet },
  ];
}

Deno.test("hostile adverts move nothing: no state change, no timer reset, no replay mark", () => {
  const [a, b] = capturedAdverts("time");
  // A backup hearing the genuine master (priority 150 > our 100).
  const d = new Driver({ primaryIp: "10.201.0.12", priority: 100 });
  d.at(0, { type: "startup" });
  let replay: ReplayState = EMPTY_REPLAY_STATE;
  const config = authConfig();
  const wallAt = (ms: number) => b.wallMs + ms;
  for (const c of [a, b]) {
    const r = receiveDatagram(d.state, {
      datagram: c.packet,
      nowMs: 500,
      validation: OPTS,
      auth: { config, replay, wallMs: c.wallMs },
    });
    assert.equal(r.drop, null);
    d.state = r.state;
    replay = r.replay!;
  }
  const state: VrrpState = d.state;
  const timer = state.masterDownAt;
  for (const h of hostilePackets()) {
    const r = receiveDatagram(state, {
      datagram: h.packet,
      nowMs: 600,
      validation: OPTS,
      auth: { config, replay, wallMs: wallAt(100) },
    });
    assert.equal(r.drop, h.reason, h.name);
    assert.equal(r.state, state, `${h.name}: the very same state`);
    assert.equal(r.state.masterDownAt, timer, `${h.name}: no timer reset`);
    assert.deepEqual(r.actions, []);
    assert.equal(r.replay, replay, `${h.name}: replay marks untouched`);
  }
  // Stale: a genuine advert from long ago, or a captured one replayed later.
  const stale = receiveDatagram(state, {
    datagram: a.packet,
    nowMs: 600,
    validation: OPTS,
    auth: { config, replay: EMPTY_REPLAY_STATE, wallMs: wallAt(60_000) },
  });
  assert.equal(stale.drop, "stale");
  assert.equal(stale.state, state);
});

Deno.test("with authentication on, a priority-254 injector never takes a master down", () => {
  // A master (priority 150) that hears the injector's every kind of advert.
  const d = new Driver({ primaryIp: "10.201.0.11", priority: 150 });
  d.at(0, { type: "startup" });
  d.advance(4000);
  assert.equal(d.state.phase, "master");
  const config = authConfig();
  const [, b] = capturedAdverts("time");
  const opts = { ...OPTS, primaryIp: "10.201.0.11" };
  for (const h of hostilePackets()) {
    // The injector spoofs another node's source: 10.201.0.11 is ours here,
    // so rewrite to a peer address with a right checksum.
    const pkt = h.packet.slice();
    pkt[15] = 13;
    const body = pkt.subarray(20);
    const pduLen = 8 + 4 * body[3];
    const fixed = forgeFrom(
      [10, 201, 0, 13],
      body.subarray(0, pduLen),
      body.subarray(pduLen),
    );
    const r = receiveDatagram(d.state, {
      datagram: fixed,
      nowMs: 4500,
      validation: opts,
      auth: { config, replay: EMPTY_REPLAY_STATE, wallMs: b.wallMs },
    });
    assert.notEqual(r.drop, null, h.name);
    assert.equal(r.state.phase, "master", h.name);
  }
});

function forgeFrom(
  src: number[],
  pdu: Uint8Array,
  trailer: Uint8Array,
): Uint8Array {
  const body = [...pdu];
  body[6] = body[7] = 0;
  const len = body.length;
  const sum = internetChecksum([[
    ...src,
    ...GROUP,
    0,
    112,
    len >> 8,
    len & 0xff,
  ], body]);
  body[6] = sum >> 8;
  body[7] = sum & 0xff;
  return ipv4Datagram({
    src: src.join("."),
    dst: "224.0.0.18",
    payload: [...body, ...trailer],
  });
}

Deno.test("permissive and receive-only accept unsigned adverts, still verify trailers", () => {
  const [c] = capturedAdverts("time");
  const unsigned = forge(c.pdu, new Uint8Array(0));
  for (const mode of ["permissive", "receive-only"] as const) {
    const r = validateAdvertisement(unsigned, OPTS, {
      config: authConfig({ mode }),
      replay: EMPTY_REPLAY_STATE,
      wallMs: c.wallMs,
    });
    assert.ok(r.ok, mode);
    assert.equal(r.keyId, null);
    assert.ok(
      validateAdvertisement(c.packet, OPTS, {
        config: authConfig({ mode }),
        replay: EMPTY_REPLAY_STATE,
        wallMs: c.wallMs,
      }).ok,
    );
  }
});

Deno.test("no single-bit change of a signed advert's payload is accepted", () => {
  const [c] = capturedAdverts("time");
  const auth = {
    config: authConfig(),
    replay: EMPTY_REPLAY_STATE,
    wallMs: c.wallMs,
  };
  const known = new Set<string>(DROP_REASONS);
  for (let bit = 20 * 8; bit < c.packet.length * 8; bit++) {
    const p = c.packet.slice();
    p[bit >> 3] ^= 0x80 >> (bit & 7);
    const r = validateAdvertisement(p, OPTS, auth);
    assert.ok(!r.ok, `bit ${bit} accepted`);
    assert.ok(known.has(r.drop));
  }
  // Nor with the VRRP checksum recomputed (an attacker can do that).
  for (let bit = 0; bit < (c.pdu.length + 28) * 8; bit++) {
    if (bit >= 48 && bit < 64) continue; // the checksum field itself
    const body = new Uint8Array([...c.pdu, ...c.trailer]);
    body[bit >> 3] ^= 0x80 >> (bit & 7);
    const r = validateAdvertisement(
      forge(body.subarray(0, c.pdu.length), body.subarray(c.pdu.length)),
      OPTS,
      auth,
    );
    assert.ok(!r.ok, `bit ${bit} with a fixed checksum accepted`);
  }
});

Deno.test("fuzz: validation with authentication never throws", () => {
  const rand = prng(0xa17);
  const seeds = capturedAdverts("monotonic").map((c) => c.packet);
  const auth = {
    config: authConfig({ antiReplay: "monotonic" }),
    replay: EMPTY_REPLAY_STATE,
    wallMs: 0,
  };
  const known = new Set<string>(DROP_REASONS);
  for (let i = 0; i < 5000; i++) {
    const seed = seeds[randInt(rand, seeds.length)];
    const bytes = seed.slice(
      0,
      i % 3 === 0 ? randInt(rand, seed.length + 1) : seed.length,
    );
    for (let k = randInt(rand, 3); k >= 0 && bytes.length > 0; k--) {
      bytes[randInt(rand, bytes.length)] ^= 1 << randInt(rand, 8);
    }
    const r = validateAdvertisement(bytes, OPTS, auth);
    if (!r.ok) assert.ok(known.has(r.drop), r.drop);
  }
});
