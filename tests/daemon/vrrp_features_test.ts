/**
 * Issue 11 in process, without root: dual-stack VIPs moving together,
 * authenticated groups against an injector (forged, unsigned, wrong-key and
 * replayed adverts), and the planned handoff over the control channel.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../../lib/config/mod.ts";
import type { StatusDocument } from "../../lib/daemon/mod.ts";
import { encodeAdvertisement, type VrrpDatagram } from "../../lib/vrrp/mod.ts";
import { AuthKey, signAdvertisement } from "../../lib/vrrp_auth/mod.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import {
  FakeKernel,
  FakeSegment,
  ipv4Datagram,
} from "../../testing/fake_net.ts";
import {
  ask,
  dualKernel,
  holders,
  holdersOf,
  ipv6Kernel,
  logs,
  type Node,
  startNode,
  stopAll,
  VIP,
  withControl,
} from "./_inprocess.ts";

const VIP6 = "fd00:62::100";
const KEY_HEX = "hex:" + "5a".repeat(32);

Deno.test("in process: dual stack holds both VIPs on one node and moves them together", async () => {
  const clock = new FakeClock();
  const segment = new FakeSegment();
  const nodes: Node[] = [];
  for (const [host, priority] of [[1, 150], [2, 100]]) {
    nodes.push(
      await startNode({
        clock,
        name: `node${host}`,
        ip: `10.62.0.${host}`,
        priority,
        kernel: dualKernel(clock, `node${host}`, host, segment),
        flags: { vip: [`${VIP}/24`, `${VIP6}/64`] },
      }),
    );
  }
  const [a, b] = nodes;
  await clock.until(
    "node1 holds both",
    () =>
      holdersOf(nodes, VIP).join() === "node1" &&
      holdersOf(nodes, VIP6).join() === "node1",
  );
  assert.ok(a.logged(/VRRP backup -> master: .* family=IPv6/), logs(nodes));
  assert.ok(a.logged(/VRRP backup -> master: .* family=IPv4/));
  assert.ok(
    a.kernel.announcements.some((x) => x.ip === VIP6),
    "the IPv6 VIP is announced (unsolicited NA)",
  );
  // Both routers elect from their own family's adverts: node2 hears node1
  // over IPv6 from its link-local address.
  assert.ok(b.logged(/family=IPv6/));
  // A planned stop moves both, make-before-break.
  a.stop();
  let gap = false;
  let exited = false;
  a.done.then(() => exited = true);
  await clock.until("node1 exits", () => {
    gap ||= holdersOf(nodes, VIP).length === 0 ||
      holdersOf(nodes, VIP6).length === 0;
    return exited;
  });
  assert.equal(gap, false, "no moment without a holder, for either VIP");
  assert.deepEqual(holdersOf(nodes, VIP), ["node2"]);
  assert.deepEqual(holdersOf(nodes, VIP6), ["node2"]);
  b.stop();
  b.stop();
  await clock.advance(1000);
  assert.equal(await b.done, 0);
});

Deno.test("in process: IPv6 only, with unicast peers, elects and fails over", async () => {
  const clock = new FakeClock();
  const segment = new FakeSegment();
  const nodes: Node[] = [];
  for (const [host, peer, priority] of [[1, 2, 150], [2, 1, 100]]) {
    const k = ipv6Kernel(clock, `node${host}`, host, segment);
    nodes.push(
      await startNode({
        clock,
        name: `node${host}`,
        ip: `fe80::${host}`,
        priority,
        kernel: k,
        flags: {
          vip: `${VIP6}/64`,
          "election.vrrp.unicast_peers": [`fe80::${peer}`],
        },
      }),
    );
  }
  await clock.until(
    "node1 master",
    () => holdersOf(nodes, VIP6).join() === "node1",
  );
  segment.isolate(nodes[0].kernel);
  await clock.until(
    "node2 takes over",
    () => holdersOf(nodes, VIP6).includes("node2"),
  );
  assert.ok(nodes[1].logged(/VRRP backup -> master/), logs(nodes));
  segment.rejoin(nodes[0].kernel);
  await clock.until(
    "preempted back",
    () => holdersOf(nodes, VIP6).join() === "node1",
  );
  assert.ok(nodes[1].logged(/peer with higher priority fe80::1/), logs(nodes));
  await stopAll(clock, nodes);
});

/** A key file both nodes read; removed by the caller. */
async function keyFile(text = KEY_HEX): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "hv-key-" });
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o600);
  return path;
}

