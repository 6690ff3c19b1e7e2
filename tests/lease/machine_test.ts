import assert from "node:assert/strict";
import {
  createLeaseState,
  ineligibleReason,
  isEligible,
  JITTER_FACTOR,
  type LeaseRecord,
  lifetimeAfter,
  SUCCESSOR_GRACE_MS,
} from "../../lib/lease/mod.ts";
import {
  BASE,
  Driver,
  echo,
  find,
  holder,
  lease,
  started,
  types,
  WALL0,
  written,
} from "./_support.ts";

const P = BASE.retryPeriodMs; // 2 s
const R = BASE.renewDeadlineMs; // 10 s
const D = BASE.durationMs; // 15 s

Deno.test("config: client-go's checks and the fencing bound throw naming the field", () => {
  const bad: [Partial<typeof BASE>, RegExp][] = [
    [
      { durationMs: 10_000 },
      /durationMs \(10000\) must be greater than renewDeadlineMs/,
    ],
    [
      { renewDeadlineMs: 2_400, durationMs: 15_000 },
      /renewDeadlineMs \(2400\) must be greater than 1.2/,
    ],
    [{ durationMs: 15_500 }, /whole seconds/],
    [
      { durationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 1_000 },
      /fenced lifetime of only 1s.*at least 4s/,
    ],
    [{ identity: "" }, /identity/],
  ];
  for (const [over, msg] of bad) {
    assert.throws(() => createLeaseState({ ...BASE, ...over }), msg);
  }
  // renew_deadline just above 1.2 × retry is fine (client-go: strictly greater).
  createLeaseState({ ...BASE, renewDeadlineMs: 2_401, durationMs: 15_000 });
  createLeaseState({
    ...BASE,
    durationMs: 5_000,
    renewDeadlineMs: 3_000,
    retryPeriodMs: 1_000,
  });
});

Deno.test("start: the first GET goes out at once; nothing is written before an answer", () => {
  const d = new Driver();
  d.at(0, { type: "eligibility", eligible: true });
  const a = d.at(0, { type: "start" });
  assert.deepEqual(types(a), ["get"]);
});

Deno.test("absent lease + eligible: create with our record, six-digit times, transitions 0", () => {
  const d = started();
  const a = d.answer({ kind: "notFound" });
  const create = find(a, "create")!;
  assert.deepEqual(create.record, {
    holderIdentity: "cp-1",
    leaseDurationSeconds: 15,
    acquireTime: WALL0,
    renewTime: WALL0,
    leaseTransitions: 0,
  });
});

Deno.test("absent lease + not ready: no create; the next try is jittered in [P, 2.2P)", () => {
  const d = started({}, false);
  const a = d.answer({ kind: "notFound" });
  assert.equal(written(a), undefined);
  const next = d.state.nextTryMs!;
  assert.ok(next >= P && next < P * (1 + JITTER_FACTOR), `next try at ${next}`);
});

Deno.test("follower tries are spread by client-go's jitter, never below the retry period", () => {
  const d = started({ seed: 99 }, false);
  const gaps: number[] = [];
  let last = 0;
  for (let i = 0; i < 200; i++) {
    d.answer({ kind: "notFound" });
    const next = d.state.nextTryMs!;
    gaps.push(next - last);
    d.advanceTo(next);
    last = next;
  }
  assert.ok(gaps.every((g) => g >= P && g < P * 2.2));
  // Spread over the range, not a constant: both halves are used.
  assert.ok(gaps.some((g) => g < 1.6 * P) && gaps.some((g) => g > 1.6 * P));
});

Deno.test("created where none existed: the probe starts before the write; the VIP once it is unanswered", () => {
  const d = started();
  assert.deepEqual(types(d.answer({ kind: "notFound" })), [
    "probeVip",
    "create",
  ]);
  const a = echo(d);
  assert.deepEqual(types(a), ["leader", "follower->claiming"]);
  assert.equal(d.state.claimDeadlineMs, D);
  const b = d.do({ type: "vipFree", seenAnswered: false });
  assert.deepEqual(types(b), ["claiming->holder", "addVip"]);
  assert.equal(find(b, "addVip")!.lifetimeS, 12);
});

