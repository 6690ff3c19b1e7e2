/**
 * Several pure state machines on a simulated segment (fake clock, 1 ms
 * delivery): the RFC rules together, as the lab will see them.
 */

import assert from "node:assert/strict";
import {
  masterDownIntervalMs,
  nextDeadline,
  skewTimeMs,
  type VrrpAction,
  type VrrpConfig,
} from "../../lib/vrrp/mod.ts";
import { Driver } from "./_support.ts";

const A = 1000;
const LATENCY = 1;

interface Node {
  name: string;
  ip: string;
  d: Driver;
  /** False after a crash: no timers, no packets in or out. */
  alive: boolean;
  vip: boolean;
  exited: boolean;
}

interface Packet {
  at: number;
  to: Node;
  src: string;
  priority: number;
}

class Segment {
  now = 0;
  readonly nodes: Node[] = [];
  readonly queue: Packet[] = [];
  /** Pairs of names that cannot hear each other. */
  readonly cut = new Set<string>();
  readonly announces: { at: number; name: string }[] = [];
  /** [time, holders] whenever the set of VIP holders changed. */
  readonly holders: [number, string[]][] = [];

  add(name: string, config: Partial<VrrpConfig>, eligible = true): Node {
    const ip = config.primaryIp ?? `10.0.0.${this.nodes.length + 1}`;
    const node: Node = {
      name,
      ip,
      d: new Driver({ ...config, primaryIp: ip }, { eligible }),
      alive: true,
      vip: false,
      exited: false,
    };
    this.nodes.push(node);
    return node;
  }

  /** Delivers an event to a node now and performs its actions. */
  deliver(node: Node, event: Parameters<Driver["at"]>[1]): void {
    this.#perform(node, node.d.at(this.now, event));
  }

  run(until: number): void {
    for (;;) {
      let next = Infinity;
      for (const n of this.nodes) {
        const t = n.alive ? nextDeadline(n.d.state) : null;
        if (t !== null) next = Math.min(next, t);
      }
      for (const p of this.queue) next = Math.min(next, p.at);
      if (next > until) break;
      this.now = next;
      for (const n of this.nodes) {
        if (n.alive) this.#perform(n, n.d.advance(this.now));
      }
      const due = this.queue.filter((p) => p.at <= this.now);
      this.queue.splice(
        0,
        this.queue.length,
        ...this.queue.filter((p) => p.at > this.now),
      );
      for (const p of due) {
        if (!p.to.alive) continue;
        this.#perform(
          p.to,
          p.to.d.at(this.now, {
            type: "advertisement",
            src: p.src,
            priority: p.priority,
            maxAdvertIntervalCs: 100,
          }),
        );
      }
    }
    this.now = until;
  }

  crash(node: Node): void {
    node.alive = false;
    // A crash keeps the address until its lifetime runs out; for these
    // tests the holder set only tracks live nodes.
    node.vip = false;
    this.#recordHolders();
  }

  master(): string[] {
    return this.nodes.filter((n) => n.alive && n.d.state.phase === "master")
      .map((n) => n.name);
  }

  #perform(node: Node, actions: VrrpAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case "send":
          for (const to of this.nodes) {
            if (to === node || !to.alive) continue;
            if (this.cut.has(`${node.name}|${to.name}`)) continue;
            this.queue.push({
              at: this.now + LATENCY,
              to,
              src: node.ip,
              priority: a.priority,
            });
          }
          break;
        case "addVip":
          node.vip = true;
          this.#recordHolders();
          break;
        case "removeVip":
          node.vip = false;
          this.#recordHolders();
          break;
        case "announce":
          this.announces.push({ at: this.now, name: node.name });
          break;
        case "exit":
          node.exited = true;
          node.alive = false;
          break;
      }
    }
  }

  #recordHolders(): void {
    this.holders.push([
      this.now,
      this.nodes.filter((n) => n.vip).map((n) => n.name),
    ]);
  }

  partition(a: Node, b: Node): void {
    this.cut.add(`${a.name}|${b.name}`);
    this.cut.add(`${b.name}|${a.name}`);
  }

  heal(): void {
    this.cut.clear();
  }
}

/** Three nodes, priorities 150/120/100, started together at t = 0. */
function threeNodes(): [Segment, Node, Node, Node] {
  const seg = new Segment();
  const a = seg.add("a", { priority: 150 });
  const b = seg.add("b", { priority: 120 });
  const c = seg.add("c", { priority: 100 });
  for (const n of [a, b, c]) seg.deliver(n, { type: "startup" });
  seg.run(10_000);
  return [seg, a, b, c];
}

Deno.test("sim: three nodes elect the highest priority, exactly one holder", () => {
  const [seg, a] = threeNodes();
  assert.deepEqual(seg.master(), ["a"]);
  assert.equal(seg.holders.at(-1)?.[1].join(), "a");
  // a took over at its own Master_Down_Interval, first of the three.
  assert.equal(seg.holders[0][0], masterDownIntervalMs(150, A));
  assert.ok(a.vip);
});

