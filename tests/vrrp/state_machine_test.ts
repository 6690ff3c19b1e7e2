import assert from "node:assert/strict";
import {
  createVrrpState,
  FALLBACK_PRIORITY,
  HANDOFF_CAUSE,
  holdsVip,
  leaveTimeoutMs,
  masterDownIntervalMs,
  receiveDatagram,
  skewTimeMs,
  step,
  type VrrpAction,
  type VrrpConfig,
} from "../../lib/vrrp/mod.ts";
import {
  advertDatagram,
  BASE,
  deepFreeze,
  Driver,
  prng,
  randInt,
} from "./_support.ts";

// Priority 100, Advertisement_Interval 1 s (see BASE in _support.ts).
const A = 1000;
const SKEW = skewTimeMs(100, A); // (256 - 100) × 1000 / 256 = 609.375
const MDI = masterDownIntervalMs(100, A); // 3 × 1000 + 609.375

const PEER = "10.0.0.11"; // > 10.0.0.10 (ours)
const LOW_PEER = "10.0.0.9"; // < ours

function types(actions: VrrpAction[]): string[] {
  return actions.map((a) => a.type === "send" ? `send:${a.priority}` : a.type);
}

function reasonOf(actions: VrrpAction[]): string | undefined {
  const change = actions.find((a) => a.type === "stateChange");
  return change?.type === "stateChange" ? change.reason : undefined;
}

function advert(src: string, priority: number, intervalCs = 100) {
  return {
    type: "advertisement" as const,
    src,
    priority,
    maxAdvertIntervalCs: intervalCs,
  };
}

/** A driver that has become master at t = MDI (no peer heard). */
function master(config: Partial<VrrpConfig> = {}): Driver {
  const d = new Driver(config);
  d.at(0, { type: "startup" });
  d.advance(masterDownIntervalMs(config.priority ?? 100, A));
  assert.equal(d.state.phase, "master");
  return d;
}

Deno.test("timers: Skew_Time and Master_Down_Interval per RFC 5798 §6.1", () => {
  assert.equal(SKEW, 609.375);
  assert.equal(MDI, 3609.375);
  assert.equal(skewTimeMs(254, 1000), 7.8125);
  assert.equal(masterDownIntervalMs(1, 1000), 3996.09375);
  assert.equal(leaveTimeoutMs(1000), masterDownIntervalMs(1, 1000));
});

Deno.test("config: invalid values throw a RangeError naming the field", () => {
  const bad: [Partial<VrrpConfig>, RegExp][] = [
    [{ priority: 0 }, /priority/],
    [{ priority: 255 }, /priority/],
    [{ priority: 1, noneEligiblePolicy: "fallback" }, /priority/],
    [{ advertIntervalCs: 0 }, /advertIntervalCs/],
    [{ advertIntervalCs: 4096 }, /advertIntervalCs/],
    [{ primaryIp: "10.0.0" }, /primaryIp/],
    [{ noneEligiblePolicy: "maybe" as "fallback" }, /noneEligiblePolicy/],
  ];
  for (const [over, msg] of bad) {
    assert.throws(() => createVrrpState({ ...BASE, ...over }), msg);
  }
});

Deno.test("startup: Initialize -> Backup with Master_Down_Timer = Master_Down_Interval, never master directly", () => {
  const d = new Driver();
  assert.equal(d.state.phase, "initialize");
  const actions = d.at(0, { type: "startup" });
  assert.deepEqual(types(actions), ["stateChange"]);
  assert.equal(reasonOf(actions), "startup");
  assert.equal(d.state.phase, "backup");
  assert.equal(d.state.masterDownAt, MDI);
  assert.equal(holdsVip(d.state), false);
  assert.equal(
    step(d.state, { type: "tick", nowMs: MDI - 0.001 }).state.phase,
    "backup",
  );
});

Deno.test("backup: Master_Down_Timer expiry -> Master (advertise, add VIP, announce)", () => {
  const d = new Driver();
  d.at(0, { type: "startup" });
  const actions = d.advance(MDI);
  assert.deepEqual(types(actions), [
    "stateChange",
    "addVip",
    "send:100",
    "announce",
  ]);
  assert.equal(reasonOf(actions), "master down timer expired");
  assert.equal(d.state.phase, "master");
  assert.equal(d.state.adverAt, MDI + A);
  assert.equal(holdsVip(d.state), true);
});