Deno.test("created, the probe keeps hearing an answer: the VIP is added at the deadline with a warning", () => {
  const d = started();
  d.answer({ kind: "notFound" });
  echo(d);
  // Renewals keep going meanwhile.
  for (let t = P; t < D; t += P) {
    d.advanceTo(t);
    echo(d);
    assert.equal(d.state.phase, "claiming");
  }
  const a = d.advanceTo(D);
  assert.ok(find(a, "addVip"));
  const warn = a.find((x) => x.type === "log" && x.level === "warn");
  assert.match((warn as { message: string }).message, /still answered/);
});

Deno.test("held by another: no write until D after the last observed change, by our own clock", () => {
  const d = started();
  const held = lease({ holderIdentity: "cp-2", leaseDurationSeconds: 15 });
  d.advanceTo(300);
  d.answer({ kind: "lease", lease: held }); // observed at 300
  // The follower schedules a try exactly at the expiry (300 + 15 s) at the latest.
  let t = 300;
  while (true) {
    const next = d.state.nextTryMs!;
    assert.ok(next <= 300 + D);
    d.advanceTo(next);
    t = next;
    const a = d.answer({ kind: "lease", lease: { ...held } }); // unchanged record
    if (t < 300 + D) assert.equal(written(a), undefined, `wrote at ${t}`);
    else {
      const r = written(a)!;
      assert.equal(r.holderIdentity, "cp-1");
      assert.equal(r.leaseTransitions, 1);
      assert.equal(r.acquireTime, WALL0 + t * 1000);
      break;
    }
  }
  assert.equal(t, 300 + D);
});

Deno.test("renewTime is never compared with the local clock (skewed holder clocks are fine)", () => {
  for (
    const renewTime of [
      Date.UTC(2000, 0, 1) * 1000,
      Date.UTC(2090, 0, 1) * 1000,
    ]
  ) {
    const d = started();
    const held = lease({
      holderIdentity: "cp-2",
      renewTime,
      acquireTime: renewTime,
    });
    d.answer({ kind: "lease", lease: held });
    d.advanceTo(D - 1);
    const a = d.answer({ kind: "lease", lease: held });
    assert.equal(written(a), undefined);
    d.advanceTo(d.state.nextTryMs!);
    assert.ok(written(d.answer({ kind: "lease", lease: held })));
  }
});

Deno.test("a changed record restarts the wait; the holder's own leaseDurationSeconds counts", () => {
  const d = started();
  d.answer({
    kind: "lease",
    lease: lease({ holderIdentity: "cp-2", renewTime: 1 }),
  });
  d.advanceTo(10_000);
  // Renewed (renewTime changed): held until 10 s + its 40 s now.
  d.answer({
    kind: "lease",
    lease: lease({
      holderIdentity: "cp-2",
      renewTime: 2,
      leaseDurationSeconds: 40,
    }),
  });
  assert.equal(d.state.observed!.atMs, 10_000);
  for (let t = 10_000; t < 49_000;) {
    t = d.state.nextTryMs!;
    d.advanceTo(t);
    const a = d.answer({
      kind: "lease",
      lease: lease({
        holderIdentity: "cp-2",
        renewTime: 2,
        leaseDurationSeconds: 40,
      }),
    });
    if (t < 50_000) assert.equal(written(a), undefined, `wrote at ${t}`);
  }
  // A record with no leaseDurationSeconds (0, as client-go reads it) is expired at once.
  const e = started();
  const a = e.answer({
    kind: "lease",
    lease: lease({ holderIdentity: "cp-2", leaseDurationSeconds: 0 }),
  });
  assert.ok(written(a));
});