Deno.test("sim: graceful shutdown hands over make-before-break", () => {
  const [seg, a] = threeNodes();
  const t = seg.now;
  seg.deliver(a, { type: "shutdown" });
  seg.run(t + 10_000);
  assert.deepEqual(seg.master(), ["b"]);
  assert.ok(a.exited);
  // b (priority 120) took over after its skew time; a removed the VIP
  // only after hearing b: the VIP was never unowned.
  const after = seg.holders.filter(([at]) => at >= t);
  assert.ok(after.every(([, h]) => h.length >= 1), JSON.stringify(after));
  const bTook = after.find(([, h]) => h.includes("b"))![0];
  assert.equal(bTook, t + LATENCY + skewTimeMs(120, A));
  const aLeft = after.find(([, h]) => !h.includes("a"))![0];
  assert.equal(aLeft, bTook + LATENCY);
});

Deno.test("sim: a crashed master is replaced after Master_Down_Interval", () => {
  const [seg, a] = threeNodes();
  const lastAdvert = seg.now - (seg.now - masterDownIntervalMs(150, A)) % A;
  seg.crash(a);
  seg.run(seg.now + 10_000);
  assert.deepEqual(seg.master(), ["b"]);
  const bTook = seg.holders.find(([, h]) => h.includes("b"))![0];
  assert.equal(bTook, lastAdvert + LATENCY + masterDownIntervalMs(120, A));
});

Deno.test("sim: an unready master hands over after the next node's skew time", () => {
  const [seg, a] = threeNodes();
  const t = seg.now;
  seg.deliver(a, { type: "eligibility", eligible: false, reason: "etcd" });
  seg.run(t + 10_000);
  assert.deepEqual(seg.master(), ["b"]);
  assert.equal(a.d.state.phase, "backup");
  // Priority 0 moves b's timer to its skew time.
  const bTook = seg.holders.find(([at, h]) => at >= t && h.includes("b"))![0];
  assert.equal(bTook, t + LATENCY + skewTimeMs(120, A));
  // Ready again with preempt: a takes the VIP back.
  seg.deliver(a, { type: "eligibility", eligible: true });
  seg.run(seg.now + 10_000);
  assert.deepEqual(seg.master(), ["a"]);
});

Deno.test("sim: a healed partition costs at most one interval, and the winner re-announces", () => {
  // Heal at many phases of the two masters' advert timers, so that both
  // orders happen: the loser's advert reaching the winner first, and the
  // winner's reaching the loser first (then only the farewell tells it).
  for (let phase = 0; phase < A; phase += 37) {
    const [seg, a, b, c] = threeNodes();
    // c is cut off from a and b: it becomes a second master.
    seg.partition(a, c);
    seg.partition(b, c);
    seg.run(seg.now + 10_000);
    assert.deepEqual(seg.master().sort(), ["a", "c"]);
    const healAt = seg.now + phase;
    seg.run(healAt);
    seg.heal();
    const announcesBefore = seg.announces.length;
    seg.run(healAt + 5 * A);
    assert.deepEqual(seg.master(), ["a"]);
    const cLeft = seg.holders.find(([at, h]) =>
      at >= healAt && !h.includes("c")
    )![0];
    assert.ok(
      cLeft - healAt <= A + LATENCY,
      `c held on for ${cLeft - healAt} ms`,
    );
    // a announced again after the heal, right after c yielded.
    const again = seg.announces.slice(announcesBefore).filter((x) =>
      x.name === "a"
    );
    assert.equal(again.length, 1, `phase ${phase}: ${JSON.stringify(again)}`);
    assert.ok(again[0].at - cLeft <= 2 * LATENCY, `phase ${phase}`);
  }
});

Deno.test("sim: nobody ready means nobody holds the VIP (default policy)", () => {
  const seg = new Segment();
  const nodes = [150, 120, 100].map((p, i) =>
    seg.add(`n${i}`, { priority: p }, false)
  );
  for (const n of nodes) seg.deliver(n, { type: "startup" });
  seg.run(60_000);
  assert.deepEqual(seg.master(), []);
  assert.deepEqual(seg.holders, []);
  // The lowest priority gets ready first: it takes over; the others join it.
  seg.deliver(nodes[2], { type: "eligibility", eligible: true });
  seg.run(seg.now + 10_000);
  assert.deepEqual(seg.master(), ["n2"]);
});

Deno.test("sim: fallback policy keeps the VIP while nobody is ready, then a ready node takes it", () => {
  const seg = new Segment();
  const nodes = [150, 120, 100].map((p, i) =>
    seg.add(`n${i}`, { priority: p, noneEligiblePolicy: "fallback" }, false)
  );
  for (const n of nodes) seg.deliver(n, { type: "startup" });
  seg.run(60_000);
  // All at priority 1: the greatest address wins the tie.
  assert.deepEqual(seg.master(), ["n2"]);
  seg.deliver(nodes[1], { type: "eligibility", eligible: true });
  seg.run(seg.now + 10_000);
  assert.deepEqual(seg.master(), ["n1"]);
  assert.ok(seg.holders.slice(1).every(([, h]) => h.length >= 1));
});
