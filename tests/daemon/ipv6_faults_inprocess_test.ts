/**
 * Issue 7's host-fault guarantees for IPv6 VIPs and dual stack (issue 11),
 * in process on the fake kernel: a router without its source address (the
 * link-local one) drops its VIP at once and stays out; a VIP equal to a
 * node's own address is refused and never touched; a hand-added VIP on a
 * backup goes, one deleted from the master comes back. (The subnet-primary
 * rules do not apply: IPv6 has no primary and secondary addresses, see
 * lib/announce/_addresses.ts.)
 */
import assert from "node:assert/strict";
import { ConfigError } from "../../lib/config/mod.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { FakeSegment } from "../../testing/fake_net.ts";
import {
  dualKernel,
  holdersOf,
  ipv6Kernel,
  logs,
  type Node,
  startNode,
  stopAll,
  VIP,
} from "./_inprocess.ts";

const VIP6 = "fd00:62::100";

/** node1 (150) and node2 (100) with both VIPs (dual stack). */
async function dualPair(clock: FakeClock): Promise<Node[]> {
  const segment = new FakeSegment();
  const nodes: Node[] = [];
  for (const [host, priority] of [[1, 150], [2, 100]]) {
    const k = dualKernel(clock, `node${host}`, host, segment);
    nodes.push(
      await startNode({
        clock,
        name: `node${host}`,
        ip: `10.62.0.${host}`,
        priority,
        kernel: k,
        flags: { vip: [`${VIP}/24`, `${VIP6}/64`] },
      }),
    );
  }
  return nodes;
}

Deno.test("in process: dual stack: a master that loses its link-local address drops the IPv6 VIP at once, keeps the IPv4 one, and rejoins", async () => {
  const clock = new FakeClock();
  const nodes = await dualPair(clock);
  const [a] = nodes;
  try {
    await clock.until(
      "node1 holds both",
      () =>
        holdersOf(nodes, VIP).join() === "node1" &&
        holdersOf(nodes, VIP6).join() === "node1",
    );
    a.kernel.removeAddress("fe80::1");
    await clock.advance(1);
    assert.deepEqual(holdersOf(nodes, VIP6), [], "dropped at once");
    assert.deepEqual(holdersOf(nodes, VIP), ["node1"], "IPv4 untouched");
    const why = a.lines.filter((l) => /cannot advertise/.test(l));
    assert.equal(why.length, 1, logs(nodes));
    assert.match(
      why[0],
      /master -> backup: cannot advertise: no source address \(fe80::1 is not on eth0\)/,
    );
    await clock.until(
      "node2 takes the IPv6 VIP",
      () => holdersOf(nodes, VIP6).join() === "node2",
    );
    // Several master-down intervals and lifetime refreshes: node1 stays
    // out of the IPv6 router while the address is missing, and keeps IPv4.
    for (let t = 0; t < 3000; t += 50) {
      await clock.advance(50);
      assert.deepEqual(holdersOf(nodes, VIP6), ["node2"], `after ${t} ms`);
      assert.deepEqual(holdersOf(nodes, VIP), ["node1"], `after ${t} ms`);
    }
    a.kernel.addAddress("eth0", "fe80::1/64");
    await clock.until(
      "node1 preempts the IPv6 VIP back",
      () => holdersOf(nodes, VIP6).join() === "node1",
    );
    assert.deepEqual(holdersOf(nodes, VIP), ["node1"]);
  } finally {
    await stopAll(clock, nodes);
  }
});

Deno.test("in process: an IPv6 VIP equal to the node's own address is a configuration error at start; nothing is touched", async () => {
  const clock = new FakeClock();
  const k = ipv6Kernel(clock, "node1", 1, new FakeSegment());
  k.addAddress("eth0", "fd00:62::1/64");
  const a = await startNode({
    clock,
    name: "node1",
    ip: "fe80::1",
    priority: 150,
    kernel: k,
    flags: { vip: "fd00:62::1/64" },
  });
  await assert.rejects(
    a.done,
    (err: unknown) =>
      err instanceof ConfigError && err.issues[0].path === "vip" &&
      /fd00:62::1 is already an address of eth0/.test(err.message),
  );
  const own = k.address("fd00:62::1")!;
  assert.equal(own.validLft, 0xffffffff, "still permanent");
  assert.equal(own.preferredLft, 0xffffffff);
});

Deno.test("in process: an IPv6 VIP added by hand on a backup goes at once; one deleted from the master comes back", async () => {
  const clock = new FakeClock();
  const segment = new FakeSegment();
  const nodes: Node[] = [];
  for (const [host, priority] of [[1, 150], [2, 100]]) {
    nodes.push(
      await startNode({
        clock,
        name: `node${host}`,
        ip: `fe80::${host}`,
        priority,
        kernel: ipv6Kernel(clock, `node${host}`, host, segment),
        flags: { vip: `${VIP6}/64` },
      }),
    );
  }
  const [a, b] = nodes;
  try {
    await clock.until(
      "node1 master",
      () => holdersOf(nodes, VIP6).join() === "node1",
    );
    b.kernel.addAddress("eth0", `${VIP6}/64`);
    await clock.advance(1);
    assert.deepEqual(holdersOf(nodes, VIP6), ["node1"]);
    assert.ok(
      b.logged(
        /WARN +removed fd00:62::100\/64 from eth0: it is the VIP and this node does not hold it/,
      ),
      logs(nodes),
    );
    a.kernel.removeAddress(VIP6);
    await clock.advance(1);
    assert.deepEqual(holdersOf(nodes, VIP6), ["node1"], "added again");
    assert.ok(a.logged(/the VIP vanished from eth0 while this node holds it/));
    assert.ok(b.kernel.hasAddress("fe80::2"), "the node's own address stays");
  } finally {
    await stopAll(clock, nodes);
  }
});