Deno.test("empty holder: acquire at once, transitions +1; VIP once the previous holder's is gone", () => {
  const d = started();
  d.answer({
    kind: "lease",
    lease: lease({ holderIdentity: "cp-2", leaseTransitions: 4 }),
  });
  d.advanceTo(d.state.nextTryMs!);
  const a = d.answer({
    kind: "lease",
    lease: lease({
      holderIdentity: "",
      leaseDurationSeconds: 1,
      leaseTransitions: 4,
    }),
  });
  const r = written(a)!;
  assert.equal(r.holderIdentity, "cp-1");
  assert.equal(r.leaseTransitions, 5);
  // The probe starts before the claim is written: cp-2 still has its VIP.
  assert.deepEqual(types(a), ["leader", "probeVip", "update"]);
  const seenAt = d.now;
  const b = echo(d);
  assert.deepEqual(types(b), ["leader", "follower->claiming"]);
  // Deadline: when cp-2's VIP (fenced to its 15 s lease) must be gone.
  assert.equal(d.state.claimDeadlineMs, seenAt + 15_000);
  // Answered, then unanswered: cp-2 removed it; add now.
  d.advance(120);
  const c = d.do({ type: "vipFree", seenAnswered: true });
  assert.deepEqual(types(c), ["claiming->holder", "addVip"]);
});

/** A follower that read a lease cp-2 released (keeping its VIP, if `kept`) and claimed it. */
function claimingReleased(kept = true): Driver {
  const d = started();
  d.answer({ kind: "lease", lease: lease({ holderIdentity: "cp-2" }) });
  d.advanceTo(d.state.nextTryMs!);
  d.answer({
    kind: "lease",
    lease: lease(
      { leaseDurationSeconds: 1 },
      "ha-vip",
      kept ? "cp-2@0" : undefined,
    ),
  });
  return d;
}

Deno.test("a released lease whose VIP nobody answered: add only when the releaser's lifetime must be over", () => {
  const d = claimingReleased();
  const seenAt = d.now;
  echo(d);
  const a = d.do({ type: "vipFree", seenAnswered: false });
  assert.ok(!a.some((x) => x.type === "addVip"));
  let added = -1;
  while (added < 0) {
    const b = d.advanceTo(d.deadline!);
    if (b.some((x) => x.type === "addVip")) {
      added = d.now;
      // Not a conflict: nobody answered. No warning.
      assert.ok(!b.some((x) => x.type === "log" && x.level === "warn"));
    } else if (d.state.inflight) echo(d);
  }
  assert.equal(added, seenAt + 15_000);
});

Deno.test("a release without the keeps-its-VIP mark (kube-vip's, or a holder that had none): add once nobody answers", () => {
  const d = claimingReleased(false);
  echo(d);
  const a = d.do({ type: "vipFree", seenAnswered: false });
  assert.deepEqual(types(a), ["claiming->holder", "addVip"]);
});

Deno.test("a keeps-its-VIP mark of an earlier release (other transitions) does not count", () => {
  const d = started();
  d.answer({
    kind: "lease",
    lease: lease({ holderIdentity: "kv-1", leaseTransitions: 4 }),
  });
  d.advanceTo(d.state.nextTryMs!);
  // cp-3 released with its VIP at transitions 3; kube-vip took it (4) and
  // wrote our annotation back with the metadata it had read.
  d.answer({
    kind: "lease",
    lease: lease(
      { leaseDurationSeconds: 1, leaseTransitions: 4 },
      "ha-vip",
      "cp-3@3",
    ),
  });
  echo(d);
  const a = d.do({ type: "vipFree", seenAnswered: false });
  assert.deepEqual(types(a), ["claiming->holder", "addVip"]);
});

Deno.test("a holder's release carries the keeps-its-VIP mark only while it has the VIP", () => {
  const d = holder();
  const a = d.do({ type: "eligibility", eligible: false });
  assert.equal(find(a, "update")!.releasedBy, "cp-1@0");
  // Renewals never carry it.
  const h = holder();
  h.advanceTo(P);
  assert.equal(
    find(h.log.map((x) => x.action), "update")!.releasedBy,
    undefined,
  );
  // A claiming node (no VIP yet) releases without it.
  const c = started();
  c.answer({ kind: "notFound" });
  echo(c);
  const r = c.do({ type: "shutdown" });
  assert.equal(find(r, "update")!.releasedBy, undefined);
});

