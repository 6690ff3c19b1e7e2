/**
 * The whole daemon in process, without root: `runDaemon` against fake
 * kernels on a fake segment and a fake clock (see _inprocess.ts). Each
 * test plays one duty of the loop and checks what the kernels saw.
 */
import assert from "node:assert/strict";
import { renderStatus } from "../../lib/cli/mod.ts";
import { ConfigError } from "../../lib/config/mod.ts";
import { DaemonStartError, type StatusDocument } from "../../lib/daemon/mod.ts";
import type { ElectionBackends } from "../../lib/election/mod.ts";
import { encodeAdvertisement } from "../../lib/vrrp/mod.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import {
  FakeKernel,
  FakeSegment,
  ipv4Datagram,
} from "../../testing/fake_net.ts";
import {
  holders,
  logs,
  type Node,
  nodeKernel,
  NOT_READY,
  READY,
  startNode,
  VIP,
} from "./_inprocess.ts";

/** Master-down interval at priority 100 with 100 ms adverts: 300 + 60.9 ms. */
const MDI_100 = 361;

async function pair(clock: FakeClock, health = false): Promise<Node[]> {
  const segment = new FakeSegment();
  const a = await startNode({
    clock,
    segment,
    name: "node1",
    ip: "10.62.0.1",
    priority: 150,
    health,
  });
  const b = await startNode({
    clock,
    segment,
    name: "node2",
    ip: "10.62.0.2",
    priority: 100,
    health,
  });
  return [a, b];
}

async function stopAll(clock: FakeClock, nodes: Node[]): Promise<void> {
  for (const n of nodes) n.stop();
  for (const n of nodes) n.stop(); // a second signal: release at once
  await clock.advance(1000);
  for (const n of nodes) assert.equal(await n.done, 0, logs(nodes));
}

Deno.test("in process: the highest priority takes the VIP, with a lifetime, and announces it", async () => {
  const clock = new FakeClock();
  const nodes = await pair(clock);
  const [a, b] = nodes;
  await clock.until("a master", () => holders(nodes).length > 0);
  assert.deepEqual(holders(nodes), ["node1"], logs(nodes));
  const vip = a.kernel.address(VIP)!;
  assert.equal(vip.preferredLft, 0, "never a source address");
  assert.equal(vip.validLft, 2, "the lifetime: 3 × 100 ms + 1 s, at least 2 s");
  assert.ok(a.kernel.announcements.length >= 1);
  assert.equal(a.kernel.announcements[0].ip, VIP);
  // The lifetime is refreshed: long after it would have run out, it is there.
  await clock.advance(10_000);
  assert.deepEqual(holders(nodes), ["node1"], logs(nodes));
  assert.ok(b.logged(/VRRP initialize -> backup: startup/));
  await stopAll(clock, nodes);
});

Deno.test("in process: takeover when the master vanishes, and back when it returns (preempt)", async () => {
  const clock = new FakeClock();
  const segment = new FakeSegment();
  const a = await startNode({
    clock,
    segment,
    name: "node1",
    ip: "10.62.0.1",
    priority: 150,
  });
  const b = await startNode({
    clock,
    segment,
    name: "node2",
    ip: "10.62.0.2",
    priority: 100,
  });
  const nodes = [a, b];
  await clock.until("node1 master", () => holders(nodes).includes("node1"));
  const cut = clock.now();
  segment.isolate(a.kernel); // a partition: node1 keeps its carrier
  await clock.until("node2 takes over", () => holders(nodes).includes("node2"));
  const took = clock.now() - cut;
  assert.ok(took >= MDI_100 - 100 && took <= MDI_100 + 100, `took ${took} ms`);
  assert.ok(b.logged(/VRRP backup -> master: master down timer expired/));
  assert.ok(b.kernel.announcements.some((x) => x.ip === VIP));
  segment.rejoin(a.kernel);
  await clock.until("node2 yields", () => holders(nodes).join() === "node1");
  assert.ok(
    b.logged(/VRRP master -> backup: peer with higher priority 10\.62\.0\.1/),
    logs(nodes),
  );
  await stopAll(clock, nodes);
});

