/**
 * Several Lease machines against one simulated store, with clocks running
 * apart at the assumed worst rate, a kernel that deletes an expired VIP as
 * late as it may, slow and lost API answers, and faults: crash, freeze,
 * store partition, link partition (ARP cannot see across it), health flaps,
 * SIGTERM, restarts, planned handoffs (`ha-vip handoff`). The invariant checked: at no instant do two nodes have
 * the VIP on their interface. And once the faults stop, one node holds it.
 */
import assert from "node:assert/strict";
import {
  type ApiResult,
  createLeaseState,
  FENCING_ASSUMPTIONS,
  kernelLatenessMs,
  type Lease,
  type LeaseAction,
  type LeaseEvent,
  type LeaseMachineConfig,
  type LeaseRecord,
  type LeaseState,
  step,
} from "../../lib/lease/mod.ts";
import { prng } from "../vrrp/_support.ts";

type Ev = LeaseEvent extends infer E
  ? E extends LeaseEvent ? Omit<E, "nowMs"> : never
  : never;

interface Item {
  t: number;
  seq: number;
  run: () => void;
}

/** A binary heap of timed callbacks (ties in insertion order). */
class Queue {
  #h: Item[] = [];
  #seq = 0;
  push(t: number, run: () => void): void {
    const h = this.#h;
    h.push({ t, seq: this.#seq++, run });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p], h[i])) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }
  pop(): Item | undefined {
    const h = this.#h;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      while (true) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Item, b: Item): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

interface StoredLease {
  rv: number;
  record: LeaseRecord;
  releasedBy?: string;
}

class World {
  q = new Queue();
  now = 0;
  store: StoredLease | null = null;
  rvCounter = 100;
  nodes: SimNode[] = [];
  /** Faults are over: no slow or lost answers any more. */
  calm = false;
  extraLatenessMs = 0;
  #same = 0;
  constructor(readonly rand: () => number) {}
  at(t: number, run: () => void) {
    this.q.push(t, run);
  }
  run(until: number) {
    while (true) {
      const it = this.q.pop();
      if (!it || it.t > until) {
        if (it) this.q.push(it.t, it.run);
        this.now = until;
        return;
      }
      if (it.t === this.now && ++this.#same > 100_000) {
        throw new Error(`event storm at ${it.t} ms`);
      }
      if (it.t !== this.now) this.#same = 0;
      this.now = it.t;
      it.run();
    }
  }
  lease(s: StoredLease): Lease {
    return {
      name: "ha-vip",
      namespace: "kube-system",
      resourceVersion: String(s.rv),
      record: { ...s.record },
      ...(s.releasedBy ? { releasedBy: s.releasedBy } : {}),
      metadata: {
        name: "ha-vip",
        namespace: "kube-system",
        resourceVersion: String(s.rv),
      },
    };
  }
  /** Applies a request at its commit time; returns the answer. */
  apply(a: LeaseAction): ApiResult {
    if (a.type === "get") {
      return this.store
        ? { kind: "lease", lease: this.lease(this.store) }
        : { kind: "notFound" };
    }
    if (a.type === "create") {
      if (this.store) return { kind: "conflict" };
      this.store = { rv: ++this.rvCounter, record: { ...a.record } };
      return { kind: "lease", lease: this.lease(this.store) };
    }
    if (a.type === "update") {
      if (!this.store) return { kind: "notFound" };
      if (a.base.resourceVersion !== String(this.store.rv)) {
        return { kind: "conflict" };
      }
      assert.ok(a.record.leaseDurationSeconds >= 1);
      this.store = {
        rv: ++this.rvCounter,
        record: { ...a.record },
        releasedBy: a.releasedBy,
      };
      return { kind: "lease", lease: this.lease(this.store) };
    }
    throw new Error("not a request");
  }
}

const RHO = FENCING_ASSUMPTIONS.clockRatePpm / 1e6;

class SimNode {
  state!: LeaseState;
  alive = false;
  frozenUntil = 0;
  storeUp = true;
  lanUp = true;
  healthy = true;
  /** Intervals [start, end) of real time with the VIP on the interface. */
  vip: [number, number][] = [];
  /** Real time the kernel deletes the current VIP, or null. */
  vipEnd: number | null = null;
  #tickGen = 0;
  #due: number | null = null;
  #probeGen = 0;
  #probe: { seen: boolean; misses: number } | null = null;
  exited = false;

  constructor(
    readonly w: World,
    readonly name: string,
    readonly rate: number,
    readonly offset: number,
    readonly wallSkewUs: number,
    readonly config: LeaseMachineConfig,
  ) {}

  local(t: number): number {
    return this.offset + this.rate * t;
  }
  real(local: number): number {
    return (local - this.offset) / this.rate;
  }

  /** Kernel view: is the VIP on the interface at real time t? */
  hasVip(t: number): boolean {
    const last = this.vip.at(-1);
    return last !== undefined && last[0] <= t && t < last[1];
  }

  start(seed: number) {
    this.events.push(`${this.w.now.toFixed(1)} start`);
    // The daemon removes a VIP left by a crashed predecessor at start.
    this.#endVip(this.w.now);
    this.state = createLeaseState({ ...this.config, seed });
    this.alive = true;
    this.exited = false;
    this.#probe = null;
    this.deliver({ type: "eligibility", eligible: this.healthy });
    this.deliver({ type: "start" });
  }

  crash() {
    this.events.push(`${this.w.now.toFixed(1)} crash`);
    this.alive = false;
    this.#tickGen++;
    this.#probe = null;
  }

  /** Delivers an event now (deferred while frozen). */
  deliver(ev: Ev) {
    const t = this.w.now;
    if (!this.alive) return;
    if (t < this.frozenUntil) {
      this.w.at(this.frozenUntil, () => this.deliver(ev));
      return;
    }
    // A tick is due at its deadline even when floating point puts the
    // clock conversion a hair before it.
    const nowMs = ev.type === "tick" && this.#due !== null
      ? Math.max(this.local(t), this.#due)
      : this.local(t);
    const r = step(
      this.state,
      { ...ev, nowMs } as LeaseEvent,
      Date.UTC(2026, 10, 30) * 1000 + this.wallSkewUs + t * 1000,
    );
    this.state = r.state;
    for (const a of r.actions) this.#perform(a);
    const gen = ++this.#tickGen;
    this.#due = r.nextDeadlineMs;
    if (r.nextDeadlineMs !== null && this.alive) {
      const at = Math.max(t, this.real(r.nextDeadlineMs));
      this.w.at(at, () => {
        if (gen === this.#tickGen) this.deliver({ type: "tick" });
      });
    }
  }

  #endVip(t: number) {
    const last = this.vip.at(-1);
    if (last && last[1] > t) last[1] = Math.max(last[0], t);
    this.vipEnd = null;
  }

  #setVip(lifetimeS: number) {
    const w = this.w;
    // The kernel stamps the address a little later (σ), and deletes it
    // late by up to K(L), on this node's clock.
    const stamp = w.now + w.rand() * FENCING_ASSUMPTIONS.schedulingSlackMs;
    const lateness = w.rand() < 0.5
      ? kernelLatenessMs(lifetimeS * 1000)
      : w.rand() * kernelLatenessMs(lifetimeS * 1000);
    const endLocal = this.local(stamp) + lifetimeS * 1000 + lateness +
      w.extraLatenessMs;
    const end = this.real(endLocal);
    const last = this.vip.at(-1);
    if (last && last[1] > stamp) last[1] = end; // replace: a new lifetime
    else this.vip.push([stamp, end]);
    this.vipEnd = end;
  }

  /** State changes and logs, with real time (for failure messages). */
  trace: string[] = [];
  /** Faults and process events, with real time. */
  events: string[] = [];

  #perform(a: LeaseAction) {
    const w = this.w;
    if (a.type === "stateChange" || a.type === "log") {
      this.trace.push(`${w.now.toFixed(1)} ${JSON.stringify(a)}`);
    }
    switch (a.type) {
      case "get":
      case "create":
      case "update": {
        const id =
          a.type === "update" || a.type === "create" || a.type === "get"
            ? a.id
            : 0;
        const sent = w.now;
        const slow = !w.calm && w.rand() < 0.05;
        const up = slow ? w.rand() * 1500 : 0.5 + w.rand() * 10;
        const down = 0.5 + w.rand() * 10;
        const lost = !w.calm && w.rand() < 0.03;
        // The backend's request timeout is the retry period.
        const timeout = this.config.retryPeriodMs;
        if (!this.storeUp) {
          w.at(sent + w.rand() * timeout, () =>
            this.deliver({
              type: "response",
              id,
              result: { kind: "error", message: "store unreachable" },
            }));
          return;
        }
        w.at(sent + up, () => {
          if (!this.storeUp) {
            this.deliver({
              type: "response",
              id,
              result: { kind: "error", message: "store lost" },
            });
            return;
          }
          const result = w.apply(a); // committed even if the answer is lost
          if (lost) {
            w.at(
              Math.max(w.now, sent + timeout),
              () =>
                this.deliver({
                  type: "response",
                  id,
                  result: { kind: "error", message: "timeout" },
                }),
            );
          } else {
            w.at(
              w.now + down,
              () => this.deliver({ type: "response", id, result }),
            );
          }
        });
        return;
      }
      case "addVip":
      case "refreshVip":
        this.#setVip(a.lifetimeS);
        return;
      case "removeVip":
        this.#endVip(w.now);
        return;
      case "probeVip": {
        const gen = ++this.#probeGen;
        this.#probe = { seen: false, misses: 0 };
        const tick = () => {
          if (gen !== this.#probeGen || !this.#probe || !this.alive) return;
          const t = w.now;
          const answered = this.lanUp &&
            w.nodes.some((n) => n !== this && n.lanUp && n.hasVip(t));
          if (answered) {
            this.#probe.seen = true;
            this.#probe.misses = 0;
          } else if (++this.#probe.misses >= 2) {
            const seen = this.#probe.seen;
            this.#probe = null;
            this.deliver({ type: "vipFree", seenAnswered: seen });
            return;
          }
          w.at(t + 5, tick);
        };
        w.at(w.now + 1, tick);
        return;
      }
      case "cancelProbe":
        this.#probeGen++;
        this.#probe = null;
        return;
      case "exit":
        this.alive = false;
        this.exited = true;
        this.#tickGen++;
        return;
      default:
        return;
    }
  }
}

/** Total time two or more nodes had the VIP at once, with the first instance. */
function overlaps(nodes: SimNode[]): { total: number; first?: string } {
  const edges: { t: number; d: number; n: string }[] = [];
  for (const n of nodes) {
    for (const [a, b] of n.vip) {
      if (b > a) {
        edges.push({ t: a, d: 1, n: n.name }, { t: b, d: -1, n: n.name });
      }
    }
  }
  edges.sort((x, y) => x.t - y.t || x.d - y.d);
  let count = 0, total = 0, since = 0;
  let first: string | undefined;
  for (const e of edges) {
    if (count >= 2) total += e.t - since;
    count += e.d;
    since = e.t;
    if (count >= 2 && first === undefined) {
      first = `${e.t.toFixed(1)} ms (${e.n})`;
    }
  }
  return { total, first };
}

const TIMINGS: [
  string,
  Pick<LeaseMachineConfig, "durationMs" | "renewDeadlineMs" | "retryPeriodMs">,
][] = [
  ["15/10/2", {
    durationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
  }],
  ["5/3/1", {
    durationMs: 5_000,
    renewDeadlineMs: 3_000,
    retryPeriodMs: 1_000,
  }],
];

export function simulate(
  seed: number,
  timing: LeaseMachineConfig,
  /** Kernel lateness beyond the assumed worst case (controls only). */
  extraLatenessMs = 0,
) {
  const rand = prng(seed);
  const w = new World(rand);
  w.extraLatenessMs = extraLatenessMs;
  const n = 3;
  for (let i = 0; i < n; i++) {
    // Clocks at the extremes of the assumed rate, and wall clocks hours apart.
    const rate = i === 0
      ? 1 - RHO
      : i === 1
      ? 1 + RHO
      : 1 + (rand() * 2 - 1) * RHO;
    w.nodes.push(
      new SimNode(
        w,
        `cp-${i + 1}`,
        rate,
        rand() * 1e6,
        (rand() - 0.5) * 7.2e9,
        {
          ...timing,
          identity: `cp-${i + 1}`,
        },
      ),
    );
  }
  for (const [i, node] of w.nodes.entries()) {
    w.at(rand() * 500, () => node.start(seed * 10 + i));
  }
  const D = timing.durationMs;
  const faultsEnd = 240_000;
  // Random faults, each on a random node, until faultsEnd.
  for (let t = 3_000; t < faultsEnd; t += 500 + rand() * 6_000) {
    const node = w.nodes[Math.floor(rand() * n)];
    const kind = Math.floor(rand() * 8);
    const len = 200 + rand() * 2.5 * D;
    w.at(t, () => {
      node.events.push(
        `${w.now.toFixed(1)} fault ${kind} for ${len.toFixed(0)}`,
      );
      switch (kind) {
        case 0: // crash, restart later
          if (!node.alive) return;
          node.crash();
          w.at(w.now + len, () => node.start(Math.floor(rand() * 1e9)));
          return;
        case 1: // freeze (SIGSTOP, a stalled event loop)
          node.frozenUntil = Math.max(node.frozenUntil, w.now + len);
          return;
        case 2: // its API server loses the store
          node.storeUp = false;
          w.at(w.now + len, () => (node.storeUp = true));
          return;
        case 3: // its link is partitioned (ARP cannot see it), and the store with it
          // The one combination fencing does not cover (README: lease mode,
          // "planned handovers"): a partition between a releasing holder that
          // still has its VIP and the node taking over.
          if (
            w.nodes.some((n) =>
              n.state?.phase === "releasing" && n.hasVip(w.now)
            )
          ) return;
          node.lanUp = false;
          node.storeUp = false;
          w.at(w.now + len, () => {
            node.lanUp = true;
            node.storeUp = true;
          });
          return;
        case 4: // health flap
          node.healthy = !node.healthy;
          node.deliver({ type: "eligibility", eligible: node.healthy });
          if (!node.healthy) {
            w.at(w.now + len, () => {
              node.healthy = true;
              node.deliver({ type: "eligibility", eligible: true });
            });
          }
          return;
        case 5: // SIGTERM, start again later
          if (!node.alive) return;
          node.deliver({ type: "shutdown" });
          w.at(w.now + len + 5 * D, () => {
            if (!node.alive) node.start(Math.floor(rand() * 1e9));
          });
          return;
        case 6: // SIGTERM twice
          if (!node.alive) return;
          node.deliver({ type: "shutdown" });
          w.at(
            w.now + rand() * 300,
            () => node.deliver({ type: "shutdown", force: true }),
          );
          w.at(w.now + len + 5 * D, () => {
            if (!node.alive) node.start(Math.floor(rand() * 1e9));
          });
          return;
        case 7: { // ha-vip handoff: for a while, or until cancelled
          const timed = rand() < 0.5;
          node.deliver({
            type: "handoff",
            request: { forMs: timed ? len : null, reason: "planned handoff" },
          });
          if (!timed) {
            w.at(
              w.now + len,
              () => node.deliver({ type: "handoff", request: null }),
            );
          }
          return;
        }
      }
    });
  }
  // Faults over: heal everything, start whoever is down.
  w.at(faultsEnd + 30_000, () => {
    w.calm = true;
    for (const node of w.nodes) {
      node.storeUp = true;
      node.lanUp = true;
      node.frozenUntil = 0;
      if (!node.healthy) {
        node.healthy = true;
        node.deliver({ type: "eligibility", eligible: true });
      }
      if (!node.alive) node.start(Math.floor(rand() * 1e9));
    }
  });
  const end = faultsEnd + 30_000 + 3 * D + 10_000;
  try {
    w.run(end);
  } catch (err) {
    const dump = w.nodes.map((n) =>
      `${n.name}: ${JSON.stringify({ ...n.state, config: undefined })}\n${
        n.trace.slice(-5).join("\n")
      }`
    ).join("\n");
    throw new Error(`${(err as Error).message}\n${dump}`);
  }
  return { w, end };
}

for (const [name, timing] of TIMINGS) {
  Deno.test(`simulation ${name}: no two nodes ever have the VIP at once, through every fault`, () => {
    let handovers = 0;
    let takenBack = 0;
    let handedOff = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const { w, end } = simulate(seed, timing as LeaseMachineConfig);
      const o = overlaps(w.nodes);
      assert.equal(
        o.total,
        0,
        `seed ${seed}: two holders for ${o.total} ms, first at ${o.first}`,
      );
      // Liveness: after the faults, exactly one node holds the VIP.
      const holders = w.nodes.filter((n) => n.hasVip(end - 1));
      assert.equal(
        holders.length,
        1,
        `seed ${seed}: holders at the end: ${holders.map((h) => h.name)}`,
      );
      handovers += w.nodes.reduce((s, n) => s + n.vip.length, 0);
      const traced = (re: RegExp) =>
        w.nodes.reduce(
          (s, n) => s + n.trace.filter((l) => re.test(l)).length,
          0,
        );
      takenBack += traced(/took the lease back/);
      handedOff += traced(/"reason":"[^"]* holds the lease"/);
    }
    // The faults really moved the VIP around (the test is not vacuous), and
    // handoffs both found successors and took the Lease back.
    assert.ok(handovers > SEEDS * 4, `only ${handovers} VIP holdings`);
    assert.ok(takenBack > 0 && handedOff > 0, `${takenBack} ${handedOff}`);
  });
}

Deno.test("simulation control: a kernel 2 s later than assumed breaks the bound, and the check sees it", () => {
  const timing = TIMINGS[0][1] as LeaseMachineConfig;
  let total = 0;
  for (let seed = 1; seed <= 10; seed++) {
    total += overlaps(simulate(seed, timing, 2_000).w.nodes).total;
  }
  assert.ok(total > 0);
});

const SEEDS = Number(Deno.env.get("HA_VIP_SIM_SEEDS") ?? 25);