Deno.test("a claim whose answer was lost but which went through still waits for the releaser's VIP", () => {
  const d = claimingReleased(); // cp-2 released keeping its VIP
  const releaseSeen = d.state.inflight!.replaces!.atMs;
  const sent = d.pending.record!;
  d.answer({ kind: "error", message: "timeout" }); // ... but it was written
  d.advanceTo(d.state.nextTryMs!);
  const ours = lease(sent);
  d.answer({ kind: "lease", lease: ours });
  echo(d);
  assert.equal(d.state.phase, "claiming");
  assert.equal(d.state.claimStrict, true);
  assert.equal(d.state.claimDeadlineMs, releaseSeen + 15_000);
  // The probe never heard cp-2 (cut off?): only the deadline adds the VIP.
  const a = d.do({ type: "vipFree", seenAnswered: false });
  assert.ok(!a.some((x) => x.type === "addVip"));
});

Deno.test("the probe's word may come before the claim's answer", () => {
  const d = claimingReleased();
  d.do({ type: "vipFree", seenAnswered: true });
  const a = echo(d);
  assert.deepEqual(types(a).slice(-2), ["claiming->holder", "addVip"]);
});

Deno.test("409 on a claim: another node won; no VIP, try again later", () => {
  const d = started();
  d.answer({ kind: "notFound" });
  const a = d.answer({ kind: "conflict" });
  assert.equal(d.state.phase, "follower");
  assert.deepEqual(types(a), ["cancelProbe"]);
  assert.ok(d.state.nextTryMs! >= d.now + P);
});

Deno.test("taking an expired holder's lease: its fenced VIP is gone, add at once", () => {
  const d = started();
  d.answer({ kind: "lease", lease: lease({ holderIdentity: "cp-2" }) });
  d.advanceTo(D);
  d.answer({ kind: "lease", lease: lease({ holderIdentity: "cp-2" }) });
  // (a new object, same record: not a change)
  const a = echo(d);
  assert.deepEqual(types(a).slice(-2), ["follower->holder", "addVip"]);
});

Deno.test("holder: renews every retry period (no jitter) over the last resourceVersion, keeps acquireTime", () => {
  const d = holder();
  const acquired = d.state.observed!.record.acquireTime;
  let lastRv = d.state.lease!.resourceVersion;
  for (let i = 1; i <= 5; i++) {
    const a = d.advanceTo(i * P);
    const up = find(a, "update")!;
    assert.equal(up.base.resourceVersion, lastRv);
    assert.equal(up.record.acquireTime, acquired);
    assert.equal(up.record.renewTime, WALL0 + i * P * 1000);
    assert.equal(up.record.leaseTransitions, 0);
    const b = echo(d);
    assert.equal(find(b, "refreshVip")?.lifetimeS, 12);
    lastRv = d.state.lease!.resourceVersion;
  }
});

Deno.test("fencing: the lifetime shrinks with a slow renewal and is never refreshed without success", () => {
  const d = holder();
  d.advanceTo(P);
  d.advance(1_500); // answered 1.5 s after it was sent
  const a = echo(d);
  assert.equal(find(a, "refreshVip")!.lifetimeS, lifetimeAfter(D, 1_500));
  assert.equal(lifetimeAfter(D, 1_500), 11);
  // Failures: no refresh at all.
  d.advanceTo(d.state.nextTryMs!);
  const b = d.answer({ kind: "error", message: "connection refused" });
  assert.equal(find(b, "refreshVip"), undefined);
});