Deno.test("in process: a master whose API server turns unready hands over make-before-break", async () => {
  const clock = new FakeClock();
  const nodes = await pair(clock, true);
  const [a] = nodes;
  await clock.until(
    "node1 master",
    () => holders(nodes).join() === "node1",
    30_000,
  );
  a.verdict = NOT_READY;
  let gap = false;
  await clock.until("node2 holds alone", () => {
    gap ||= holders(nodes).length === 0;
    return holders(nodes).join() === "node2";
  }, 30_000);
  assert.equal(gap, false, "a client never saw nobody holding the VIP");
  assert.ok(
    a.logged(/VRRP master -> yielding: health not ready: etcd failing/),
    logs(nodes),
  );
  assert.ok(a.logged(/VRRP yielding -> backup/));
  assert.ok(
    a.logged(/API server is not ready: .* node=node1 component=health/),
    "health lines carry the node like every other line",
  );
  a.verdict = READY;
  await clock.until(
    "node1 back",
    () => holders(nodes).join() === "node1",
    30_000,
  );
  await stopAll(clock, nodes);
});

Deno.test("in process: SIGTERM on the master keeps the VIP until the successor holds it", async () => {
  const clock = new FakeClock();
  const nodes = await pair(clock);
  const [a, b] = nodes;
  await clock.until("node1 master", () => holders(nodes).join() === "node1");
  a.stop();
  let gap = false;
  let exited = false;
  a.done.then(() => exited = true);
  await clock.until("node1 exits", () => {
    gap ||= holders(nodes).length === 0;
    return exited;
  });
  assert.equal(await a.done, 0);
  assert.equal(gap, false, "make-before-break");
  assert.deepEqual(holders(nodes), ["node2"]);
  assert.ok(a.logged(/VRRP master -> leaving: shutdown/), logs(nodes));
  assert.ok(
    a.logged(/VRRP leaving -> stopped: new master 10\.62\.0\.2 announced/),
  );
  assert.ok(a.logged(/ha-vip stopped/));
  assert.equal(a.kernel.routesOpen, 0, "every netlink socket closed");
  assert.equal(a.kernel.vrrpSocketsOpen, 0, "the VRRP socket closed");
  assert.equal(a.kernel.announcersOpen, 0, "the announcer closed");
  b.stop();
  b.stop();
  await clock.advance(1000);
  assert.equal(await b.done, 0);
  assert.deepEqual(holders(nodes), []);
});

Deno.test("in process: a VIP the kernel refuses holds the node off by the machine's deadline, then it retries", async () => {
  const clock = new FakeClock();
  const a = await startNode({
    clock,
    name: "node1",
    ip: "10.62.0.1",
    priority: 150,
  });
  a.kernel.failNext("replaceAddress", 1 /* EPERM */);
  await clock.until("refused", () => a.logged(/cannot add the VIP: .*EPERM/));
  const refusedAt = clock.now();
  await clock.until(
    "stepped out",
    () => a.logged(/VRRP master -> yielding: cannot add the VIP/),
  );
  await clock.until(
    "holds it after the hold-off",
    () => holders([a]).length === 1,
  );
  const heldAfter = clock.now() - refusedAt;
  // 5 s hold-off, then a full master-down interval as backup.
  assert.ok(heldAfter >= 5000 && heldAfter < 5000 + 1000, `${heldAfter} ms`);
  await stopAll(clock, [a]);
});