Deno.test("backup: priority-0 advertisement sets Master_Down_Timer to Skew_Time", () => {
  const d = new Driver();
  d.at(0, { type: "startup" });
  d.at(500, advert(PEER, 200));
  d.at(1500, advert(PEER, 0));
  assert.equal(d.state.masterDownAt, 1500 + SKEW);
  const actions = d.advance(1500 + SKEW);
  assert.equal(d.state.phase, "master");
  assert.equal(reasonOf(actions), `priority-0 advertisement from ${PEER}`);
});

Deno.test("backup: priority >= own resets Master_Down_Timer and learns Master_Adver_Interval", () => {
  const d = new Driver();
  d.at(0, { type: "startup" });
  d.at(3000, advert(PEER, 100, 200)); // equal priority, 2 s interval
  assert.equal(d.state.masterAdverIntervalMs, 2000);
  assert.equal(d.state.masterDownAt, 3000 + masterDownIntervalMs(100, 2000));
  assert.equal(d.state.master, PEER);
  d.at(6000, advert(PEER, 200, 200));
  assert.equal(d.state.masterDownAt, 6000 + masterDownIntervalMs(100, 2000));
  d.advance(6000 + masterDownIntervalMs(100, 2000) - 1);
  assert.equal(d.state.phase, "backup");
});

Deno.test("backup: preempt off -> any advertisement resets Master_Down_Timer", () => {
  const d = new Driver({ preempt: false });
  d.at(0, { type: "startup" });
  for (let t = 1000; t <= 20000; t += 1000) d.at(t, advert(LOW_PEER, 50));
  assert.equal(d.state.phase, "backup");
  assert.equal(d.state.masterDownAt, 20000 + MDI);
});

Deno.test("backup: preempt on and lower priority -> discarded, so we time out and preempt", () => {
  const d = new Driver();
  d.at(0, { type: "startup" });
  for (let t = 1000; t < MDI; t += 1000) {
    const before = d.state;
    d.at(t, advert(LOW_PEER, 50, 300));
    assert.equal(d.state, before, "state untouched");
  }
  const actions = d.advance(MDI);
  assert.equal(d.state.phase, "master");
  assert.equal(reasonOf(actions), "master down timer expired");
  assert.equal(d.state.masterAdverIntervalMs, A, "interval not learned");
});

Deno.test("master: Adver_Timer expiry -> send an advertisement every interval", () => {
  const d = master();
  const start = d.now;
  const actions = d.advance(start + 5 * A);
  assert.deepEqual(types(actions), Array(5).fill("send:100"));
  assert.deepEqual(
    d.find("send").map((s) => s.at - start),
    [0, A, 2 * A, 3 * A, 4 * A, 5 * A],
  );
});

Deno.test("master: priority-0 advertisement -> send at once and reset Adver_Timer", () => {
  const d = master();
  const t = d.now + 400;
  const actions = d.at(t, advert(PEER, 0));
  assert.equal(types(actions)[0], "send:100");
  assert.equal(d.state.adverAt, t + A);
  assert.equal(d.state.phase, "master");
});

Deno.test("master: higher priority -> Backup, VIP removed, interval learned, Master_Down_Timer set", () => {
  const d = master();
  const t = d.now + 250;
  const actions = d.at(t, advert(LOW_PEER, 150, 50));
  assert.deepEqual(types(actions), ["stateChange", "removeVip", "send:100"]);
  assert.equal(
    reasonOf(actions),
    `peer with higher priority ${LOW_PEER} (150 > 100)`,
  );
  assert.equal(d.state.phase, "backup");
  assert.equal(d.state.masterAdverIntervalMs, 500);
  assert.equal(d.state.masterDownAt, t + masterDownIntervalMs(100, 500));
  assert.equal(d.state.adverAt, null);
  assert.equal(holdsVip(d.state), false);
});

Deno.test("master: equal priority from a greater address -> Backup (tie-break)", () => {
  const d = master();
  const actions = d.at(d.now + 10, advert(PEER, 100));
  assert.equal(d.state.phase, "backup");
  assert.equal(
    reasonOf(actions),
    `peer with equal priority 100 and higher address ${PEER}`,
  );
});

Deno.test("master: tie-break compares addresses as numbers, not text", () => {
  // "10.0.0.9" > "10.0.0.10" as strings, but not as addresses.
  const d = master();
  d.at(d.now + 10, advert(LOW_PEER, 100));
  assert.equal(d.state.phase, "master");
  const e = master({ primaryIp: "10.0.0.9" });
  e.at(e.now + 10, advert("10.0.0.10", 100));
  assert.equal(e.state.phase, "backup");
});