Deno.test("give up exactly renew_deadline after the last successful renewal was sent", () => {
  const d = holder();
  d.advanceTo(P);
  const sent = d.now;
  echo(d);
  let removedAt = -1;
  for (let i = 0; i < 20 && removedAt < 0; i++) {
    const next = d.deadline!;
    const a = d.advanceTo(next);
    if (a.some((x) => x.type === "removeVip")) removedAt = d.now;
    else if (d.state.inflight) d.answer({ kind: "error", message: "timeout" });
  }
  assert.equal(removedAt, sent + R);
  assert.equal(d.state.phase, "follower");
});

Deno.test("a hung renewal still gives up at the deadline; its late success is ignored", () => {
  const d = holder();
  d.advanceTo(P);
  const f = d.pending;
  const a = d.advanceTo(R + 1);
  assert.ok(a.some((x) => x.type === "removeVip"));
  const b = d.do({
    type: "response",
    id: f.id,
    result: { kind: "lease", lease: lease(f.record!) },
  });
  assert.ok(!b.some((x) => x.type === "refreshVip" || x.type === "addVip"));
});

Deno.test("409 on a renewal: re-read; another holder means lost (VIP off at once), ours means write again", () => {
  const d = holder();
  d.advanceTo(P);
  assert.deepEqual(types(d.answer({ kind: "conflict" })), ["get"]);
  const a = d.answer({
    kind: "lease",
    lease: lease({ holderIdentity: "cp-3", leaseTransitions: 1 }),
  });
  assert.deepEqual(types(a).slice(0, 3), [
    "leader",
    "removeVip",
    "holder->follower",
  ]);

  const e = holder();
  e.advanceTo(P);
  e.answer({ kind: "conflict" });
  const mine = { ...e.state.observed!.record };
  const b = e.answer({ kind: "lease", lease: lease(mine) }); // only metadata changed
  const up = find(b, "update")!;
  assert.equal(up.record.holderIdentity, "cp-1");
  assert.ok(!b.some((x) => x.type === "removeVip"));
});

Deno.test('not ready: release (holder "", duration 1, same transitions), keep the VIP until a successor shows', () => {
  const d = holder();
  d.advanceTo(500);
  const a = d.do({ type: "eligibility", eligible: false, reason: "etcd" });
  const r = written(a)!;
  assert.deepEqual(r, {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTime: WALL0 + 500_000,
    renewTime: WALL0 + 500_000,
    leaseTransitions: 0,
  });
  const b = echo(d);
  assert.ok(!b.some((x) => x.type === "removeVip"));
  assert.equal(find(b, "refreshVip")?.lifetimeS, 12); // the release counts as a write
  assert.equal(d.state.phase, "releasing");
  // Polls; "" or ourselves are not a successor.
  for (let i = 0; i < 3; i++) {
    d.advanceTo(d.state.nextTryMs!);
    const c = d.answer({
      kind: "lease",
      lease: lease({ leaseDurationSeconds: 1 }),
    });
    assert.ok(!c.some((x) => x.type === "removeVip"));
  }
  d.advanceTo(d.state.nextTryMs!);
  const c = d.answer({
    kind: "lease",
    lease: lease({ holderIdentity: "cp-2", leaseTransitions: 1 }),
  });
  // Seen: the VIP goes a grace later (cp-2 has its answer by then).
  assert.deepEqual(types(c), ["leader"]);
  const seen = d.now;
  const e = d.advance(SUCCESSOR_GRACE_MS);
  assert.deepEqual(types(e), ["removeVip", "releasing->follower"]);
  assert.equal(d.log.at(-1)!.t, seen + SUCCESSOR_GRACE_MS);
});

Deno.test("release with no successor: the VIP goes when its lifetime ends", () => {
  const d = holder();
  d.advanceTo(100);
  d.do({ type: "eligibility", eligible: false });
  echo(d);
  const until = d.state.vipExpiresMs!;
  assert.equal(until, 100 + 12_000);
  let removed = -1;
  while (removed < 0) {
    const a = d.advanceTo(d.deadline!);
    if (a.some((x) => x.type === "removeVip")) removed = d.now;
    else if (d.state.inflight) {
      d.answer({ kind: "lease", lease: lease({ leaseDurationSeconds: 1 }) });
    }
  }
  assert.equal(removed, until);
});