Deno.test("in process: the interface gone steps down; recreated, the socket and the VIP follow it", async () => {
  const clock = new FakeClock();
  const segment = new FakeSegment();
  const a = await startNode({
    clock,
    segment,
    name: "node1",
    ip: "10.62.0.1",
    priority: 150,
  });
  await clock.until("master", () => holders([a]).length === 1);
  const oldIndex = a.kernel.address(VIP)!.ifindex;
  a.kernel.deleteLink("eth0");
  await clock.until(
    "down logged",
    () => a.logged(/interface eth0 is down: gone/),
  );
  await clock.until(
    "stepped down",
    () => a.logged(/master -> initialize: interface down/),
  );
  assert.deepEqual(holders([a]), []);
  const fresh = a.kernel.addLink("eth0", { segment });
  a.kernel.addAddress("eth0", "10.62.0.1/24");
  await clock.until(
    "recreated logged",
    () => a.logged(/was recreated \(index \d+ -> \d+\)/),
  );
  assert.ok(
    a.logged(
      new RegExp(`reopened the VRRP socket on eth0 \\(#${fresh.index}\\)`),
    ),
    a.lines.join("\n"),
  );
  await clock.until("master again", () => a.kernel.hasAddress(VIP, "eth0"));
  assert.notEqual(a.kernel.address(VIP)!.ifindex, oldIndex);
  assert.equal(a.kernel.vrrpSocketsOpen, 1, "the old socket was closed");
  await stopAll(clock, [a]);
});

Deno.test("in process: no carrier steps down, carrier back rejoins; a lost notification is caught up by a resync", async () => {
  const clock = new FakeClock();
  const a = await startNode({
    clock,
    name: "node1",
    ip: "10.62.0.1",
    priority: 150,
  });
  await clock.until("master", () => holders([a]).length === 1);
  a.kernel.setLink("eth0", { carrier: false });
  await clock.until("VIP removed", () => holders([a]).length === 0);
  assert.ok(a.logged(/interface eth0 is down: no carrier/));
  a.kernel.setLink("eth0", { carrier: true });
  await clock.until("master again", () => holders([a]).length === 1);
  assert.ok(a.logged(/interface eth0 is up again/));
  a.kernel.overrun();
  await clock.advance(100);
  assert.equal(
    holders([a]).length,
    1,
    "a resync that finds nothing new changes nothing",
  );
  await stopAll(clock, [a]);
});

Deno.test("in process: what stops the start is one clear error (a usage error when the configuration is wrong)", async () => {
  const clock = new FakeClock();
  const cases: [
    string,
    (n: NodeOptionsLike) => void,
    RegExp,
    (typeof ConfigError | typeof DaemonStartError)?,
  ][] = [
    [
      "no such interface",
      (o) => o.flags = { interface: "eth9" },
      /^interface: get link "eth9": ENODEV/,
      ConfigError,
    ],
    [
      "no IPv4 address",
      (o) => o.noAddress = true,
      /eth0 has no IPv4 address of its own; VRRP needs one/,
    ],
    [
      "socket refused",
      (o) => o.kernelSetup = (k) => k.failNext("openVrrpSocket", 1),
      /cannot open the VRRP socket on eth0: socket .*EPERM/,
    ],
    [
      "no backend",
      (o) => o.backends = {},
      /election.mode: vrrp is not available in this version/,
    ],
  ];
  for (const [what, setup, message, kind = DaemonStartError] of cases) {
    const o: NodeOptionsLike = {};
    setup(o);
    const kernel = new FakeKernel(clock, what);
    kernel.addLink("eth0");
    if (!o.noAddress) kernel.addAddress("eth0", "10.62.0.1/24");
    o.kernelSetup?.(kernel);
    const n = await startNode({
      clock,
      name: what,
      ip: "10.62.0.1",
      priority: 100,
      kernel,
      flags: o.flags,
      backends: o.backends,
    });
    const err = await n.done.then(() => undefined, (e) => e);
    assert.ok(err instanceof kind, `${what}: ${err}`);
    assert.match(err.message, message, what);
    assert.equal(kernel.routesOpen, 0, `${what}: sockets closed`);
    assert.equal(kernel.vrrpSocketsOpen, 0, `${what}: VRRP socket closed`);
  }
});

interface NodeOptionsLike {
  flags?: Record<string, unknown>;
  noAddress?: boolean;
  kernelSetup?: (k: FakeKernel) => void;
  backends?: ElectionBackends;
}

