/** The stability window, driven by a fake clock only. */

import assert from "node:assert/strict";
import {
  initialStability,
  readinessClass,
  type StabilityState,
  StabilityWindow,
  stepStability,
  type Verdict,
} from "../../lib/health/mod.ts";

const READY: Verdict = { kind: "ready", detail: "/readyz ok" };
const ETCD: Verdict = {
  kind: "not_ready",
  status: 500,
  failingChecks: ["etcd"],
  detail: "/readyz returned 500: failing checks: etcd",
};
const ETCD_SCHED: Verdict = {
  kind: "not_ready",
  status: 500,
  failingChecks: ["etcd", "scheduler"],
  detail: "/readyz returned 500: failing checks: etcd, scheduler",
};
const TIMEOUT: Verdict = {
  kind: "timeout",
  stage: "readyz",
  detail: "readyz timed out",
};
const REFUSED: Verdict = {
  kind: "connection_refused",
  detail: "connection refused",
};

const WINDOW = 5000;

/** A window already stable in `verdict`'s class at time `at`. */
function stableAt(verdict: Verdict, at: number): StabilityWindow {
  const w = new StabilityWindow({ windowMs: WINDOW });
  w.observe(at - WINDOW, verdict);
  w.observe(at, verdict);
  assert.equal(w.state.status, readinessClass(verdict));
  return w;
}

Deno.test("start-up: unknown until ready has held for the whole window", () => {
  const w = new StabilityWindow({ windowMs: WINDOW });
  assert.equal(w.state.status, "unknown");
  for (let t = 0; t < WINDOW; t += 500) {
    const step = w.observe(t, READY);
    assert.equal(step.changed, false, `t=${t}`);
    assert.equal(step.state.status, "unknown");
    assert.equal(step.state.pending?.status, "ready");
    assert.equal(step.state.pending?.sinceMs, 0);
  }
  assert.equal(w.observe(WINDOW - 1, READY).changed, false);
  const step = w.observe(WINDOW, READY);
  assert.equal(step.changed, true);
  assert.equal(step.previous, "unknown");
  assert.equal(step.state.status, "ready");
  assert.equal(step.state.sinceMs, WINDOW);
  assert.equal(step.state.pending, undefined);
});

Deno.test("start-up: a single lucky probe does not make a node ready", () => {
  const w = new StabilityWindow({ windowMs: WINDOW });
  w.observe(0, READY);
  w.observe(2000, ETCD);
  w.observe(4000, READY);
  assert.equal(w.observe(6000, READY).state.status, "not_ready");
  assert.equal(w.observe(8999, READY).changed, false);
  assert.equal(w.observe(9000, READY).changed, true);
});

Deno.test("start-up: not ready is reported at once (it grants nothing unknown does not)", () => {
  const step = stepStability(
    initialStability(),
    { nowMs: 0, verdict: REFUSED },
    { windowMs: WINDOW },
  );
  assert.equal(step.changed, true);
  assert.equal(step.previous, "unknown");
  assert.equal(step.state.status, "not_ready");
  assert.deepEqual(step.state.verdict, REFUSED);
});

Deno.test("a flap within the window never changes the stable status", () => {
  const w = stableAt(READY, 10_000);
  // Alternating every second for a minute, and runs just short of the window.
  for (let t = 11_000; t < 71_000; t += 1000) {
    const step = w.observe(t, (t / 1000) % 2 === 0 ? READY : ETCD);
    assert.equal(step.changed, false, `t=${t}`);
    assert.equal(step.state.status, "ready");
  }
  for (let t = 80_000; t < 80_000 + WINDOW; t += 250) {
    assert.equal(w.observe(t, TIMEOUT).changed, false);
  }
  assert.equal(w.observe(80_000 + WINDOW - 1, ETCD).changed, false);
  assert.equal(
    w.observe(80_000 + WINDOW - 1 + 1, READY).changed,
    false,
    "back to ready: the run is over",
  );
  assert.equal(w.state.pending, undefined);
  assert.equal(w.state.status, "ready");
});

Deno.test("a steady change takes effect exactly at the window boundary", () => {
  const w = stableAt(READY, 10_000);
  const start = 20_000;
  for (let t = start; t < start + WINDOW; t += 100) {
    assert.equal(w.observe(t, ETCD).changed, false, `t=${t}`);
  }
  assert.equal(w.observe(start + WINDOW - 1, ETCD).changed, false);
  const step = w.observe(start + WINDOW, ETCD);
  assert.equal(step.changed, true);
  assert.equal(step.previous, "ready");
  assert.equal(step.state.status, "not_ready");
  assert.equal(step.state.sinceMs, start + WINDOW);
  // And back: the same rule the other way.
  const back = start + WINDOW + 1000;
  assert.equal(w.observe(back, READY).changed, false);
  assert.equal(w.observe(back + WINDOW - 1, READY).changed, false);
  assert.equal(w.observe(back + WINDOW, READY).changed, true);
});