Deno.test("master: lower priority (or equal with lower address) -> stay, answer with advert + announce", () => {
  for (
    const [src, prio] of [[LOW_PEER, 50], [LOW_PEER, 100], [PEER, 99]] as const
  ) {
    const d = master();
    const actions = d.at(d.now + A, advert(src, prio));
    assert.equal(d.state.phase, "master");
    assert.deepEqual(
      types(actions),
      ["log", "send:100", "announce"],
      `${src}/${prio}`,
    );
  }
});

Deno.test("master: a flood of lower-priority adverts is answered at most once per interval", () => {
  const d = master();
  const t0 = d.now + A; // one interval after taking over: announcing is allowed
  const answered: VrrpAction[] = [];
  // 1,000 conflicting adverts within one interval (keepalived: 6,000 packets).
  for (let i = 0; i < 1000; i++) {
    answered.push(...d.at(t0 + i * 0.9, advert(LOW_PEER, 50)));
  }
  assert.deepEqual(types(answered), ["log", "send:100", "announce"]);
  // Periodic adverts go on regardless; the next answer comes an interval later.
  const next = d.at(t0 + A, advert(LOW_PEER, 50));
  assert.ok(types(next).includes("announce"));
  assert.equal(d.find("announce").length, 3); // takeover + 2 answers
});

Deno.test("master: the takeover's own burst counts against the answer rate limit", () => {
  const d = master();
  const actions = d.at(d.now + 10, advert(LOW_PEER, 50));
  assert.deepEqual(actions, []);
});

Deno.test("master losing a conflict sends one last advert so the winner re-announces", () => {
  // Healed partition: W (priority 100) and L (90) are both master. W's
  // advert reaches L first, so W never heard L while L held the VIP.
  const w = master();
  const l = master({ priority: 90, primaryIp: PEER });
  const t = Math.max(w.now, l.now) + 5 * A;
  w.advance(t);
  l.advance(t);
  const lActions = l.at(t + 1, advert("10.0.0.10", 100));
  assert.deepEqual(types(lActions), ["stateChange", "removeVip", "send:90"]);
  // L's farewell reaches W: W answers with an announce at once.
  const wActions = w.at(t + 2, advert(PEER, 90));
  assert.deepEqual(types(wActions), ["log", "send:100", "announce"]);
  // W's answer reaches L, now a backup: it just resets L's timer.
  l.at(t + 3, advert("10.0.0.10", 100));
  assert.equal(l.state.phase, "backup");
  assert.equal(l.state.masterDownAt, t + 3 + masterDownIntervalMs(90, A));
});

Deno.test("shutdown as master: priority 0, keep the VIP until the new master announces", () => {
  const d = master();
  const t = d.now + 300;
  const actions = d.at(t, { type: "shutdown" });
  assert.deepEqual(types(actions), ["stateChange", "send:0"]);
  assert.equal(d.state.phase, "leaving");
  assert.equal(holdsVip(d.state), true, "make-before-break");
  // Another node leaving (priority 0) is not a successor.
  assert.deepEqual(d.at(t + 100, advert(LOW_PEER, 0)), []);
  const done = d.at(t + 650, advert(PEER, 90));
  assert.deepEqual(types(done), ["removeVip", "stateChange", "exit"]);
  assert.equal(reasonOf(done), `new master ${PEER} announced`);
  assert.equal(d.state.phase, "stopped");
  assert.equal(
    d.state.masterDownAt ?? d.state.adverAt ?? d.state.leaveBy,
    null,
  );
});

Deno.test("shutdown as master with no peer: resend priority 0, release after the longest Master_Down_Interval", () => {
  const d = master();
  const t = d.now;
  d.at(t, { type: "shutdown" });
  const actions = d.advance(t + leaveTimeoutMs(A) + 5 * A);
  assert.deepEqual(types(actions), [
    "send:0",
    "send:0",
    "send:0",
    "removeVip",
    "stateChange",
    "exit",
  ]);
  assert.equal(d.find("exit")[0].at, t + leaveTimeoutMs(A));
});

Deno.test("shutdown: a second (forced) shutdown while leaving releases at once", () => {
  const d = master();
  d.at(d.now, { type: "shutdown" });
  assert.deepEqual(
    d.at(d.now + 10, { type: "shutdown" }),
    [],
    "repeat ignored",
  );
  const actions = d.at(d.now + 20, { type: "shutdown", force: true });
  assert.deepEqual(types(actions), ["removeVip", "stateChange", "exit"]);
});

