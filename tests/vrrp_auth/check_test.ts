import assert from "node:assert/strict";
import {
  type AuthConfig,
  type AuthInput,
  AuthKey,
  type AuthResult,
  checkAuthentication,
  EMPTY_REPLAY_STATE,
  type ReplayState,
  signAdvertisement,
} from "../../lib/vrrp_auth/mod.ts";
import {
  type CapturedAdvert,
  capturedAdverts,
  CountingKey,
  VECTOR_KEY_BYTES,
} from "./_support.ts";

function config(over: Partial<AuthConfig> = {}): AuthConfig & {
  key: CountingKey;
} {
  const key = new CountingKey(1, VECTOR_KEY_BYTES);
  return {
    keys: new Map([[1, key]]),
    activeKeyId: 1,
    mode: "enforce",
    antiReplay: "time",
    timeWindowMs: 5000,
    replaySlots: 4,
    key,
    ...over,
  };
}

function input(c: CapturedAdvert, wallMs = c.wallMs): AuthInput {
  return {
    pdu: c.pdu,
    trailer: c.trailer,
    src: c.src,
    sender: "10.201.0.11",
    wallMs,
  };
}

function reason(r: AuthResult): string {
  return r.ok ? "ok" : r.reason;
}

Deno.test("keepalived's captured adverts pass in order, in both modes", () => {
  for (const mode of ["time", "monotonic"] as const) {
    const cfg = config({ antiReplay: mode });
    let replay: ReplayState = EMPTY_REPLAY_STATE;
    for (const c of capturedAdverts(mode)) {
      const r = checkAuthentication(input(c), cfg, replay);
      assert.ok(r.ok, `${mode}: ${reason(r)}`);
      assert.equal(r.keyId, 1);
      replay = r.replay;
    }
    assert.equal(cfg.key.uses, 5);
  }
});

Deno.test("a replayed capture is refused before any HMAC, state untouched", () => {
  const cfg = config();
  const [a, b] = capturedAdverts("time");
  let r = checkAuthentication(input(a), cfg, EMPTY_REPLAY_STATE);
  assert.ok(r.ok);
  r = checkAuthentication(input(b), cfg, r.replay);
  assert.ok(r.ok);
  const replay = r.replay;
  const uses = cfg.key.uses;
  for (const old of [a, b]) {
    const again = checkAuthentication(input(old, b.wallMs + 100), cfg, replay);
    assert.equal(reason(again), "replay");
  }
  assert.equal(cfg.key.uses, uses, "no HMAC for a replay");
});

Deno.test("time mode: outside the window is stale, before any HMAC", () => {
  const [a] = capturedAdverts("time");
  const cfg = config();
  for (const skewMs of [5_100, -5_100, 3_600_000, -86_400_000]) {
    const r = checkAuthentication(
      input(a, a.wallMs + skewMs),
      cfg,
      EMPTY_REPLAY_STATE,
    );
    assert.equal(reason(r), "stale", `skew ${skewMs}`);
    assert.match((r as { detail: string }).detail, /outside the 5 s window/);
  }
  assert.equal(cfg.key.uses, 0);
  // Inside the window (either side) it verifies.
  for (const skewMs of [4_900, -4_900]) {
    assert.ok(
      checkAuthentication(input(a, a.wallMs + skewMs), cfg, EMPTY_REPLAY_STATE)
        .ok,
    );
  }
  // Monotonic mode has no window: a capture a day old is not stale...
  const mono = config({ antiReplay: "monotonic" });
  const day = checkAuthentication(
    input(a, a.wallMs + 86_400_000),
    mono,
    EMPTY_REPLAY_STATE,
  );
  assert.ok(day.ok);
  // ...and only its high-water mark stops it coming back.
  assert.equal(
    reason(
      checkAuthentication(input(a, a.wallMs + 86_400_000), mono, day.replay),
    ),
    "replay",
  );
});

