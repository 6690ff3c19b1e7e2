import assert from "node:assert/strict";
import {
  type AuthConfig,
  AuthKey,
  checkAuthentication,
  createSigner,
  defaultTimeWindowMs,
  EMPTY_REPLAY_STATE,
  type ReplayState,
} from "../../lib/vrrp_auth/mod.ts";
import { capturedAdverts, VECTOR_KEY_BYTES } from "./_support.ts";

const KEY = new AuthKey(1, VECTOR_KEY_BYTES);
const CFG: AuthConfig = {
  keys: new Map([[1, KEY]]),
  activeKeyId: 1,
  mode: "enforce",
  antiReplay: "time",
  timeWindowMs: 5000,
  replaySlots: 4,
};

Deno.test("a signer reproduces keepalived's trailer at keepalived's time", () => {
  const [a] = capturedAdverts("time");
  // keepalived's sequence is 6b0ce26b be6d 0000: a clock reading in the
  // 1/65536 s slot 0xbe6d (0.74385 s to 0.74387 s).
  const signer = createSigner({
    config: CFG,
    wallClock: () => 1796006507_743.86,
  });
  const t = signer.sign({ pdu: a.pdu, src: a.src });
  assert.equal(signer.lastSequence, 0x6b0ce26b_be6d_0000n);
  assert.deepEqual(t, a.trailer);
});

Deno.test("a signer's adverts verify in a row, even within one clock tick", () => {
  const [a] = capturedAdverts("time");
  let now = 1796006507_000;
  const signer = createSigner({ config: CFG, wallClock: () => now });
  let replay: ReplayState = EMPTY_REPLAY_STATE;
  for (let i = 0; i < 6; i++) {
    if (i % 2 === 0) now += 1000; // two adverts per tick
    const trailer = signer.sign({ pdu: a.pdu, src: a.src });
    const r = checkAuthentication(
      {
        pdu: a.pdu,
        trailer,
        src: a.src,
        sender: "10.201.0.11",
        wallMs: now,
      },
      CFG,
      replay,
    );
    assert.ok(r.ok, `advert ${i}`);
    replay = r.replay;
  }
});

Deno.test("receive-only sends no trailer; an unknown active key is refused", () => {
  const [a] = capturedAdverts("time");
  const ro = createSigner({ config: { ...CFG, mode: "receive-only" } });
  assert.equal(ro.sign({ pdu: a.pdu, src: a.src }).length, 0);
  assert.equal(ro.lastSequence, null);
  assert.throws(
    () => createSigner({ config: { ...CFG, activeKeyId: 2 } }),
    /active key 2/,
  );
});

Deno.test("the default time window is max(3 × interval, 5 s)", () => {
  assert.equal(defaultTimeWindowMs(1000), 5000);
  assert.equal(defaultTimeWindowMs(100), 5000);
  assert.equal(defaultTimeWindowMs(2000), 6000);
  assert.equal(defaultTimeWindowMs(40_950), 122_850);
});