Deno.test("shutdown as backup or before startup: exit at once", () => {
  const b = new Driver();
  b.at(0, { type: "startup" });
  assert.deepEqual(types(b.at(100, { type: "shutdown" })), [
    "stateChange",
    "exit",
  ]);
  const i = new Driver();
  assert.deepEqual(types(i.at(0, { type: "shutdown" })), [
    "stateChange",
    "exit",
  ]);
  assert.equal(i.state.phase, "stopped");
});

Deno.test("stopped: every event is ignored", () => {
  const d = new Driver();
  d.at(0, { type: "shutdown" });
  const s = d.state;
  for (
    const ev of [
      { type: "startup" },
      advert(PEER, 0),
      { type: "eligibility", eligible: false },
      { type: "interface", up: false },
      { type: "shutdown" },
    ] as const
  ) {
    assert.deepEqual(d.at(d.now + 1000, ev), []);
  }
  assert.equal(d.state, s);
  assert.equal(step(s, { type: "tick", nowMs: 1e9 }).nextDeadlineMs, null);
});

Deno.test("eligibility: a node that is not ready stays backup forever", () => {
  const d = new Driver({}, { eligible: false });
  const actions = d.at(0, { type: "startup" });
  assert.equal(
    reasonOf(actions),
    "startup; health not ready: no health verdict yet, will not take over",
  );
  assert.equal(d.state.masterDownAt, null);
  d.at(60_000, advert(PEER, 0)); // even a leaving master changes nothing
  d.advance(3_600_000);
  assert.equal(d.state.phase, "backup");
  assert.deepEqual(d.find("send"), []);
});

Deno.test("eligibility: becoming ready restarts the Master_Down_Timer in full", () => {
  const d = new Driver({}, { eligible: false });
  d.at(0, { type: "startup" });
  d.at(10_000, { type: "eligibility", eligible: true });
  assert.equal(d.state.masterDownAt, 10_000 + MDI);
  d.at(12_000, { type: "eligibility", eligible: false, reason: "etcd" });
  assert.equal(d.state.masterDownAt, null);
  d.at(13_000, { type: "eligibility", eligible: true });
  d.advance(13_000 + MDI);
  assert.equal(d.state.phase, "master");
  assert.equal(d.find("stateChange").at(-1)?.at, 13_000 + MDI);
});

Deno.test("eligibility lost as master: priority 0, VIP kept until the successor announced, then backup", () => {
  const d = master();
  const t = d.now + 200;
  const actions = d.at(t, {
    type: "eligibility",
    eligible: false,
    reason: "etcd",
  });
  // Make-before-break: no removeVip yet, clients keep an answer.
  assert.deepEqual(types(actions), ["stateChange", "send:0"]);
  assert.equal(reasonOf(actions), "health not ready: etcd");
  assert.equal(d.state.phase, "yielding");
  assert.ok(holdsVip(d.state));
  // The priority-0 advert is repeated every interval in case it was lost.
  assert.deepEqual(types(d.advance(t + A)), ["send:0"]);
  // The successor's first advertisement ends the handover.
  const handed = d.at(t + A + SKEW, advert(LOW_PEER, 50));
  assert.deepEqual(types(handed), ["stateChange", "removeVip"]);
  assert.match(
    reasonOf(handed)!,
    /^health not ready: etcd; new master 10\.0\.0\.9 announced$/,
  );
  assert.equal(d.state.phase, "backup");
  assert.equal(d.state.masterDownAt, null, "no takeover while not ready");
  d.advance(t + 60_000);
  assert.equal(d.state.phase, "backup", "no comeback while not ready");
  d.at(t + 60_000, { type: "eligibility", eligible: true });
  d.advance(t + 60_000 + MDI);
  assert.equal(d.state.phase, "master");
});

Deno.test("yielding with nobody to take over: the VIP goes after the leave timeout", () => {
  const d = master();
  const t = d.now + 100;
  d.at(t, { type: "eligibility", eligible: false, reason: "etcd" });
  const out = d.advance(t + leaveTimeoutMs(A));
  assert.deepEqual(types(out).filter((x) => x !== "send:0"), [
    "stateChange",
    "removeVip",
  ]);
  assert.equal(d.state.phase, "backup");
  assert.ok(!holdsVip(d.state));
});

