import assert from "node:assert/strict";
import {
  EMPTY_REPLAY_STATE,
  highWaterMark,
  isReplay,
  MULTICAST_REPLAY_SLOTS,
  recordSequence,
  type ReplayPolicy,
  sequenceAt,
} from "../../lib/vrrp_auth/mod.ts";

const T = 1796006507_000;
const TIME: ReplayPolicy = { mode: "time", windowMs: 5000, slots: 4 };
const MONO: ReplayPolicy = { ...TIME, mode: "monotonic" };

Deno.test("a sender's sequence must grow strictly", () => {
  let s = EMPTY_REPLAY_STATE;
  const a = sequenceAt(T);
  assert.ok(!isReplay(s, "10.0.0.1", a, T, TIME));
  s = recordSequence(s, "10.0.0.1", a, T, TIME);
  assert.ok(isReplay(s, "10.0.0.1", a, T, TIME), "the same again");
  assert.ok(isReplay(s, "10.0.0.1", a - 1n, T, TIME), "an older one");
  assert.ok(!isReplay(s, "10.0.0.1", a + 1n, T, TIME));
  // Another sender has its own mark.
  assert.ok(!isReplay(s, "10.0.0.2", a - 1000n, T, TIME));
  // Checking never changes the state.
  const before = s;
  isReplay(s, "10.0.0.1", a + 5n, T, TIME);
  assert.equal(s, before);
});

Deno.test("4 slots, least recently used first out (multicast)", () => {
  assert.equal(MULTICAST_REPLAY_SLOTS, 4);
  let s = EMPTY_REPLAY_STATE;
  const seq = sequenceAt(T);
  for (const host of [1, 2, 3, 4]) {
    s = recordSequence(s, `10.0.0.${host}`, seq, T, TIME);
  }
  // .1 is used again, so .2 is now the least recently used.
  s = recordSequence(s, "10.0.0.1", seq + 1n, T, TIME);
  s = recordSequence(s, "10.0.0.5", seq, T, TIME);
  assert.deepEqual(s.slots.map((x) => x.sender), [
    "10.0.0.5",
    "10.0.0.1",
    "10.0.0.4",
    "10.0.0.3",
  ]);
  assert.equal(highWaterMark(s, "10.0.0.2", T, TIME), null);
  assert.ok(isReplay(s, "10.0.0.1", seq + 1n, T, TIME));
});

Deno.test("time mode: a mark older than the window expires; monotonic keeps it", () => {
  const seq = sequenceAt(T);
  const s = recordSequence(EMPTY_REPLAY_STATE, "10.0.0.1", seq, T, TIME);
  // Within the window the mark holds, after it the mark is gone (a sender
  // whose clock stepped back recovers after one window).
  assert.ok(isReplay(s, "10.0.0.1", seq - 1n, T + 5000, TIME));
  assert.ok(!isReplay(s, "10.0.0.1", seq - 1n, T + 5001, TIME));
  assert.equal(highWaterMark(s, "10.0.0.1", T + 5001, TIME), null);
  const m = recordSequence(EMPTY_REPLAY_STATE, "10.0.0.1", seq, T, MONO);
  assert.ok(isReplay(m, "10.0.0.1", seq - 1n, T + 86_400_000, MONO));
  // Recording forgets expired marks of other senders.
  const later = recordSequence(s, "10.0.0.2", seq, T + 6000, TIME);
  assert.deepEqual(later.slots.map((x) => x.sender), ["10.0.0.2"]);
});