/** node1 (150) and node2 (100), both signing with the key in `key`. */
async function signedPair(
  clock: FakeClock,
  segment: FakeSegment,
  key: string,
): Promise<Node[]> {
  const flags = { "election.vrrp.auth.keys": [`1:${key}`] };
  const nodes: Node[] = [];
  for (const [host, priority] of [[1, 150], [2, 100]]) {
    nodes.push(
      await startNode({
        clock,
        segment,
        name: `node${host}`,
        ip: `10.62.0.${host}`,
        priority,
        flags,
      }),
    );
  }
  return nodes;
}

/** Datagrams a listener on the segment hears (a sniffer). */
function sniff(clock: FakeClock, segment: FakeSegment): VrrpDatagram[] {
  const k = new FakeKernel(clock, "sniffer");
  k.addLink("eth0", { segment });
  k.addAddress("eth0", "10.62.0.99/24");
  const sock = k.openVrrpSocket({ interface: "eth0", primaryIp: "10.62.0.99" });
  const seen: VrrpDatagram[] = [];
  (async () => {
    for (;;) {
      const d = await sock.recv({ timeoutMs: 60_000 });
      if (d !== null) seen.push(d);
    }
  })();
  return seen;
}

/** An attacker's advert from `src` to 224.0.0.18: any priority, any trailer. */
function forged(
  src: string,
  priority: number,
  trailer: Uint8Array = new Uint8Array(0),
) {
  const pdu = encodeAdvertisement({
    vrid: 51,
    priority,
    maxAdvertIntervalCs: 100,
    addresses: [VIP],
  }, { src, dst: "224.0.0.18" });
  return ipv4Datagram(src, "224.0.0.18", new Uint8Array([...pdu, ...trailer]));
}

Deno.test("in process: with authentication, an injector's priority-254 adverts move nothing", async () => {
  const clock = new FakeClock();
  const segment = new FakeSegment();
  const key = await keyFile();
  try {
    const seen = sniff(clock, segment);
    const nodes = await signedPair(clock, segment, key);
    const [a, b] = nodes;
    await clock.until("node1 master", () => holders(nodes).join() === "node1");
    assert.ok(
      a.logged(/auth="enforce, key 1 \(of 1\), anti-replay time"/),
      logs(nodes),
    );
    assert.ok(
      seen.length > 0 &&
        seen.every((d) => (d as Uint8Array).length === 20 + 12 + 28),
    );

    // The injector, every second for 10 s, as node3 (10.62.0.3) and spoofing
    // node2: unsigned, signed with a wrong key, and forged with a kept HMAC.
    const wrong = new AuthKey(1, new Uint8Array(32).fill(7));
    const real = seen.at(-1) as Uint8Array;
    for (let i = 0; i < 10; i++) {
      for (const src of ["10.62.0.3", "10.62.0.2"]) {
        segment.inject(forged(src, 254));
        const pdu = forged(src, 254).subarray(20);
        const seq = (BigInt(Math.floor(clock.wallNow() / 1000)) << 32n) +
          BigInt(i);
        segment.inject(forged(
          src,
          254,
          signAdvertisement(wrong, seq, {
            pdu,
            src: Uint8Array.from(src.split(".").map(Number)),
          }),
        ));
        segment.inject(forged(src, 254, real.subarray(32)));
      }
      await clock.advance(1000);
      assert.deepEqual(
        holders(nodes),
        ["node1"],
        `second ${i}: ${logs(nodes)}`,
      );
    }
    for (const reason of ["unsigned", "bad_hmac"]) {
      assert.ok(
        b.logged(new RegExp(`dropped VRRP packet .*reason=${reason}`)),
        reason,
      );
    }
    assert.ok(!a.logged(/master -> backup/), "node1 never stepped down");
    await stopAll(clock, nodes);
  } finally {
    await Deno.remove(key);
  }
});