Deno.test("unknown key ids are refused without an HMAC", () => {
  const [a] = capturedAdverts("time");
  const cfg = config();
  for (const id of [0, 2, 255]) {
    const trailer = a.trailer.slice();
    trailer[1] = id;
    const r = checkAuthentication(
      { ...input(a), trailer },
      cfg,
      EMPTY_REPLAY_STATE,
    );
    assert.equal(reason(r), "unknown_key");
    assert.match((r as { detail: string }).detail, new RegExp(`key ${id}`));
  }
  assert.equal(cfg.key.uses, 0);
});

Deno.test("forged and wrong-key adverts fail the HMAC and move nothing", () => {
  const [a, b] = capturedAdverts("time");
  const cfg = config();
  const first = checkAuthentication(input(a), cfg, EMPTY_REPLAY_STATE);
  assert.ok(first.ok);
  // Priority raised to 254 with the trailer kept: the HMAC no longer fits.
  const forged = b.pdu.slice();
  forged[2] = 254;
  let r = checkAuthentication(
    { ...input(b), pdu: forged },
    cfg,
    first.replay,
  );
  assert.equal(reason(r), "bad_hmac");
  // Signed with another key under the configured id.
  const other = new AuthKey(1, new Uint8Array(32).fill(0xa5));
  const seq = 0x6b0ce26c_c0630000n;
  const wrongKey = signAdvertisement(other, seq, { pdu: forged, src: b.src });
  r = checkAuthentication(
    { ...input(b), pdu: forged, trailer: wrongKey },
    cfg,
    first.replay,
  );
  assert.equal(reason(r), "bad_hmac");
  // The genuine next advert still passes: the forgeries did not move the mark.
  assert.ok(checkAuthentication(input(b), cfg, first.replay).ok);
});

Deno.test("modes: enforce needs a trailer; permissive and receive-only accept none", () => {
  const [a] = capturedAdverts("time");
  const unsigned = { ...input(a), trailer: new Uint8Array(0) };
  assert.equal(
    reason(checkAuthentication(unsigned, config(), EMPTY_REPLAY_STATE)),
    "unsigned",
  );
  for (const mode of ["permissive", "receive-only"] as const) {
    const r = checkAuthentication(
      unsigned,
      config({ mode }),
      EMPTY_REPLAY_STATE,
    );
    assert.ok(r.ok);
    assert.equal(r.keyId, null);
    assert.equal(r.replay, EMPTY_REPLAY_STATE);
    // A trailer that is present is still verified.
    const forged = a.pdu.slice();
    forged[2] = 254;
    assert.equal(
      reason(
        checkAuthentication(
          { ...input(a), pdu: forged },
          config({ mode }),
          EMPTY_REPLAY_STATE,
        ),
      ),
      "bad_hmac",
    );
  }
});

Deno.test("malformed trailers are refused first", () => {
  const [a] = capturedAdverts("time");
  const cfg = config();
  for (
    const trailer of [
      a.trailer.subarray(0, 27),
      new Uint8Array([...a.trailer, 0]),
      Uint8Array.from(a.trailer, (x, i) => i === 0 ? 2 : x),
      Uint8Array.from(a.trailer, (x, i) => i === 2 ? 1 : x),
    ]
  ) {
    // Even at a stale time: malformed is decided before staleness.
    const r = checkAuthentication(
      { ...input(a, a.wallMs + 60_000), trailer },
      cfg,
      EMPTY_REPLAY_STATE,
    );
    assert.equal(reason(r), "auth_malformed");
  }
  assert.equal(cfg.key.uses, 0);
});

Deno.test("key rotation: any configured key verifies, whatever the active one", () => {
  const [a] = capturedAdverts("time");
  const cfg = config();
  const k2 = new AuthKey(2, new Uint8Array(32).fill(2));
  const rotated = {
    ...cfg,
    keys: new Map<number, AuthKey>([[1, cfg.key], [2, k2]]),
    activeKeyId: 2,
  };
  assert.ok(checkAuthentication(input(a), rotated, EMPTY_REPLAY_STATE).ok);
});
