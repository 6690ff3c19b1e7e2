/**
 * The planned handoff (`ha-vip handoff`) in the Lease machine, with a fake
 * clock: a holder releases make-before-break and stays out; when no
 * successor shows it takes the Lease back by an ordinary optimistic write
 * without ever removing its VIP; a successor that writes first wins.
 */
import assert from "node:assert/strict";
import {
  type ApiResult,
  ineligibleReason,
  isEligible,
  lifetimeAfter,
  steppedOut,
  SUCCESSOR_GRACE_MS,
  takeBackAt,
} from "../../lib/lease/mod.ts";
import {
  type Driver,
  echo,
  find,
  holder,
  lease,
  started,
  types,
  written,
} from "./_support.ts";

const OUT = { forMs: 60_000, reason: "planned handoff (test) for 1m" };
/** What a releasing holder reads while nobody has taken its release. */
const RELEASED: ApiResult = {
  kind: "lease",
  lease: lease({ leaseDurationSeconds: 1 }),
};

/** `holder()` stepped out at 500 ms, its release written (VIP kept). */
function steppedOutHolder(
  request: { forMs: number | null; reason: string } = OUT,
  config = {},
): Driver {
  const d = holder(config);
  d.advanceTo(500);
  const a = d.do({ type: "handoff", request });
  const up = find(a, "update")!;
  assert.equal(up.record.holderIdentity, "");
  assert.equal(up.record.leaseDurationSeconds, 1);
  // The keeps-its-VIP mark: a taker waits for this node's VIP to go.
  assert.equal(up.releasedBy, "cp-1@0");
  assert.ok(!a.some((x) => x.type === "removeVip"));
  echo(d);
  assert.equal(d.state.phase, "releasing");
  assert.equal(d.state.vipHeld, true);
  return d;
}

/** Answers polls with the unclaimed release until the take-back is sent; its time. */
function untilTakeBack(d: Driver): number {
  for (let i = 0; i < 1000; i++) {
    d.advanceTo(d.state.nextTryMs!);
    if (d.pending.purpose === "reclaim") return d.now;
    d.answer(RELEASED);
  }
  throw new Error("no take-back");
}

function removedVip(d: Driver): boolean {
  return d.log.some((x) => x.action.type === "removeVip");
}

Deno.test("handoff: the holder releases keeping its VIP, hands over to the successor, and stays out until the time ends", () => {
  const d = steppedOutHolder();
  assert.equal(isEligible(d.state, d.now), false);
  assert.equal(ineligibleReason(d.state, d.now), OUT.reason);
  d.advanceTo(d.state.nextTryMs!);
  d.answer({
    kind: "lease",
    lease: lease({ holderIdentity: "cp-2", leaseTransitions: 1 }),
  });
  assert.equal(removedVip(d), false);
  const c = d.advance(SUCCESSOR_GRACE_MS);
  assert.deepEqual(types(c), ["removeVip", "releasing->follower"]);
  assert.equal(steppedOut(d.state, d.now), true);
  // Out: an empty or expired Lease is not claimed while the handoff lasts.
  const until = 500 + OUT.forMs;
  while (d.state.nextTryMs! < until) {
    d.advanceTo(d.state.nextTryMs!);
    const a = d.answer(RELEASED);
    assert.equal(written(a), undefined, `claimed at ${d.now} while out`);
  }
  // Over by itself: the first try after it claims.
  d.advanceTo(until);
  assert.equal(steppedOut(d.state, d.now), false);
  assert.equal(d.state.stepOut, null);
  d.advanceTo(d.state.nextTryMs!);
  const a = d.answer(RELEASED);
  assert.equal(written(a)?.holderIdentity, "cp-1");
});

Deno.test("handoff, nobody takes over: the Lease is taken back at takeBackAt, the VIP never leaves, the handoff is cancelled with a warning", () => {
  const d = steppedOutHolder({ forMs: null, reason: "planned handoff" });
  const releasedAt = d.now;
  const expires = d.state.vipExpiresMs!;
  assert.equal(expires, releasedAt + 12_000);
  // 15/10/2: every follower has tried 2.2 P after the release, + P/2.
  const due = takeBackAt(releasedAt, expires, 2000);
  assert.equal(due, releasedAt + 5400);
  const sent = untilTakeBack(d);
  assert.ok(
    sent >= due && sent <= due + d.state.config.handoverPollMs,
    `${sent}`,
  );
  const up = d.lastRequest();
  assert.equal(up.type, "update");
  if (up.type !== "update") return;
  assert.equal(up.record.holderIdentity, "cp-1");
  assert.equal(up.record.leaseDurationSeconds, 15);
  assert.equal(up.record.leaseTransitions, 1); // "" -> cp-1 is a change of holder
  assert.equal(up.releasedBy, undefined); // the keeps-its-VIP mark goes
  assert.equal(up.base.record.holderIdentity, ""); // over our release's version
  const b = echo(d);
  assert.deepEqual(types(b).filter((t) => t !== "leader"), [
    "releasing->holder",
    "refreshVip",
  ]);
  assert.ok(
    b.some((x) =>
      x.type === "log" && x.level === "warn" &&
      /planned handoff cancelled: no other node took the lease/.test(x.message)
    ),
  );
  assert.equal(d.state.stepOut, null);
  assert.equal(isEligible(d.state, d.now), true);
  assert.equal(removedVip(d), false);
  // The holder again: renews every P.
  d.advanceTo(d.state.nextTryMs!);
  assert.equal(d.pending.purpose, "renew");
});