Deno.test("in process: replayed signed adverts do not hold a backup off after the master is gone", async () => {
  const clock = new FakeClock();
  const segment = new FakeSegment();
  const key = await keyFile();
  try {
    const seen = sniff(clock, segment);
    const nodes = await signedPair(clock, segment, key);
    const [a, b] = nodes;
    await clock.until("node1 master", () => holders(nodes).join() === "node1");
    await clock.advance(1000);
    const captured = seen.filter((d) => d instanceof Uint8Array && d[15] === 1 // from 10.62.0.1
    ) as Uint8Array[];
    assert.ok(captured.length >= 5);
    // node1 is cut off; an attacker replays its captured adverts every 50 ms
    // (each was valid once, inside the time window).
    segment.isolate(a.kernel);
    const cut = clock.now();
    let i = 0;
    const replays = clock.interval(
      50,
      () => segment.inject(captured[i++ % captured.length]),
    );
    await clock.until(
      "node2 takes over anyway",
      () => holders(nodes).includes("node2"),
      5000,
    );
    replays[Symbol.dispose]();
    assert.ok(i >= 6, `${i} replays`);
    const took = clock.now() - cut;
    assert.ok(
      took < 600,
      `took over after ${took} ms: the replays did not reset its timer\n${
        logs(nodes)
      }`,
    );
    assert.ok(b.logged(/dropped VRRP packet .*reason=replay/), logs(nodes));
    segment.rejoin(a.kernel);
    await stopAll(clock, nodes);
  } finally {
    await Deno.remove(key);
  }
});

Deno.test("in process: the three-sweep roll-out never splits the group; enforce against unsigned would", async () => {
  const clock = new FakeClock();
  const segment = new FakeSegment();
  const key = await keyFile();
  try {
    const mode = (m?: string) =>
      m === undefined ? {} : {
        "election.vrrp.auth.keys": [`1:${key}`],
        "election.vrrp.auth.mode": m,
      };
    // Each sweep as it looks halfway: node1 still on the previous step.
    for (
      const [first, second] of [
        [undefined, "receive-only"],
        ["receive-only", "permissive"],
        ["permissive", "enforce"],
      ]
    ) {
      const a = await startNode({
        clock,
        segment,
        name: "node1",
        ip: "10.62.0.1",
        priority: 150,
        flags: mode(first),
      });
      const b = await startNode({
        clock,
        segment,
        name: "node2",
        ip: "10.62.0.2",
        priority: 100,
        flags: mode(second),
      });
      const nodes = [a, b];
      await clock.until(
        "node1 master",
        () => holders(nodes).join() === "node1",
      );
      await clock.advance(3000);
      assert.deepEqual(
        holders(nodes),
        ["node1"],
        `${first ?? "off"} + ${second}: one master\n${logs(nodes)}`,
      );
      await stopAll(clock, nodes);
    }
    // Skipping the sweeps: enforce against an unsigned node, both hold the
    // VIP (each drops the other's adverts).
    const c = await startNode({
      clock,
      segment,
      name: "node3",
      ip: "10.62.0.3",
      priority: 150,
    });
    const d = await startNode({
      clock,
      segment,
      name: "node4",
      ip: "10.62.0.4",
      priority: 100,
      flags: mode("enforce"),
    });
    await clock.until("both", () => holders([c, d]).length === 2);
    assert.ok(d.logged(/reason=unsigned/));
    assert.ok(c.logged(/reason=length .*authentication trailer/));
    await stopAll(clock, [c, d]);
  } finally {
    await Deno.remove(key);
  }
});

