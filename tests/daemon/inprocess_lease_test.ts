/**
 * Lease mode, the whole daemon in process: three nodes on a fake segment,
 * one in-memory Lease they share (with a switch that cuts a node's API
 * server from it), fake kernels that expire addresses, a fake clock. After
 * every fired timer the test checks that no two kernels hold the VIP.
 */
import assert from "node:assert/strict";
import type { Config } from "../../lib/config/mod.ts";
import { leaseBackend, type LeaseRequests } from "../../lib/election/mod.ts";
import type { ApiResult, Lease, LeaseRecord } from "../../lib/lease/mod.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { type FakeKernel, FakeSegment } from "../../testing/fake_net.ts";
import {
  ask,
  holders,
  logs,
  type Node,
  nodeConfig,
  nodeKernel,
  NOT_READY,
  READY,
  startNode,
  VIP,
  withControl,
} from "./_inprocess.ts";

/** One Lease and the API servers in front of it. */
class FakeLease {
  record: LeaseRecord | null = null;
  releasedBy?: string;
  #rv = 100;
  /** Nodes whose API server cannot reach the store. */
  readonly cut = new Set<string>();
  /** Holder changes seen by the store. */
  readonly holders: string[] = [];

  constructor(readonly clock: FakeClock) {}

  #lease(): Lease {
    return {
      name: "ha-vip",
      namespace: "kube-system",
      resourceVersion: String(this.#rv),
      record: { ...this.record! },
      ...(this.releasedBy ? { releasedBy: this.releasedBy } : {}),
      metadata: { resourceVersion: String(this.#rv) },
    };
  }

  requests(node: string): LeaseRequests {
    return {
      description: "kube-system/ha-vip",
      perform: async (action, signal): Promise<ApiResult> => {
        await this.clock.sleep(2, signal); // a local API server answers fast
        if (this.cut.has(node)) {
          await this.clock.sleep(1000, signal);
          return { kind: "error", message: "etcdserver: request timed out" };
        }
        if (action.type === "get") {
          return this.record ? { kind: "lease", lease: this.#lease() } : {
            kind: "notFound",
          };
        }
        if (action.type === "create" && this.record) {
          return { kind: "conflict" };
        }
        if (action.type === "update") {
          if (!this.record) return { kind: "notFound" };
          if (action.base.resourceVersion !== String(this.#rv)) {
            return { kind: "conflict" };
          }
        }
        if (action.record.holderIdentity !== this.record?.holderIdentity) {
          this.holders.push(action.record.holderIdentity);
        }
        this.record = { ...action.record };
        this.releasedBy = action.type === "update"
          ? action.releasedBy
          : undefined;
        this.#rv++;
        return { kind: "lease", lease: this.#lease() };
      },
    };
  }
}

interface World {
  clock: FakeClock;
  segment: FakeSegment;
  lease: FakeLease;
  nodes: Node[];
  /** Fails the test if two kernels ever hold the VIP. */
  check(): void;
  /** ms of fake time with nobody holding the VIP, since `since`. */
  gapSince(since: number): number;
}

async function world(
  before?: (w: Pick<World, "clock" | "segment" | "lease">) => Promise<void>,
  /** Each node gets a control socket `<name>.sock` here. */
  controlDir?: string,
): Promise<World> {
  const clock = new FakeClock();
  const segment = new FakeSegment();
  const lease = new FakeLease(clock);
  await before?.({ clock, segment, lease });
  const nodes: Node[] = [];
  for (const [i, name] of ["cp-1", "cp-2", "cp-3"].entries()) {
    nodes.push(
      await startNode({
        clock,
        segment,
        name,
        ip: `10.62.0.${i + 1}`,
        priority: 100,
        health: true,
        flags: { "election.mode": "lease" },
        backends: {
          lease: leaseBackend({ requests: () => lease.requests(name) }),
        },
        ...(controlDir ? { control: `${controlDir}/${name}.sock` } : {}),
      }),
    );
  }
  const gaps: [number, number | null][] = [];
  const w: World = {
    clock,
    segment,
    lease,
    nodes,
    check() {
      const h = holders(nodes);
      assert.ok(
        h.length <= 1,
        `two holders at ${clock.now()}: ${h}\n${logs(nodes)}`,
      );
      const open = gaps.at(-1);
      if (h.length === 0 && (!open || open[1] !== null)) {
        gaps.push([clock.now(), null]);
      }
      if (h.length === 1 && open && open[1] === null) open[1] = clock.now();
    },
    gapSince(since) {
      return gaps.filter(([a]) => a >= since).reduce(
        (s, [a, b]) => s + ((b ?? clock.now()) - a),
        0,
      );
    },
  };
  return w;
}

async function until(
  w: World,
  what: string,
  done: () => boolean,
  limit = 120_000,
) {
  await w.clock.until(what, () => {
    w.check();
    return done();
  }, limit);
}

async function stopAll(w: World) {
  for (const n of w.nodes) n.stop();
  for (const n of w.nodes) n.stop();
  await w.clock.advance(3000);
  for (const n of w.nodes) assert.equal(await n.done, 0, logs(w.nodes));
}

function holderNode(w: World): Node {
  const h = holders(w.nodes);
  assert.equal(h.length, 1);
  return w.nodes.find((n) => n.name === h[0])!;
}

Deno.test("in process (lease): one holder, with the fenced 12 s lifetime renewed only by renewals", async () => {
  const w = await world();
  await until(w, "a holder", () => holders(w.nodes).length === 1);
  const h = holderNode(w);
  assert.equal(w.lease.record?.holderIdentity, h.name);
  assert.equal(h.kernel.address(VIP)!.validLft, 12);
  assert.equal(h.kernel.address(VIP)!.preferredLft, 0);
  assert.ok(h.kernel.announcements.some((a) => a.ip === VIP));
  // A minute later: still the same holder, the lifetime never above 12 s.
  const end = w.clock.now() + 60_000;
  await until(w, "a minute", () => {
    const a = h.kernel.address(VIP);
    assert.ok(a && a.validLft <= 12, `lifetime ${a?.validLft}`);
    return w.clock.now() >= end;
  });
  assert.deepEqual(holders(w.nodes), [h.name]);
  assert.ok(h.logged(/lease follower -> (claiming|holder)/), logs(w.nodes));
  await stopAll(w);
});

Deno.test("in process (lease): the holder cut from its store gives up by renew_deadline; a follower takes over after the lease duration", async () => {
  const w = await world();
  await until(w, "a holder", () => holders(w.nodes).length === 1);
  const old = holderNode(w);
  const cutAt = w.clock.now();
  w.lease.cut.add(old.name);
  await until(
    w,
    "VIP gone from the cut holder",
    () => !old.kernel.hasAddress(VIP),
  );
  const gone = w.clock.now() - cutAt;
  // Its last renewal was at most one retry period (2 s) before the cut.
  assert.ok(gone <= 10_000 && gone >= 8_000 - 100, `gone after ${gone} ms`);
  assert.ok(old.logged(/could not renew the lease for 10s/), logs(w.nodes));
  await until(w, "a new holder", () => holders(w.nodes).length === 1);
  // A follower saw the holder's last renewal (at most 2 s before the cut)
  // on its next jittered try (at most 2.2 × 2 s later), and waits 15 s from
  // that sighting: client-go's takeover, 13 s to 19.4 s.
  const took = w.clock.now() - cutAt;
  assert.ok(took >= 13_000 && took <= 19_400 + 100, `took ${took} ms`);
  assert.notEqual(holderNode(w).name, old.name);
  w.lease.cut.delete(old.name);
  await w.clock.advance(20_000);
  w.check();
  await stopAll(w);
});

Deno.test("in process (lease): SIGTERM hands over make-before-break with no second holder and no long gap", async () => {
  const w = await world();
  await until(w, "a holder", () => holders(w.nodes).length === 1);
  await w.clock.advance(5000);
  const old = holderNode(w);
  const at = w.clock.now();
  old.stop();
  await until(w, "another holder", () => {
    const h = holders(w.nodes);
    return h.length === 1 && h[0] !== old.name;
  });
  // The taker waited for the old VIP to go (probe), then added its own.
  assert.ok(w.gapSince(at) <= 20, `no VIP for ${w.gapSince(at)} ms`);
  assert.equal(await old.done, 0);
  assert.ok(old.logged(/lease holder -> releasing/), logs(w.nodes));
  assert.ok(old.logged(/lease releasing -> stopped: cp-\d holds the lease/));
  const taker = holderNode(w);
  assert.ok(taker.logged(/no longer answers for the VIP/), logs(w.nodes));
  assert.equal(w.lease.record!.leaseTransitions, 1);
  await stopAll(w);
});

Deno.test("in process (lease): a holder whose API server turns unready releases, and the VIP moves without overlap", async () => {
  const w = await world();
  await until(w, "a holder", () => holders(w.nodes).length === 1);
  await w.clock.advance(5000);
  const old = holderNode(w);
  const at = w.clock.now();
  old.verdict = NOT_READY;
  await until(w, "another holder", () => {
    const h = holders(w.nodes);
    return h.length === 1 && h[0] !== old.name;
  });
  assert.ok(w.gapSince(at) <= 20, `no VIP for ${w.gapSince(at)} ms`);
  assert.ok(old.logged(/lease holder -> releasing/), logs(w.nodes));
  // Not ready: it never claims again while the others are there.
  await w.clock.advance(30_000);
  w.check();
  assert.ok(!old.kernel.hasAddress(VIP));
  await stopAll(w);
});

Deno.test("in process (lease): a holder that loses its own address drops the VIP at once and releases; a follower takes over without overlap", async () => {
  const w = await world();
  await until(w, "a holder", () => holders(w.nodes).length === 1);
  await w.clock.advance(3000);
  const old = holderNode(w);
  const own = `10.62.0.${w.nodes.indexOf(old) + 1}`;
  assert.ok(old.kernel.hasAddress(own));
  const at = w.clock.now();
  old.kernel.removeAddress(own); // the VIP (its secondary) goes too
  await until(w, "another holder", () => {
    const h = holders(w.nodes);
    return h.length === 1 && h[0] !== old.name;
  });
  // Released at once: the follower's next try, not the lease duration.
  const took = w.clock.now() - at;
  assert.ok(took <= 2.2 * 2000 + 100, `took ${took} ms`);
  assert.ok(
    old.logged(/removing the VIP at once: no own address in the VIP's subnet/),
    logs(w.nodes),
  );
  assert.equal(w.lease.record!.holderIdentity, holderNode(w).name);
  // Blocked: it never claims again while the address is missing.
  await w.clock.advance(30_000);
  w.check();
  assert.ok(!old.kernel.hasAddress(VIP));
  await stopAll(w);
});

Deno.test("in process (lease): a VIP deleted from the holder comes back with what is left of its fenced lifetime, never a fresh one", async () => {
  const w = await world();
  await until(w, "a holder", () => holders(w.nodes).length === 1);
  const h = holderNode(w);
  w.lease.cut.add(h.name); // no renewal from here on: the lifetime runs down
  await w.clock.advance(3500);
  const left = h.kernel.address(VIP)!.validLft;
  assert.ok(left <= 10, `${left} s left`);
  h.kernel.removeAddress(VIP);
  await w.clock.advance(1);
  assert.ok(h.logged(/the VIP vanished from eth0 while this node holds it/));
  const again = h.kernel.address(VIP);
  assert.ok(again, "added again");
  assert.ok(again.validLft <= left, `${again.validLft} s > ${left} s`);
  w.lease.cut.delete(h.name);
  await stopAll(w);
});

Deno.test("in process (lease): SIGHUP points the Lease client at the re-read API server and credentials; the lease timing needs a restart", async () => {
  const clock = new FakeClock();
  const lease = new FakeLease(clock);
  const base = {
    name: "cp-1",
    priority: 100,
    health: true,
    flags: { "election.mode": "lease" } as Record<string, unknown>,
  };
  let next: Record<string, unknown> = {};
  const seen: Config[] = [];
  const unused = () => Promise.reject(new Error("not used here"));
  const a = await startNode({
    clock,
    ip: "10.62.0.1",
    ...base,
    backends: {
      lease: leaseBackend({ requests: () => lease.requests("cp-1") }),
    },
    reload: () => nodeConfig({ ...base, flags: { ...base.flags, ...next } }),
    localApi: {
      getJson: unused,
      postJson: unused,
      putJson: unused,
      reconfigure: (c) => seen.push(c),
    },
  });
  const hup = async (flags: Record<string, unknown>) => {
    next = flags;
    const mark = a.lines.length;
    a.signal("SIGHUP");
    await clock.advance(10);
    return a.lines.slice(mark).join("\n");
  };
  try {
    await clock.until("holder", () => holders([a]).length === 1, 60_000);
    let out = await hup({ "k8s.token": "abcdef.0123456789abcdef" });
    assert.equal(seen.length, 1, out);
    assert.equal(seen[0].k8s.token, "abcdef.0123456789abcdef");
    assert.doesNotMatch(out, /0123456789abcdef/); // never the secret
    out = await hup({
      "k8s.token": "abcdef.0123456789abcdef",
      "election.lease.duration": "20s",
    });
    assert.match(out, /election\.lease\.duration: 15s -> 20s.*restart ha-vip/);
    assert.equal(seen.length, 1, "nothing of the API changed");
    assert.deepEqual(holders([a]), ["cp-1"]);
  } finally {
    a.stop();
    a.stop();
    await clock.advance(3000);
    assert.equal(await a.done, 0, logs([a]));
  }
});

/**
 * Watches every 5 ms of fake time: the longest stretch with no holder (ms)
 * and whether two ever held the VIP at once.
 */
function watchHolders(w: World) {
  const seen = { longestGapMs: 0, dual: false };
  let since: number | null = null;
  const timer = w.clock.interval(5, () => {
    const n = holders(w.nodes).length;
    const now = w.clock.now();
    if (n === 0) since ??= now;
    else since = null;
    if (since !== null) {
      seen.longestGapMs = Math.max(seen.longestGapMs, now - since + 5);
    }
    seen.dual ||= n > 1;
  });
  return { seen, stop: () => timer[Symbol.dispose]() };
}

Deno.test("in process (lease): ha-vip handoff moves the VIP make-before-break; the node stays out until cancelled", () =>
  withControl(async (dir) => {
    const w = await world(undefined, dir);
    await until(w, "a holder", () => holders(w.nodes).length === 1);
    const h = holderNode(w);
    const watch = watchHolders(w);
    const answer = await ask(w.clock, `${dir}/${h.name}.sock`, {
      op: "handoff",
      forMs: 600_000,
    });
    assert.equal(answer.ok, true, `${answer.message}\n${logs(w.nodes)}`);
    const next = holderNode(w);
    assert.notEqual(next.name, h.name);
    assert.match(
      answer.message,
      new RegExp(
        `handed the VIP over \\(now held by ${next.name}\\): out of the election for 10m`,
      ),
    );
    assert.equal(w.lease.record?.holderIdentity, next.name);
    assert.ok(
      h.logged(/planned handoff requested: stepping out of the election/),
      logs(w.nodes),
    );
    assert.ok(
      h.logged(
        /lease holder -> releasing: released the lease; keeping the VIP/,
      ),
      logs(w.nodes),
    );
    watch.stop();
    // Lease mode's planned handover: the taker adds the VIP one ARP probe
    // round after the old holder removed it (as on SIGTERM), never before.
    assert.equal(watch.seen.dual, false);
    assert.ok(watch.seen.longestGapMs <= 20, `${watch.seen.longestGapMs} ms`);
    const status = await ask(w.clock, `${dir}/${h.name}.sock`, {
      op: "status",
    });
    assert.match(status.message, /out of the election until /);
    // Out: even with everyone else gone and the Lease free, it never claims.
    for (const n of w.nodes) if (n !== h) n.stop();
    await until(w, "the others gone", () => holders(w.nodes).length === 0);
    const idle = w.clock.now() + 60_000;
    await until(w, "a minute out", () => {
      assert.equal(h.kernel.hasAddress(VIP), false, logs(w.nodes));
      return w.clock.now() >= idle;
    });
    assert.notEqual(w.lease.record?.holderIdentity, h.name);
    // Cancelled: back in, it takes the free Lease.
    const back = await ask(w.clock, `${dir}/${h.name}.sock`, { op: "cancel" });
    assert.equal(back.ok, true);
    await until(w, "back", () => h.kernel.hasAddress(VIP));
    assert.ok(h.logged(/handoff cancelled: back in the election/));
    await stopAll(w);
  }));

Deno.test("in process (lease): a handoff nobody takes over is cancelled; the node takes the Lease back and the VIP never leaves", () =>
  withControl(async (dir) => {
    const w = await world(undefined, dir);
    await until(w, "a holder", () => holders(w.nodes).length === 1);
    const h = holderNode(w);
    for (const n of w.nodes) if (n !== h) n.verdict = NOT_READY;
    await w.clock.advance(10_000); // their stable verdict turns
    const watch = watchHolders(w);
    const t = w.lease.record!.leaseTransitions;
    const answer = await ask(w.clock, `${dir}/${h.name}.sock`, {
      op: "handoff",
      forMs: 600_000,
    });
    watch.stop();
    assert.equal(answer.ok, false);
    assert.match(
      answer.message,
      /no other node took the VIP over, so this node keeps it/,
    );
    assert.equal(answer.handoff, null);
    assert.deepEqual(watch.seen, { longestGapMs: 0, dual: false });
    assert.deepEqual(holders(w.nodes), [h.name]);
    assert.equal(w.lease.record?.holderIdentity, h.name);
    assert.equal(w.lease.record?.leaseTransitions, t + 1);
    assert.ok(
      h.logged(/WARN +planned handoff cancelled: no other node took the lease/),
      logs(w.nodes),
    );
    assert.ok(h.logged(/lease releasing -> holder: took the lease back/));
    // In the election again: a later handoff, with a ready node, succeeds.
    for (const n of w.nodes) if (n !== h) n.verdict = READY;
    await w.clock.advance(10_000);
    const again = await ask(w.clock, `${dir}/${h.name}.sock`, {
      op: "handoff",
      forMs: 5_000,
    });
    assert.equal(again.ok, true, again.message);
    assert.notEqual(holderNode(w).name, h.name);
    await stopAll(w);
  }));

/**
 * A kube-vip node in the same Lease (client-go's rules, written here
 * independently of lib/lease): it renews every second, holds its VIP
 * without a lifetime, releases on SIGTERM and then removes its VIP.
 */
class KubeVipPeer {
  #timer?: Disposable;
  readonly kernel: FakeKernel;
  constructor(
    readonly w: Pick<World, "clock" | "segment" | "lease">,
    readonly name = "kv-1",
  ) {
    this.kernel = nodeKernel(w.clock, name, "10.62.0.9", w.segment);
  }

  /** Takes the (absent or free) Lease and the VIP; renews every second. */
  async start(): Promise<void> {
    const lease = this.w.lease;
    const api = lease.requests(this.name);
    const write = async (holder: string, duration: number) => {
      const cur = await api.perform({ type: "get", id: 0 });
      const record: LeaseRecord = {
        holderIdentity: holder,
        leaseDurationSeconds: duration,
        acquireTime: 1,
        renewTime: this.w.clock.now() * 1000,
        leaseTransitions: 0,
      };
      if (cur.kind === "notFound") {
        return await api.perform({ type: "create", id: 0, record });
      }
      if (cur.kind !== "lease") return cur;
      return await api.perform({
        type: "update",
        id: 0,
        record,
        base: cur.lease,
      });
    };
    await write(this.name, 15);
    this.kernel.addAddress("eth0", `${VIP}/24`); // valid_lft forever
    this.#timer = this.w.clock.interval(1000, () => void write(this.name, 15));
    this.#release = async () => {
      this.#timer?.[Symbol.dispose]();
      await write("", 1); // client-go's ReleaseOnCancel, then OnStoppedLeading
      await this.w.clock.sleep(50);
      this.kernel.removeAddress(VIP);
    };
  }

  #release?: () => Promise<void>;

  /** SIGTERM: release, then remove the VIP. */
  stop(): Promise<void> {
    return this.#release!();
  }

  /** kill -9: no more renewals, and the VIP stays (no lifetime). */
  crash(): void {
    this.#timer?.[Symbol.dispose]();
  }
}

/** ha-vip nodes joining a Lease a kube-vip node holds. */
async function withKubeVip(): Promise<{ w: World; kv: KubeVipPeer }> {
  let kv!: KubeVipPeer;
  const w = await world(async (base) => {
    kv = new KubeVipPeer(base);
    const started = kv.start();
    await base.clock.advance(100); // its requests take fake time
    await started;
  });
  return { w, kv };
}

/** Holders counting the kube-vip node. */
function allHolders(w: World, kv: KubeVipPeer): string[] {
  return [...holders(w.nodes), ...(kv.kernel.hasAddress(VIP) ? [kv.name] : [])];
}

Deno.test("in process (lease): ha-vip follows a kube-vip holder in the same Lease and takes over its release with no second holder", async () => {
  const { w, kv } = await withKubeVip();
  // A minute with kube-vip renewing: no ha-vip node claims or adds the VIP.
  const end = w.clock.now() + 60_000;
  await w.clock.until("a minute", () => {
    assert.deepEqual(allHolders(w, kv), ["kv-1"], logs(w.nodes));
    return w.clock.now() >= end;
  });
  assert.ok(w.nodes.every((n) => n.logged(/held by kv-1/)), logs(w.nodes));
  // kube-vip's SIGTERM: release, then its VIP goes.
  const at = w.clock.now();
  void kv.stop();
  let gapFrom: number | null = null;
  let gap = 0;
  await w.clock.until("an ha-vip holder", () => {
    const h = allHolders(w, kv);
    assert.ok(h.length <= 1, `two holders: ${h}\n${logs(w.nodes)}`);
    if (h.length === 0) gapFrom ??= w.clock.now();
    if (h.length === 1 && gapFrom !== null) {
      gap += w.clock.now() - gapFrom;
      gapFrom = null;
    }
    return h.length === 1 && h[0] !== "kv-1";
  }, 10_000);
  // kube-vip removes its VIP right after releasing (no make-before-break):
  // clients wait for a follower's next try, at most 2.2 retry periods.
  assert.ok(gap <= 2.2 * 2000 + 100, `no VIP for ${gap} ms`);
  assert.ok(w.clock.now() - at <= 2.2 * 2000 + 100);
  await stopAll(w);
});

Deno.test("in process (lease): a crashed kube-vip holder is taken over after the lease duration, and its VIP stays (the one difference)", async () => {
  const { w, kv } = await withKubeVip();
  await w.clock.advance(10_000);
  const at = w.clock.now();
  kv.crash();
  await w.clock.until(
    "an ha-vip node takes over",
    () => holders(w.nodes).length === 1,
    30_000,
  );
  const took = w.clock.now() - at;
  assert.ok(took >= 13_000 && took <= 19_500, `took ${took} ms`);
  // kube-vip's address has no lifetime: it answers too until removed.
  assert.ok(kv.kernel.hasAddress(VIP));
  await stopAll(w);
});