Deno.test("handoff at 5/3/1: the take-back is sent before the VIP's 3 s lifetime ends, with half a period to spare", () => {
  const fast = {
    durationMs: 5000,
    renewDeadlineMs: 3000,
    retryPeriodMs: 1000,
  };
  const d = steppedOutHolder(OUT, fast);
  const expires = d.state.vipExpiresMs!;
  assert.equal(expires, d.now + 3000);
  const sent = untilTakeBack(d);
  assert.ok(sent <= expires - 500 + d.state.config.handoverPollMs, `${sent}`);
  d.advance(20);
  echo(d);
  assert.equal(d.state.phase, "holder");
  assert.equal(removedVip(d), false);
  assert.ok(d.state.vipExpiresMs! > expires);
});

Deno.test("handoff cancelled while releasing: the Lease is taken back at once, no warning", () => {
  const d = steppedOutHolder();
  d.advanceTo(d.state.nextTryMs!);
  d.answer(RELEASED);
  d.advance(50);
  d.do({ type: "handoff", request: null });
  d.advanceTo(d.state.nextTryMs!);
  assert.equal(d.pending.purpose, "reclaim");
  const b = echo(d);
  assert.ok(!b.some((x) => x.type === "log" && x.level === "warn"));
  assert.equal(d.state.phase, "holder");
  assert.equal(removedVip(d), false);
});

Deno.test("handoff: a successor that writes first wins the take-back's race (409): the handover completes", () => {
  const d = steppedOutHolder();
  untilTakeBack(d);
  const a = d.answer({ kind: "conflict" });
  assert.deepEqual(types(a), ["get"]);
  d.answer({
    kind: "lease",
    lease: lease({ holderIdentity: "cp-2", leaseTransitions: 1 }),
  });
  const c = d.advance(SUCCESSOR_GRACE_MS);
  assert.deepEqual(types(c), ["removeVip", "releasing->follower"]);
  assert.equal(steppedOut(d.state, d.now), true);
});

Deno.test("handoff: a take-back whose answer was lost but went through is fenced from its send", () => {
  const d = steppedOutHolder();
  const sent = untilTakeBack(d);
  d.advance(1500);
  const a = d.answer({ kind: "error", message: "timeout" });
  assert.deepEqual(types(a), ["get"]);
  d.advance(10);
  const mine = lease({
    holderIdentity: "cp-1",
    leaseTransitions: 1,
  });
  const b = d.answer({ kind: "lease", lease: mine });
  assert.equal(d.state.phase, "holder");
  assert.equal(d.state.lastWriteOkMs, sent);
  assert.equal(
    find(b, "refreshVip")?.lifetimeS,
    lifetimeAfter(15_000, d.now - sent),
  );
  assert.equal(removedVip(d), false);
});

Deno.test("handoff: not ready as well, or SIGTERM meanwhile: no take-back (the VIP goes with its lifetime or to a successor)", () => {
  const d = steppedOutHolder();
  d.do({ type: "eligibility", eligible: false, reason: "etcd" });
  const expires = d.state.vipExpiresMs!;
  while (d.state.vipHeld) {
    d.advanceTo(Math.min(d.state.nextTryMs ?? expires, expires));
    if (d.state.inflight) {
      assert.equal(d.pending.purpose, "poll");
      d.answer(RELEASED);
    }
  }
  assert.equal(d.now, expires);

  const e = steppedOutHolder();
  e.do({ type: "shutdown" });
  const until = e.state.vipExpiresMs!;
  while (e.state.phase !== "stopped") {
    e.advanceTo(Math.min(e.state.nextTryMs ?? until, until));
    if (e.state.inflight) {
      assert.equal(e.pending.purpose, "poll");
      e.answer(RELEASED);
    }
  }
  assert.equal(e.now, until);
});

Deno.test("handoff on a follower: it never claims while out; cancelled, it claims on its next try", () => {
  const d = started();
  d.answer({ kind: "lease", lease: lease({ holderIdentity: "cp-2" }) });
  d.do({ type: "handoff", request: { forMs: null, reason: "planned" } });
  assert.equal(isEligible(d.state, d.now), false);
  for (let i = 0; i < 5; i++) {
    d.advanceTo(d.state.nextTryMs!);
    assert.equal(written(d.answer(RELEASED)), undefined);
  }
  d.do({ type: "handoff", request: null });
  d.advanceTo(d.state.nextTryMs!);
  assert.equal(written(d.answer(RELEASED))?.holderIdentity, "cp-1");
});

Deno.test("handoff while a renewal is in flight: the release follows its answer, and the take-back still guards the VIP", () => {
  const d = holder();
  d.advanceTo(2000); // the renewal goes out
  assert.equal(d.pending.purpose, "renew");
  d.do({ type: "handoff", request: OUT });
  const a = echo(d); // renewed; now the release
  assert.equal(written(a)?.holderIdentity, "");
  echo(d);
  assert.equal(d.state.phase, "releasing");
  untilTakeBack(d);
  echo(d);
  assert.equal(d.state.phase, "holder");
  assert.equal(removedVip(d), false);
});

Deno.test("handoff cancelled before its release went out: the holder just stays", () => {
  const d = holder();
  d.advanceTo(2000);
  d.do({ type: "handoff", request: OUT });
  d.do({ type: "handoff", request: null });
  const a = echo(d); // the renewal's answer: eligible again, no release
  assert.equal(written(a), undefined);
  assert.equal(d.state.phase, "holder");
  assert.equal(d.state.handoffRelease, null);
});