Deno.test("in process: ha-vip handoff moves the VIP make-before-break and keeps the node out", () =>
  withControl(async (dir) => {
    const clock = new FakeClock();
    const segment = new FakeSegment();
    const path = `${dir}/node1.sock`;
    const a = await startNode({
      clock,
      segment,
      name: "node1",
      ip: "10.62.0.1",
      priority: 150,
      control: path,
    });
    const b = await startNode({
      clock,
      segment,
      name: "node2",
      ip: "10.62.0.2",
      priority: 100,
    });
    const nodes = [a, b];
    await clock.until("node1 master", () => holders(nodes).join() === "node1");
    let gap = false;
    const watch = clock.interval(10, () => gap ||= holders(nodes).length === 0);
    const answer = await ask(clock, path, { op: "handoff", forMs: 600_000 });
    assert.equal(answer.ok, true, answer.message);
    assert.match(
      answer.message,
      /handed the VIP over \(master now 10\.62\.0\.2\): out of the election for 10m/,
    );
    assert.deepEqual(holders(nodes), ["node2"]);
    assert.ok(
      a.logged(
        /planned handoff requested: stepping out of the election for 10m .*by="uid \d+, pid \d+"/,
      ),
      logs(nodes),
    );
    assert.ok(
      a.logged(
        /VRRP master -> yielding: planned handoff \(uid \d+, pid \d+\) for 10m/,
      ),
      logs(nodes),
    );
    watch[Symbol.dispose]();
    assert.equal(gap, false, "no moment without a holder while handing over");
    // It stays out: no preemption back, although it has the higher priority.
    await clock.advance(10_000);
    assert.deepEqual(holders(nodes), ["node2"]);
    const status = await ask(clock, path, { op: "status" });
    assert.equal(status.handoff?.until !== null, true);
    assert.match(status.message, /out of the election until /);
    // Cancel: back in, and preempt takes the VIP back, again without a gap.
    const back = clock.interval(10, () => gap ||= holders(nodes).length === 0);
    const cancelled = await ask(clock, path, { op: "cancel" });
    assert.equal(cancelled.ok, true);
    await clock.until("node1 back", () => holders(nodes).join() === "node1");
    back[Symbol.dispose]();
    assert.equal(gap, false, "no moment without a holder when it comes back");
    assert.ok(a.logged(/handoff cancelled: back in the election/));
    await stopAll(clock, nodes);
  }));

Deno.test("in process: a handoff ends by itself; without a successor it is refused and the VIP stays", () =>
  withControl(async (dir) => {
    const clock = new FakeClock();
    const segment = new FakeSegment();
    const path = `${dir}/node1.sock`;
    const a = await startNode({
      clock,
      segment,
      name: "node1",
      ip: "10.62.0.1",
      priority: 150,
      control: path,
    });
    await clock.until("node1 master", () => holders([a]).join() === "node1");
    const alone = await ask(clock, path, { op: "handoff", forMs: 60_000 });
    assert.equal(alone.ok, false);
    assert.match(
      alone.message,
      /no other node took the VIP over, so this node keeps it/,
    );
    assert.deepEqual(holders([a]), ["node1"], "no outage");
    assert.ok(a.logged(/handoff cancelled: no other node took over/));
    const b = await startNode({
      clock,
      segment,
      name: "node2",
      ip: "10.62.0.2",
      priority: 100,
    });
    const nodes = [a, b];
    await clock.advance(2000);
    const answer = await ask(clock, path, { op: "handoff", forMs: 5_000 });
    assert.equal(answer.ok, true, answer.message);
    assert.deepEqual(holders(nodes), ["node2"]);
    // The time runs out: node1 is back in the election and preempts.
    await clock.until(
      "node1 back",
      () => holders(nodes).join() === "node1",
      20_000,
    );
    assert.ok(a.logged(/handoff over: back in the election/), logs(nodes));
    await stopAll(clock, nodes);
  }));