Deno.test("yielding, ready again before a successor: master again without dropping the VIP", () => {
  const d = master();
  const t = d.now + 100;
  d.at(t, { type: "eligibility", eligible: false, reason: "etcd" });
  const back = d.at(t + 300, { type: "eligibility", eligible: true });
  assert.deepEqual(types(back), ["stateChange", "send:100"]);
  assert.equal(d.state.phase, "master");
  assert.ok(!d.find("removeVip").length, "the VIP never left");
});

Deno.test("yielding: shutdown becomes leaving (then exit), interface down releases at once", () => {
  let d = master();
  let t = d.now + 100;
  d.at(t, { type: "eligibility", eligible: false, reason: "etcd" });
  assert.deepEqual(types(d.at(t + 10, { type: "shutdown" })), ["stateChange"]);
  assert.equal(d.state.phase, "leaving");
  assert.deepEqual(types(d.at(t + 500, advert(LOW_PEER, 50))), [
    "removeVip",
    "stateChange",
    "exit",
  ]);

  d = master();
  t = d.now + 100;
  d.at(t, { type: "eligibility", eligible: false, reason: "etcd" });
  assert.deepEqual(types(d.at(t + 10, { type: "interface", up: false })), [
    "stateChange",
    "removeVip",
  ]);
  assert.equal(d.state.phase, "initialize");
});

Deno.test("interface down as master: step down (remove VIP, send nothing) until it is up", () => {
  const d = master();
  const t = d.now + 100;
  const actions = d.at(t, { type: "interface", up: false });
  assert.deepEqual(types(actions), ["stateChange", "removeVip"]);
  assert.equal(reasonOf(actions), "interface down");
  assert.equal(d.state.phase, "initialize");
  assert.deepEqual(d.advance(t + 60_000), []);
  assert.deepEqual(d.at(t + 60_000, advert(PEER, 0)), []);
  const up = d.at(t + 70_000, { type: "interface", up: true });
  assert.equal(reasonOf(up), "interface up");
  assert.equal(d.state.phase, "backup");
  assert.equal(d.state.masterDownAt, t + 70_000 + MDI);
});

Deno.test("interface down at startup: wait for it, then join as backup", () => {
  const d = new Driver({}, { interfaceUp: false });
  const actions = d.at(0, { type: "startup" });
  assert.deepEqual(types(actions), ["log"]);
  assert.equal(d.state.phase, "initialize");
  d.at(5000, { type: "interface", up: true });
  assert.equal(d.state.phase, "backup");
  assert.equal(d.state.masterDownAt, 5000 + MDI);
});

Deno.test("interface down while leaving: release and exit", () => {
  const d = master();
  d.at(d.now, { type: "shutdown" });
  const actions = d.at(d.now + 10, { type: "interface", up: false });
  assert.deepEqual(types(actions), ["removeVip", "stateChange", "exit"]);
});

Deno.test("fallback policy: with no ready node, one holds the VIP at priority 1", () => {
  const d = new Driver({ noneEligiblePolicy: "fallback" }, { eligible: false });
  d.at(0, { type: "startup" });
  const mdi1 = masterDownIntervalMs(FALLBACK_PRIORITY, A);
  assert.equal(d.state.masterDownAt, mdi1);
  const actions = d.advance(mdi1);
  assert.deepEqual(types(actions), [
    "stateChange",
    "addVip",
    "send:1",
    "announce",
    "log",
  ]);
  // Ready again: advertise the real priority at once.
  const ready = d.at(d.now + 10, { type: "eligibility", eligible: true });
  assert.deepEqual(types(ready), ["log", "send:100"]);
});

Deno.test("fallback policy: a ready backup replaces a priority-1 master after Skew_Time, even without preempt", () => {
  const d = new Driver({ noneEligiblePolicy: "fallback", preempt: false });
  d.at(0, { type: "startup" });
  d.at(1000, advert(PEER, FALLBACK_PRIORITY));
  assert.equal(d.state.masterDownAt, 1000 + SKEW);
  d.at(1000 + SKEW / 2, advert(PEER, FALLBACK_PRIORITY)); // does not push it out
  assert.equal(d.state.masterDownAt, 1000 + SKEW);
  const actions = d.advance(1000 + SKEW);
  assert.equal(reasonOf(actions), `not-ready master ${PEER} (priority 1)`);
  // Without the fallback policy, priority 1 is an ordinary priority.
  const strict = new Driver({ preempt: false });
  strict.at(0, { type: "startup" });
  strict.at(1000, advert(PEER, 1));
  assert.equal(strict.state.masterDownAt, 1000 + MDI);
});