Deno.test("SIGTERM: release, hand over make-before-break, then exit; a follower exits at once", () => {
  const d = holder();
  d.advanceTo(700);
  const a = d.do({ type: "shutdown" });
  assert.equal(written(a)!.holderIdentity, "");
  echo(d);
  d.advanceTo(d.state.nextTryMs!);
  d.answer({
    kind: "lease",
    lease: lease({ holderIdentity: "cp-2", leaseTransitions: 1 }),
  });
  const b = d.advance(SUCCESSOR_GRACE_MS);
  assert.deepEqual(types(b), ["removeVip", "releasing->stopped", "exit"]);

  const f = started();
  f.answer({ kind: "lease", lease: lease({ holderIdentity: "cp-2" }) });
  assert.deepEqual(types(f.do({ type: "shutdown" })), [
    "follower->stopped",
    "exit",
  ]);
});

Deno.test("second signal: the VIP goes at once, a best-effort release, exit", () => {
  const d = holder();
  d.do({ type: "shutdown" });
  const a = d.do({ type: "shutdown", force: true });
  assert.deepEqual(types(a), [
    "removeVip",
    "update",
    "holder->stopped",
    "exit",
  ]);
});

Deno.test("health gating: a not-ready node never claims, whatever it reads", () => {
  const reads: (LeaseRecord | null)[] = [
    null,
    { holderIdentity: "", leaseDurationSeconds: 1, leaseTransitions: 2 },
    { holderIdentity: "cp-2", leaseDurationSeconds: 15, leaseTransitions: 2 },
  ];
  for (const rec of reads) {
    const d = started({}, false);
    for (let i = 0; i < 30; i++) {
      const a = rec === null
        ? d.answer({ kind: "notFound" })
        : d.answer({ kind: "lease", lease: lease(rec) });
      assert.equal(written(a), undefined);
      d.advanceTo(d.state.nextTryMs!);
    }
  }
});

Deno.test("restart finds its own lease: ready renews it (VIP at once), not ready hands it back", () => {
  const own = {
    holderIdentity: "cp-1",
    acquireTime: 5,
    renewTime: 6,
    leaseTransitions: 3,
  };
  const d = started();
  const a = d.answer({ kind: "lease", lease: lease(own) });
  const r = written(a)!;
  assert.equal(r.acquireTime, 5);
  assert.equal(r.leaseTransitions, 3);
  // Not knowing what happened before (a claim whose answer was lost may have
  // replaced a release): the VIP once the probe finds it free.
  const b = echo(d);
  assert.deepEqual(types(b).slice(-1), ["follower->claiming"]);
  const free = d.do({ type: "vipFree", seenAnswered: false });
  assert.deepEqual(types(free), ["claiming->holder", "addVip"]);

  const n = started({}, false);
  const c = n.answer({ kind: "lease", lease: lease(own) });
  assert.equal(written(c)!.holderIdentity, "");
  echo(n);
  assert.equal(n.state.phase, "follower");
});

Deno.test("interface down: the VIP goes at once and the lease is released", () => {
  const d = holder();
  const a = d.do({ type: "interface", up: false });
  assert.deepEqual(types(a), ["removeVip", "update"]);
  echo(d);
  assert.equal(d.state.phase, "follower");
});

Deno.test("VIP add failure: release and stay out for the hold-off", () => {
  const d = holder();
  const a = d.do({ type: "vipAddFailed", reason: "EPERM" });
  assert.equal(written(a)!.holderIdentity, "");
  echo(d);
  assert.equal(d.state.phase, "follower");
  // During the hold-off a free lease is not claimed; after it, it is.
  d.advanceTo(d.state.nextTryMs!);
  assert.equal(
    written(
      d.answer({ kind: "lease", lease: lease({ leaseDurationSeconds: 1 }) }),
    ),
    undefined,
  );
  d.advanceTo(6_000);
  d.advanceTo(d.state.nextTryMs!);
  assert.ok(
    written(
      d.answer({ kind: "lease", lease: lease({ leaseDurationSeconds: 1 }) }),
    ),
  );
});