Deno.test("in process: a VIP left by a crashed run is removed at start; one outside the subnets is never claimed", async () => {
  const clock = new FakeClock();
  const kernel = nodeKernel(clock, "node1", "10.62.0.1");
  kernel.addAddress("eth0", `${VIP}/24`, { validLft: 300 });
  const a = await startNode({
    clock,
    name: "node1",
    ip: "10.62.0.1",
    priority: 150,
    kernel,
  });
  await clock.advance(10);
  assert.ok(a.logged(/removed a VIP left on the interface by a previous run/));
  assert.ok(!a.logged(/primary address/));
  await clock.until("master", () => holders([a]).length === 1);
  assert.equal(a.kernel.address(VIP)!.validLft, 2, "its own lifetime now");
  await stopAll(clock, [a]);

  const b = await startNode({
    clock,
    name: "node2",
    ip: "10.62.0.2",
    priority: 100,
    flags: { vip: "10.70.0.100/24" },
  });
  await clock.advance(10);
  assert.ok(
    b.logged(
      /startup; no own address in the VIP's subnet 10\.70\.0\.0\/24 on eth0 .*will not take over/,
    ),
    b.lines.join("\n"),
  );
  // It would be that subnet's primary address: never claimed.
  await clock.advance(20_000);
  assert.equal(b.kernel.hasAddress("10.70.0.100"), false);
  await stopAll(clock, [b]);
});

Deno.test("in process: /status and /metrics describe the daemon, and ha-vip status renders it", async () => {
  const clock = new FakeClock();
  const a = await startNode({
    clock,
    name: "node1",
    ip: "10.62.0.1",
    priority: 150,
    health: true,
    flags: { "observe.metrics_address": "127.0.0.1:0" },
  });
  await clock.until("master", () => holders([a]).length === 1, 30_000);
  const line = a.lines.find((l) => l.includes("serving /metrics and /status"));
  const port = /address=127\.0\.0\.1:(\d+)/.exec(line ?? "")?.[1];
  assert.ok(port, a.lines.join("\n"));
  const doc: StatusDocument =
    await (await fetch(`http://127.0.0.1:${port}/status`)).json();
  assert.equal(doc.node, "node1");
  assert.equal(doc.holding, true);
  assert.equal(doc.vip_on_interface, true, "the kernel said so");
  assert.equal(doc.election.backend, "vrrp");
  assert.equal(doc.election.state, "master");
  assert.equal(doc.election.master, "10.62.0.1");
  assert.equal(
    doc.election.summary,
    "vrrp master, priority 150, master 10.62.0.1",
  );
  assert.deepEqual(doc.health, {
    status: "ready",
    verdict: "ready",
    detail: "ok",
    last_probe: "ready",
  });
  const text = renderStatus(doc);
  assert.match(text, /vip: +10\.62\.0\.100\/24 on eth0: HELD by this node/);
  assert.match(
    text,
    /election: +vrrp master, priority 150, master 10\.62\.0\.1\n/,
  );
  assert.match(text, /health: +ready \(ready: ok\)/);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`))
    .text();
  assert.match(metrics, /^havip_vip_held 1$/m);
  assert.match(metrics, /^havip_health_ready 1$/m);
  assert.match(metrics, /^havip_vrrp_state\{state="master"\} 1$/m);
  a.verdict = NOT_READY;
  await clock.until(
    "not eligible",
    () => a.logged(/yielding -> backup/),
    30_000,
  );
  const after: StatusDocument =
    await (await fetch(`http://127.0.0.1:${port}/status`)).json();
  assert.equal(after.holding, false);
  assert.equal(after.vip_on_interface, false);
  assert.match(
    renderStatus(after),
    /vrrp backup, .* \(not eligible: etcd failing\)/,
  );
  await stopAll(clock, [a]);
  const gone = await fetch(`http://127.0.0.1:${port}/status`).catch((e) => e);
  assert.ok(gone instanceof Error, "the server stopped with the daemon");
});