Deno.test("fallback policy: a master turning not ready keeps the VIP at priority 1", () => {
  const d = master({ noneEligiblePolicy: "fallback" });
  const actions = d.at(d.now + 1, {
    type: "eligibility",
    eligible: false,
    reason: "etcd",
  });
  assert.deepEqual(types(actions), ["log", "send:1"]);
  assert.equal(d.state.phase, "master");
  // A ready node takes over: we yield to it like to any higher priority.
  d.at(d.now + 700, advert(LOW_PEER, 100));
  assert.equal(d.state.phase, "backup");
});

const GARBAGE_OPTS = {
  vrid: 51,
  addresses: ["10.0.0.100"],
  primaryIp: "10.0.0.10",
};

/** Invalid datagrams that would reset timers if they were obeyed. */
function garbage(rand: () => number): Uint8Array {
  const kinds = [
    () => advertDatagram({ priority: 200, ttl: 64 }),
    () => advertDatagram({ priority: 200, checksum: 0xbeef }),
    () => advertDatagram({ priority: 200, vrid: 52 }),
    () => advertDatagram({ priority: 200, addresses: ["10.0.0.99"] }),
    () => advertDatagram({ priority: 200, intervalCs: 0 }),
    () => advertDatagram({ priority: 0, version: 2 }),
    () => advertDatagram({ priority: 0, src: "10.0.0.10" }),
    () => advertDatagram({ priority: 255 }).subarray(0, 30),
    () =>
      Uint8Array.from({ length: randInt(rand, 60) }, () => randInt(rand, 256)),
  ];
  return kinds[randInt(rand, kinds.length)]();
}

Deno.test("garbage packets never delay a backup's takeover", () => {
  const rand = prng(42);
  const d = new Driver();
  d.at(0, { type: "startup" });
  let drops = 0;
  for (let t = 5; t < MDI; t += 5) {
    d.advance(t);
    const before = d.state;
    const r = receiveDatagram(d.state, {
      datagram: garbage(rand),
      nowMs: t,
      validation: GARBAGE_OPTS,
    });
    assert.notEqual(r.drop, null);
    assert.equal(r.state, before, "a dropped packet returns the same state");
    assert.deepEqual(r.actions, []);
    assert.equal(r.nextDeadlineMs, MDI);
    drops++;
  }
  d.advance(MDI);
  assert.equal(d.state.phase, "master");
  assert.equal(d.find("addVip")[0].at, MDI);
  assert.ok(drops > 700);
});

Deno.test("garbage packets never silence a master's advertisements", () => {
  const rand = prng(43);
  const d = master();
  const start = d.now;
  for (let t = start + 3; t < start + 10 * A; t += 3) {
    d.advance(t);
    const r = receiveDatagram(d.state, {
      datagram: garbage(rand),
      nowMs: t,
      validation: GARBAGE_OPTS,
    });
    assert.equal(r.state, d.state);
  }
  d.advance(start + 10 * A);
  assert.deepEqual(
    d.find("send").map((s) => s.at - start),
    Array.from({ length: 11 }, (_, i) => i * A),
  );
  assert.equal(d.state.phase, "master");
});

Deno.test("receiveDatagram: a valid packet steps the machine", () => {
  const d = master();
  const r = receiveDatagram(d.state, {
    datagram: advertDatagram({ priority: 200 }),
    nowMs: d.now + 1,
    validation: GARBAGE_OPTS,
  });
  assert.equal(r.drop, null);
  assert.equal(r.state.phase, "backup");
  assert.ok(r.packet.ok && r.packet.src === "10.0.0.11");
});

Deno.test("step is pure: frozen inputs, same inputs give same outputs", () => {
  const d = master();
  const frozen = deepFreeze(d.state);
  const events = [
    { type: "tick", nowMs: d.now + A },
    { ...advert(PEER, 0), nowMs: d.now + 10 },
    { ...advert(PEER, 200), nowMs: d.now + 10 },
    { ...advert(LOW_PEER, 20), nowMs: d.now + A },
    { type: "eligibility", eligible: false, nowMs: d.now + 1 },
    { type: "interface", up: false, nowMs: d.now + 1 },
    { type: "shutdown", nowMs: d.now + 1 },
  ] as const;
  for (const ev of events) {
    assert.deepEqual(step(frozen, ev), step(frozen, ev), ev.type);
  }
  assert.throws(() => step(frozen, { type: "tick", nowMs: NaN }), RangeError);
  assert.throws(
    () => step(frozen, { ...advert(PEER, 256), nowMs: 0 }),
    RangeError,
  );
});