Deno.test("leaseTransitions: +1 per change of holder, never on a renewal", () => {
  const d = started();
  d.answer({
    kind: "lease",
    lease: lease({ holderIdentity: "", leaseTransitions: 7 }),
  });
  assert.equal(d.pending.record!.leaseTransitions, 8);
  echo(d);
  d.do({ type: "vipFree", seenAnswered: true });
  for (let i = 1; i <= 3; i++) {
    d.advanceTo(i * P);
    assert.equal(d.pending.record!.leaseTransitions, 8);
    echo(d);
  }
});

Deno.test("the lease deleted under the holder is created again, still ours", () => {
  const d = holder();
  d.advanceTo(P);
  const a = d.answer({ kind: "notFound" });
  const c = find(a, "create")!;
  assert.equal(c.record.holderIdentity, "cp-1");
  const b = echo(d);
  assert.ok(find(b, "refreshVip"));
  assert.equal(d.state.phase, "holder");
});

Deno.test("answers to stale request ids are ignored", () => {
  const d = started();
  const a = d.do({ type: "response", id: 999, result: { kind: "notFound" } });
  assert.deepEqual(a, []);
});

Deno.test("hold block: the holder removes the VIP at once, then releases without the keeps-its-VIP mark", () => {
  const d = holder();
  d.advanceTo(500);
  const why = "no own address in the VIP's subnet 10.0.0.0/24 on eth0";
  const a = d.do({ type: "holdBlock", cause: "subnet", reason: why });
  // No make-before-break: the VIP goes before the release is written.
  assert.deepEqual(types(a), ["removeVip", "update"]);
  assert.equal(written(a)!.holderIdentity, "");
  assert.equal(find(a, "update")!.releasedBy, undefined);
  const b = echo(d);
  assert.ok(!b.some((x) => x.type === "refreshVip" || x.type === "addVip"));
  assert.equal(d.state.phase, "follower");
  assert.equal(d.state.vipHeld, false);
});

Deno.test("hold block: a renewal that succeeds meanwhile does not bring the VIP back", () => {
  const d = holder();
  d.advanceTo(P); // the renewal is in flight
  assert.equal(d.pending.purpose, "renew");
  d.do({ type: "holdBlock", cause: "subnet", reason: "no subnet address" });
  const b = echo(d);
  assert.ok(!b.some((x) => x.type === "addVip" || x.type === "refreshVip"));
  assert.equal(written(b)!.holderIdentity, ""); // the release follows
});

Deno.test("hold block: a blocked node never claims and says why; lifted, it claims again", () => {
  const d = started();
  const why = "no own address in the VIP's subnet";
  d.do({ type: "holdBlock", cause: "subnet", reason: why });
  assert.equal(isEligible(d.state, d.now), false);
  assert.equal(ineligibleReason(d.state, d.now), why);
  for (let i = 0; i < 5; i++) {
    const a = d.answer({
      kind: "lease",
      lease: lease({ leaseDurationSeconds: 1, leaseTransitions: 2 }),
    });
    assert.equal(written(a), undefined);
    d.advanceTo(d.state.nextTryMs!);
  }
  // Another cause's lifting does not lift this one.
  d.do({ type: "holdBlock", cause: "source", reason: null });
  assert.equal(isEligible(d.state, d.now), false);
  d.do({ type: "holdBlock", cause: "subnet", reason: null });
  assert.equal(ineligibleReason(d.state, d.now), "");
  const a = d.answer({
    kind: "lease",
    lease: lease({ leaseDurationSeconds: 1, leaseTransitions: 2 }),
  });
  assert.equal(written(a)!.holderIdentity, "cp-1");
});
