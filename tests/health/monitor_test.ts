import assert from "node:assert/strict";
import {
  type HealthChange,
  HealthMonitor,
  type ProbeResult,
  type Verdict,
} from "../../lib/health/mod.ts";
import { SimApiServer, testPki } from "../../testing/mod.ts";
import { captureLogger } from "../k8s/_support.ts";

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

function result(verdict: Verdict): ProbeResult {
  return { verdict, tcp: { ok: true, ms: 0 }, ms: 0 };
}

/** Resolves when `signal` aborts. */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/**
 * A scripted probe on a fake clock: each probe takes one interval of fake
 * time; after the script it parks until the monitor is stopped.
 */
function scripted(script: Verdict[], intervalMs: number) {
  let now = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const finished = Promise.withResolvers<void>();
  const probe = async (signal: AbortSignal): Promise<ProbeResult> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      const next = script.shift();
      if (next === undefined) {
        finished.resolve();
        await untilAborted(signal);
        return result({ kind: "error", cause: "aborted", detail: "aborted" });
      }
      await Promise.resolve();
      now += intervalMs;
      return result(next);
    } finally {
      inFlight--;
    }
  };
  return {
    probe,
    now: () => now,
    finished: finished.promise,
    maxInFlight: () => maxInFlight,
  };
}

Deno.test("monitor: stable changes only, on the fake clock", async () => {
  const script = [
    READY, // t=1000 (unknown, pending ready)
    READY,
    READY,
    READY,
    READY,
    READY, // t=6000: ready held 5 s -> change
    ETCD, // flap...
    READY, // ...over
    ETCD, // t=9000
    ETCD_SCHED,
    ETCD,
    ETCD,
    ETCD,
    ETCD, // t=14000: not ready held 5 s -> change
    ETCD_SCHED, // detail change
  ];
  const total = script.length;
  const s = scripted([...script], 1000);
  const changes: HealthChange[] = [];
  const probes: string[] = [];
  const monitor = new HealthMonitor({
    probe: s.probe,
    intervalMs: 1000,
    stabilityWindowMs: 5000,
    now: s.now,
    onChange: (c) => changes.push(c),
    onProbe: (r, st) => probes.push(`${r.verdict.kind}/${st.status}`),
  });
  assert.equal(monitor.state.status, "unknown");
  monitor.start();
  await s.finished;
  await monitor.stop();
  assert.deepEqual(
    changes.map((c) => [c.type, c.from, c.to, c.atMs, c.verdict.detail]),
    [
      ["status", "unknown", "ready", 6000, READY.detail],
      ["status", "ready", "not_ready", 14000, ETCD.detail],
      ["detail", "not_ready", "not_ready", 15000, ETCD_SCHED.detail],
    ],
  );
  assert.equal(probes.length, total);
  assert.equal(s.maxInFlight(), 1, "probes never overlap");
  assert.equal(monitor.ready, false);
  assert.deepEqual(
    monitor.lastProbe?.verdict,
    ETCD_SCHED,
    "the aborted probe was not fed",
  );
  assert.equal(monitor.running, false);
});

Deno.test("monitor: stop() ends a hanging probe and a long wait promptly", async () => {
  // A probe that hangs until aborted.
  const started = Promise.withResolvers<void>();
  const hanging = new HealthMonitor({
    probe: async (signal) => {
      started.resolve();
      await untilAborted(signal);
      return result(READY);
    },
    intervalMs: 3_600_000,
    stabilityWindowMs: 0,
  });
  hanging.start();
  await started.promise;
  await hanging.stop();
  assert.equal(
    hanging.state.status,
    "unknown",
    "a probe cut short is not evidence",
  );

  // A loop sleeping for an hour between probes.
  const probed = Promise.withResolvers<void>();
  const sleeping = new HealthMonitor({
    probe: () => {
      probed.resolve();
      return Promise.resolve(result(READY));
    },
    intervalMs: 3_600_000,
    stabilityWindowMs: 0,
  });
  sleeping.start();
  sleeping.start(); // idempotent
  await probed.promise;
  await sleeping.stop();
  assert.equal(sleeping.ready, true);
  await sleeping.stop(); // idempotent
});