Deno.test("a failed VIP add holds the node off for vipFaultHoldoffMs, as an event of the machine", () => {
  const d = master({ vipFaultHoldoffMs: 5000 });
  const t = d.now + 10;
  const out = d.at(t, {
    type: "vipFault",
    reason: "cannot add the VIP: EPERM",
  });
  assert.deepEqual(types(out), ["stateChange", "send:0"]);
  assert.equal(d.state.phase, "yielding");
  assert.equal(d.state.eligible, false);
  assert.equal(d.state.ineligibleReason, "cannot add the VIP: EPERM");
  // The hold-off is a deadline of the machine, not a timer of the daemon.
  assert.equal(d.state.blocks[0].untilMs, t + 5000);
  // Health turning bad meanwhile keeps the more pressing reason shown.
  d.at(t + 100, { type: "eligibility", eligible: false, reason: "etcd" });
  assert.equal(d.state.ineligibleReason, "cannot add the VIP: EPERM");
  d.at(t + 200, { type: "eligibility", eligible: true });
  // Nobody took over: after the leave timeout it is backup, still held off.
  d.advance(t + leaveTimeoutMs(A));
  assert.equal(d.state.phase, "backup");
  assert.equal(d.state.masterDownAt, null, "no takeover while held off");
  // The hold-off lifts by itself at its time; the timer starts in full.
  const lifted = d.advance(t + 5000);
  assert.equal(d.state.eligible, true);
  assert.equal(d.state.blocks.length, 0);
  assert.ok(lifted.some((a) => a.type === "log"), JSON.stringify(lifted));
  assert.equal(d.state.masterDownAt, t + 5000 + MDI);
  d.advance(t + 5000 + MDI);
  assert.equal(d.state.phase, "master", "it tries again");
  assert.equal(d.find("addVip").length, 2);
});

Deno.test("a hold-off ends into whatever health says then", () => {
  const d = new Driver({ vipFaultHoldoffMs: 1000 });
  d.at(0, { type: "startup" });
  d.at(10, { type: "vipFault", reason: "cannot add the VIP: ENODEV" });
  d.at(20, { type: "eligibility", eligible: false, reason: "etcd failing" });
  d.advance(1010);
  assert.equal(d.state.eligible, false);
  assert.equal(d.state.ineligibleReason, "etcd failing");
  assert.deepEqual(d.state.blocks.map((b) => b.cause), ["health"]);
  assert.equal(d.state.masterDownAt, null);
  // Another input, by cause: both must clear before the node is eligible.
  d.at(1100, {
    type: "eligibility",
    cause: "source",
    eligible: false,
    reason: "no source address",
  });
  d.at(1200, { type: "eligibility", eligible: true });
  assert.equal(d.state.ineligibleReason, "no source address");
  d.at(1300, { type: "eligibility", cause: "source", eligible: true });
  assert.equal(d.state.eligible, true);
  assert.throws(
    () => createVrrpState({ ...BASE, vipFaultHoldoffMs: -1 }),
    /vipFaultHoldoffMs/,
  );
});

Deno.test("an eligibility block with a duration lifts itself (a planned handoff)", () => {
  const d = master();
  const t = d.now + 10;
  const out = d.at(t, {
    type: "eligibility",
    cause: "handoff",
    eligible: false,
    reason: "handoff requested",
    forMs: 60_000,
  });
  assert.deepEqual(types(out), ["stateChange", "send:0"]);
  assert.equal(d.state.ineligibleReason, "handoff requested");
  // A successor announces itself: the VIP goes (make-before-break).
  const handed = d.at(t + 700, {
    type: "advertisement",
    src: LOW_PEER,
    priority: 50,
    maxAdvertIntervalCs: 100,
  });
  assert.deepEqual(types(handed), ["stateChange", "removeVip"]);
  assert.equal(d.state.phase, "backup");
  d.advance(t + 59_999);
  assert.equal(d.state.eligible, false);
  assert.equal(d.state.masterDownAt, null, "out of the election meanwhile");
  d.advance(t + 60_000);
  assert.equal(d.state.eligible, true, "lifted at its time");
});