Deno.test("in process: hostile and broken packets are counted, not obeyed; receive errors are survived", async () => {
  const clock = new FakeClock();
  const segment = new FakeSegment();
  const a = await startNode({
    clock,
    segment,
    name: "node1",
    ip: "10.62.0.1",
    priority: 150,
  });
  await clock.until("master", () => holders([a]).length === 1);
  const forged = encodeAdvertisement(
    { vrid: 51, priority: 254, maxAdvertIntervalCs: 10, addresses: [VIP] },
    { src: "10.62.0.9", dst: "224.0.0.18" },
  );
  segment.inject(ipv4Datagram("10.62.0.9", "224.0.0.18", forged, 64));
  await clock.advance(10);
  assert.ok(a.logged(/dropped VRRP packet .*reason=ttl/), a.lines.join("\n"));
  assert.deepEqual(holders([a]), ["node1"], "a TTL-64 advert moves nothing");
  a.kernel.failNext("vrrpRecv", 9 /* EBADF */);
  await clock.advance(500);
  assert.ok(a.logged(/VRRP receive failed/));
  assert.deepEqual(holders([a]), ["node1"]);
  await stopAll(clock, [a]);
});

Deno.test("in process: failing sends are said once; a socket that cannot be reopened is retried at the next resync", async () => {
  const clock = new FakeClock();
  const segment = new FakeSegment();
  const a = await startNode({
    clock,
    segment,
    name: "node1",
    ip: "10.62.0.1",
    priority: 150,
  });
  await clock.until("master", () => holders([a]).length === 1);
  a.kernel.removeAddress("10.62.0.1");
  await clock.advance(1000);
  const warnings = a.lines.filter((l) =>
    /cannot send VRRP advertisement/.test(l)
  );
  assert.equal(warnings.length, 1, a.lines.join("\n"));
  assert.match(warnings[0], /ENETUNREACH/);
  a.kernel.addAddress("eth0", "10.62.0.1/24");
  a.kernel.deleteLink("eth0");
  await clock.until("down", () => a.logged(/interface eth0 is down: gone/));
  a.kernel.failNext("openVrrpSocket", 24 /* EMFILE */);
  a.kernel.addLink("eth0", { segment });
  a.kernel.addAddress("eth0", "10.62.0.1/24");
  await clock.until(
    "reopen failed",
    () => a.logged(/cannot reopen the VRRP socket on eth0/),
  );
  await clock.until(
    "reopened at the resync",
    () => a.logged(/reopened the VRRP socket/),
    20_000,
  );
  await clock.until("master again", () => holders([a]).length === 1);
  await stopAll(clock, [a]);
});

/** A fake kernel that counts the daemon's address reads and writes. */
class CountingKernel extends FakeKernel {
  lists = 0;
  writes = 0;
  override openRoute() {
    const r = super.openRoute();
    return {
      ...r,
      listAddresses: (f: Parameters<typeof r.listAddresses>[0]) => {
        this.lists++;
        return r.listAddresses(f);
      },
      replaceAddress: (o: Parameters<typeof r.replaceAddress>[0]) => {
        this.writes++;
        return r.replaceAddress(o);
      },
    };
  }
}

Deno.test("in process: a lifetime refresh reads the addresses once; its own notification is no news (issue 12)", async () => {
  const clock = new FakeClock();
  const kernel = new CountingKernel(clock, "node1");
  kernel.addLink("lo");
  kernel.addLink("eth0", { segment: new FakeSegment() });
  kernel.addAddress("eth0", "10.62.0.1/24");
  const node = await startNode({
    clock,
    kernel,
    name: "node1",
    ip: "10.62.0.1",
    priority: 150,
  });
  await clock.until("master", () => holders([node]).length > 0);
  await clock.advance(1000);
  kernel.lists = kernel.writes = 0;
  await clock.advance(9_000); // at most one link resync (every 10 s)
  assert.ok(kernel.writes >= 10, `refreshed ${kernel.writes} times`);
  // Each refresh reads the addresses before it writes (its guard); the
  // kernel's notification of the write changes nothing the node acts on.
  // A resync reads them twice (the follower, then the holder's reconcile).
  assert.ok(
    kernel.lists <= kernel.writes + 2,
    `${kernel.lists} address reads for ${kernel.writes} refreshes\n${
      logs([node])
    }`,
  );
  assert.deepEqual(holders([node]), ["node1"]);
  await stopAll(clock, [node]);
});