Deno.test("in process: /status shows the handoff and both VIP families", () =>
  withControl(async (dir) => {
    const clock = new FakeClock();
    const segment = new FakeSegment();
    const path = `${dir}/node1.sock`;
    const a = await startNode({
      clock,
      name: "node1",
      ip: "10.62.0.1",
      priority: 150,
      kernel: dualKernel(clock, "node1", 1, segment),
      control: path,
      flags: {
        vip: [`${VIP}/24`, `${VIP6}/64`],
        "observe.metrics_address": "127.0.0.1:0",
      },
    });
    await clock.until("node1 master", () => holdersOf([a], VIP6).length === 1);
    const statusLine = a.lines.find((l) =>
      l.includes("serving /metrics and /status")
    );
    const port = /address=\S+:(\d+)/.exec(statusLine ?? "")?.[1];
    assert.ok(port, a.lines.join("\n"));
    const doc = await (await fetch(`http://127.0.0.1:${port}/status`))
      .json() as StatusDocument;
    assert.equal(doc.vip, `${VIP}/24, ${VIP6}/64`);
    assert.equal(doc.handoff, null);
    const routers =
      (doc.election as { routers?: { family: number; state: string }[] })
        .routers;
    assert.deepEqual(routers?.map((r) => [r.family, r.state]), [[4, "master"], [
      6,
      "master",
    ]]);
    await stopAll(clock, [a]);
  }));

Deno.test("in process: a held IPv6 VIP that DAD marked is added again without DAD", async () => {
  // A VIP added by hand on a backup is removed at once (issue 7), and at
  // start one without ha-vip's marks is refused: what is left is the
  // master's VIP re-added by hand without nodad (so DAD runs, and fails
  // while another host answers for it). The next refresh repairs it.
  const clock = new FakeClock();
  const k = new FakeKernel(clock, "node1");
  k.addLink("lo");
  k.addLink("eth0");
  k.addAddress("eth0", "fe80::1/64");
  k.addAddress("eth0", "fd00:62::1/64");
  const a = await startNode({
    clock,
    name: "node1",
    ip: "fe80::1",
    priority: 150,
    kernel: k,
    flags: { vip: `${VIP6}/64` },
  });
  await clock.until("master", () => holdersOf([a], VIP6).length === 1);
  k.markDadFailed(VIP6);
  await clock.advance(1100);
  assert.ok(
    a.logged(/marked dadfailed\/tentative .* adding it again without DAD/),
    a.lines.join("\n"),
  );
  assert.equal(k.address(VIP6)!.flags & 0x48, 0, "usable now");
  assert.equal(k.address(VIP6)!.preferredLft, 0);
  assert.deepEqual(holdersOf([a], VIP6), ["node1"]);
  await stopAll(clock, [a]);
});

Deno.test("in process: a key file that cannot be used stops the start as a configuration error", async () => {
  const clock = new FakeClock();
  const short = await keyFile("hex:0011");
  try {
    const a = await startNode({
      clock,
      name: "node1",
      ip: "10.62.0.1",
      priority: 150,
      flags: {
        "election.vrrp.auth.keys": ["1:/nonexistent/key", `2:${short}`],
        "election.vrrp.auth.active_key": "1",
      },
    });
    const err = await a.done.then(() => undefined, (e) => e);
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(
      err.message,
      /election\.vrrp\.auth\.keys: key 1 \(\/nonexistent\/key\): cannot read the key file: no such file/,
    );
    assert.match(err.message, /key 2 .*holds a 2-byte key/);
    assert.equal(a.kernel.vrrpSocketsOpen, 0);
  } finally {
    await Deno.remove(short);
  }
});