Deno.test("an immediate block (cannot advertise) drops the VIP at once: no make-before-break, no health prefix", () => {
  const d = master();
  const t = d.now + 10;
  const out = d.at(t, {
    type: "eligibility",
    cause: "source",
    eligible: false,
    immediate: true,
    reason: "cannot advertise: no source address (10.0.0.10 is not on eth0)",
  });
  assert.deepEqual(types(out), ["stateChange", "send:0", "removeVip"]);
  assert.equal(
    reasonOf(out),
    "cannot advertise: no source address (10.0.0.10 is not on eth0)",
  );
  assert.equal(d.state.phase, "backup");
  assert.equal(d.state.masterDownAt, null, "no takeover while blocked");
  assert.equal(holdsVip(d.state), false);
  // Back: eligible, the timer starts in full, master again.
  d.at(t + 100, { type: "eligibility", cause: "source", eligible: true });
  assert.equal(d.state.masterDownAt, t + 100 + MDI);
  d.advance(t + 100 + MDI);
  assert.equal(d.state.phase, "master");
});

Deno.test("an immediate block also ends a make-before-break that health started", () => {
  const d = master();
  d.at(d.now + 10, { type: "eligibility", eligible: false, reason: "etcd" });
  assert.equal(d.state.phase, "yielding");
  const out = d.at(d.now + 20, {
    type: "eligibility",
    cause: "subnet",
    eligible: false,
    immediate: true,
    reason: "no own address in the VIP's subnet",
  });
  assert.deepEqual(types(out), ["stateChange", "send:0", "removeVip"]);
  assert.equal(d.state.phase, "backup");
  // The standing reason shown is the more pressing one.
  assert.equal(d.state.ineligibleReason, "no own address in the VIP's subnet");
});

Deno.test("an immediate block overrides the fallback policy, and a timed one lifts by itself", () => {
  const d = new Driver({ noneEligiblePolicy: "fallback" });
  d.at(0, { type: "startup" });
  d.at(10, {
    type: "eligibility",
    cause: "send",
    eligible: false,
    immediate: true,
    forMs: 5000,
    reason: "cannot advertise from 10.0.0.10: ENETUNREACH",
  });
  assert.equal(d.state.masterDownAt, null, "fallback must not hold it");
  assert.equal(d.state.blocks[0].untilMs, 5010);
  d.advance(5010);
  assert.equal(d.state.eligible, true);
  assert.equal(d.state.masterDownAt, 5010 + MDI);
});

Deno.test("settings (a configuration re-read): the next advertisement carries the new priority; a bad one changes nothing", () => {
  const d = master();
  const t = d.now + 10;
  const out = d.at(t, { type: "settings", priority: 200, preempt: false });
  assert.deepEqual(types(out), ["log"]);
  assert.equal(d.state.config.priority, 200);
  assert.equal(d.state.config.preempt, false);
  d.advance(t + A);
  const sends = d.find("send");
  const last = sends[sends.length - 1].action;
  assert.equal(last.type === "send" && last.priority, 200);
  // Unchanged settings: nothing happens.
  assert.deepEqual(
    d.at(t + A + 1, { type: "settings", priority: 200, preempt: false }),
    [],
  );
  // A bad value is refused with the field named, and nothing changes.
  assert.throws(
    () => d.at(t + A + 2, { type: "settings", priority: 0, preempt: false }),
    /priority/,
  );
  assert.equal(d.state.config.priority, 200);
});

Deno.test("a planned handoff that nobody takes over is cancelled: the master keeps the VIP", () => {
  const d = master();
  const t = d.now + 10;
  d.at(t, {
    type: "eligibility",
    cause: HANDOFF_CAUSE,
    eligible: false,
    reason: "handoff requested",
    forMs: 600_000,
  });
  assert.equal(d.state.phase, "yielding");
  const out = d.advance(t + leaveTimeoutMs(A));
  assert.equal(d.state.phase, "master");
  assert.equal(d.state.eligible, true, "the handoff block is gone");
  assert.ok(!types(out).includes("removeVip"), types(out).join());
  assert.match(reasonOf(out)!, /handoff cancelled: no other node took over/);
  assert.ok(types(out).includes("send:100"), "advertises its priority again");
  // Yielding for another reason (health) still gives the VIP up.
  const h = master();
  const u = h.now + 10;
  h.at(u, { type: "eligibility", cause: HANDOFF_CAUSE, eligible: false });
  h.at(u + 100, { type: "eligibility", eligible: false, reason: "etcd" });
  const gone = h.advance(u + leaveTimeoutMs(A));
  assert.equal(h.state.phase, "backup");
  assert.ok(types(gone).includes("removeVip"));
});