Deno.test("monitor: a throwing listener or probe does not kill the loop", async () => {
  const logger = captureLogger();
  let n = 0;
  const done = Promise.withResolvers<void>();
  const monitor = new HealthMonitor({
    probe: (signal) => {
      n++;
      if (n === 1) return Promise.reject(new Error("probe bug"));
      if (n >= 4) {
        done.resolve();
        return untilAborted(signal).then(() => result(READY));
      }
      return Promise.resolve(result(READY));
    },
    intervalMs: 0,
    stabilityWindowMs: 0,
    logger,
    onChange: () => {
      throw new Error("listener bug");
    },
  });
  monitor.start();
  await done.promise;
  await monitor.stop();
  assert.equal(monitor.ready, true);
  assert.ok(logger.lines.some((l) => l.includes("health listener failed")));
  assert.ok(logger.lines.some((l) => l.includes("probe failed: probe bug")));
});

Deno.test("monitor: against the simulated API server (window 0)", async () => {
  const pki = await testPki();
  await using sim = await SimApiServer.start({});
  const changes: HealthChange[] = [];
  let waiter: PromiseWithResolvers<void> | undefined;
  let want: string | undefined;
  const reached = (status: string) => {
    want = status;
    waiter = Promise.withResolvers<void>();
    return waiter.promise;
  };
  const monitor = new HealthMonitor({
    // A probe still running when the next is due is a failure: the
    // interval leaves room for a TLS handshake on a busy machine.
    probe: { url: sim.url, timeoutMs: 200, caCertFile: pki.caCertFile },
    intervalMs: 200,
    stabilityWindowMs: 0,
    onChange: (c) => {
      changes.push(c);
      if (c.to === want) waiter?.resolve();
    },
  });
  const ready = reached("ready");
  monitor.start();
  await ready;
  const notReady = reached("not_ready");
  sim.setUnready(["etcd"]);
  await notReady;
  await monitor.stop();
  const last = changes.at(-1)!;
  assert.equal(last.type, "status");
  assert.ok(last.verdict.kind === "not_ready");
  assert.deepEqual(last.verdict.failingChecks, ["etcd"]);
  assert.equal(last.probe.tcp.ok, true);
});

Deno.test("monitor: a probe still running when the next is due is a failure, and never piles up", async () => {
  // A probe wedged in something that cannot be cancelled (a read of a hung
  // mount): it ignores its signal and never returns.
  let started = 0;
  const probes: Verdict[] = [];
  const failures = Promise.withResolvers<void>();
  const monitor = new HealthMonitor({
    probe: () => {
      started++;
      return new Promise<ProbeResult>(() => {});
    },
    intervalMs: 20,
    stabilityWindowMs: 0,
    onProbe: (r) => {
      probes.push(r.verdict);
      if (probes.length === 3) failures.resolve();
    },
  });
  monitor.start();
  await failures.promise;
  await monitor.stop();
  assert.equal(started, 1, "no second probe while the first one runs");
  assert.equal(monitor.state.status, "not_ready");
  for (const v of probes) {
    assert.ok(v.kind === "timeout" && v.stage === "probe", JSON.stringify(v));
    assert.match(v.detail, /still running .* when the next one was due/);
  }
});

Deno.test("monitor: an overrun probe is aborted; the next one starts at the next due time", async () => {
  let n = 0;
  const ready = Promise.withResolvers<void>();
  const kinds: string[] = [];
  const monitor = new HealthMonitor({
    probe: (signal) => {
      n++;
      // The first probe hangs until aborted (as a stalled request does).
      if (n === 1) return untilAborted(signal).then(() => result(ETCD));
      return Promise.resolve(result(READY));
    },
    intervalMs: 20,
    stabilityWindowMs: 0,
    onProbe: (r) => {
      kinds.push(r.verdict.kind);
      if (r.verdict.kind === "ready") ready.resolve();
    },
  });
  monitor.start();
  await ready.promise;
  await monitor.stop();
  // The overrun counted as a failure; the aborted probe's own late result
  // (ETCD) was dropped.
  assert.deepEqual(kinds.slice(0, 2), ["timeout", "ready"]);
});