Deno.test("the window is about the class: not-ready kinds count as one run", () => {
  const w = stableAt(READY, 10_000);
  w.observe(20_000, ETCD);
  w.observe(21_000, ETCD_SCHED);
  w.observe(22_000, TIMEOUT);
  w.observe(23_000, REFUSED);
  const step = w.observe(25_000, ETCD_SCHED);
  assert.equal(step.changed, true, "5 s of mixed not-ready verdicts");
  assert.deepEqual(
    step.state.verdict,
    ETCD_SCHED,
    "reports the latest verdict",
  );
  // Within not_ready: detail changes are reported, the status is not.
  const a = w.observe(26_000, ETCD);
  assert.equal(a.changed, false);
  assert.equal(a.detailChanged, true);
  assert.deepEqual(a.state.verdict, ETCD);
  const b = w.observe(27_000, ETCD);
  assert.equal(b.detailChanged, false);
  const c = w.observe(28_000, TIMEOUT);
  assert.equal(c.detailChanged, true);
  assert.equal(c.state.status, "not_ready");
});

Deno.test("while a change is pending the stable verdict stays the old one", () => {
  const w = stableAt(READY, 10_000);
  const step = w.observe(11_000, ETCD);
  assert.equal(step.state.status, "ready");
  assert.deepEqual(step.state.verdict, READY);
  assert.equal(step.state.pending?.status, "not_ready");
  assert.deepEqual(step.state.pending?.verdict, ETCD);
  assert.deepEqual(
    w.observe(12_000, ETCD_SCHED).state.pending?.verdict,
    ETCD_SCHED,
  );
  assert.equal(w.state.pending?.sinceMs, 11_000);
});

Deno.test("window 0 applies every change at once", () => {
  const w = new StabilityWindow({ windowMs: 0 });
  assert.equal(w.observe(0, READY).changed, true);
  assert.equal(w.observe(1, ETCD).changed, true);
  assert.equal(w.observe(2, READY).changed, true);
});

Deno.test("a clock going backwards restarts a pending change", () => {
  const w = stableAt(READY, 10_000);
  w.observe(20_000, ETCD);
  w.observe(1_000, ETCD); // clock jumped back
  assert.equal(w.state.pending?.sinceMs, 1_000);
  assert.equal(w.observe(5_999, ETCD).changed, false);
  assert.equal(w.observe(6_000, ETCD).changed, true);
});

Deno.test("stepStability is pure: the input state is not modified", () => {
  const s0 = Object.freeze(initialStability());
  const s1 =
    stepStability(s0, { nowMs: 0, verdict: READY }, { windowMs: WINDOW }).state;
  const frozen = structuredClone(s1);
  Object.freeze(s1);
  stepStability(s1, { nowMs: 10, verdict: ETCD }, { windowMs: WINDOW });
  stepStability(s1, { nowMs: WINDOW, verdict: READY }, { windowMs: WINDOW });
  assert.deepEqual(s1, frozen);
  assert.deepEqual(s0, { status: "unknown" });
});

Deno.test("random sequences: every change is justified, no justified change is missed", () => {
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const verdicts = [READY, READY, ETCD, ETCD_SCHED, TIMEOUT, REFUSED];
  for (let run = 0; run < 200; run++) {
    let state: StabilityState = initialStability();
    let t = 0;
    // Start of the current run of same-class samples.
    let runClass: string | undefined;
    let runStart = 0;
    for (let i = 0; i < 100; i++) {
      t += Math.floor(rand() * 3000);
      const v = rand() < 0.85 && i > 0
        ? (state.pending?.verdict ?? state.verdict ?? READY)
        : verdicts[Math.floor(rand() * verdicts.length)];
      const cls = readinessClass(v);
      if (cls !== runClass) {
        runClass = cls;
        runStart = t;
      }
      const step = stepStability(state, { nowMs: t, verdict: v }, {
        windowMs: WINDOW,
      });
      const held = t - runStart >= WINDOW;
      if (step.changed) {
        assert.equal(step.state.status, cls);
        assert.ok(
          held || (step.previous === "unknown" && cls === "not_ready"),
          `unjustified change at ${t}`,
        );
      } else if (step.state.status !== cls) {
        assert.ok(!held, `missed change at ${t}`);
      }
      state = step.state;
    }
  }
});
