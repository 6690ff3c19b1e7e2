/**
 * Issue 7's host faults against the whole daemon in process, without root:
 * `runDaemon` on a fake kernel (which keeps IPv4 primaries and secondaries
 * and `promote_secondaries` as the real one does) and a fake clock. The
 * namespace tests (host_faults_test.ts, tests/lab/host_faults_test.ts)
 * show the same on real kernels; these pin the decisions with exact
 * timing and every log line.
 */
import assert from "node:assert/strict";
import { ConfigError, type LoadedConfig } from "../../lib/config/mod.ts";
import type { StatusDocument } from "../../lib/daemon/mod.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { FakeKernel, FakeSegment } from "../../testing/fake_net.ts";
import {
  holders,
  logs,
  type Node,
  nodeConfig,
  nodeKernel,
  startNode,
  VIP,
} from "./_inprocess.ts";

const OWN = "10.62.0.1";
const SECONDARY = 0x01;

async function stop(clock: FakeClock, nodes: Node[]): Promise<void> {
  for (const n of nodes) n.stop();
  for (const n of nodes) n.stop();
  await clock.advance(1000);
  for (const n of nodes) assert.equal(await n.done, 0, logs(nodes));
}

/** GET /status of a node started with `observe.metrics_address: 127.0.0.1:0`. */
async function statusOf(n: Node): Promise<StatusDocument> {
  const line = n.lines.find((l) => l.includes("serving /metrics and /status"));
  const port = /address=127\.0\.0\.1:(\d+)/.exec(line ?? "")?.[1];
  assert.ok(port, n.lines.join("\n"));
  return await (await fetch(`http://127.0.0.1:${port}/status`)).json();
}

async function metricsOf(n: Node): Promise<string> {
  const line = n.lines.find((l) => l.includes("serving /metrics and /status"));
  const port = /address=127\.0\.0\.1:(\d+)/.exec(line ?? "")!.at(1);
  return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function sentOf(metrics: string): number {
  return Number(/^havip_vrrp_adverts_sent_total (\d+)$/m.exec(metrics)?.[1]);
}

/** Advances `ms` in small steps; fails if `bad()` ever holds. */
async function never(
  clock: FakeClock,
  ms: number,
  what: string,
  bad: () => boolean,
): Promise<void> {
  for (let t = 0; t < ms; t += 50) {
    await clock.advance(50);
    assert.ok(!bad(), `${what} after ${t + 50} ms`);
  }
}

Deno.test("fake kernel: deleting an IPv4 primary takes its secondaries, unless promote_secondaries", () => {
  for (const promote of [false, true]) {
    const k = new FakeKernel(new FakeClock());
    k.addLink("eth0");
    k.setPromoteSecondaries("eth0", promote);
    k.addAddress("eth0", "10.0.0.1/24");
    k.addAddress("eth0", "10.0.0.2/24");
    k.addAddress("eth0", "10.0.0.3/16"); // another subnet: its own primary
    assert.equal(k.address("10.0.0.1")!.flags & SECONDARY, 0);
    assert.equal(k.address("10.0.0.2")!.flags & SECONDARY, SECONDARY);
    assert.equal(k.address("10.0.0.3")!.flags & SECONDARY, 0);
    k.removeAddress("10.0.0.1");
    assert.equal(k.hasAddress("10.0.0.2"), promote);
    if (promote) assert.equal(k.address("10.0.0.2")!.flags & SECONDARY, 0);
    assert.ok(k.hasAddress("10.0.0.3"));
  }
});

for (const promote of [false, true]) {
  Deno.test(`in process: a master that loses its own address drops the VIP at once, says why once, and rejoins (promote_secondaries ${promote})`, async () => {
    const clock = new FakeClock();
    const kernel = nodeKernel(clock, "node1", OWN);
    kernel.setPromoteSecondaries("eth0", promote);
    const a = await startNode({
      clock,
      kernel,
      name: "node1",
      ip: OWN,
      priority: 150,
      flags: { "observe.metrics_address": "127.0.0.1:0" },
    });
    try {
      await clock.until("master", () => holders([a]).length === 1);
      kernel.removeAddress(OWN);
      // Promoted to the subnet's primary (promote on) or deleted with it.
      assert.equal(kernel.hasAddress(VIP), promote);
      await clock.advance(1);
      assert.deepEqual(holders([a]), [], "dropped at once");
      const why = a.lines.filter((l) => /cannot advertise/.test(l));
      assert.equal(why.length, 1, logs([a]));
      assert.match(
        why[0],
        /VRRP master -> backup: cannot advertise: no source address \(10\.62\.0\.1 is not on eth0\)/,
      );
      const st = await statusOf(a);
      assert.equal(st.holding, false);
      assert.equal(st.election.eligible, false);
      assert.match(st.election.ineligible_reason ?? "", /cannot advertise/);
      const sent = sentOf(await metricsOf(a));
      // Three lifetime refreshes and several master-down intervals: never
      // back while the address is missing, and nothing counted as sent.
      await never(
        clock,
        3000,
        "the VIP is back",
        () => holders([a]).length > 0,
      );
      const m = await metricsOf(a);
      assert.equal(sentOf(m), sent, "failed sends counted as sent");
      assert.match(m, /^havip_vip_held 0$/m);
      kernel.addAddress("eth0", `${OWN}/24`);
      await clock.until("master again", () => holders([a]).length === 1);
      assert.equal(kernel.address(OWN)!.flags & SECONDARY, 0);
      assert.equal(kernel.address(VIP)!.flags & SECONDARY, SECONDARY);
      assert.equal((await statusOf(a)).election.eligible, true);
    } finally {
      await stop(clock, [a]);
    }
  });
}

Deno.test("in process: a send that reaches nobody holds the node off, and only sends that went out count", async () => {
  const clock = new FakeClock();
  const a = await startNode({
    clock,
    name: "node1",
    ip: OWN,
    priority: 150,
    // The source is not the node's address: every advertisement fails.
    flags: { "election.vrrp.source_address": "10.62.0.9" },
  });
  try {
    await clock.until(
      "held off",
      () => a.logged(/cannot advertise/),
    );
    assert.deepEqual(holders([a]), []);
    await never(
      clock,
      6000,
      "the VIP was claimed",
      () => holders([a]).length > 0,
    );
  } finally {
    await stop(clock, [a]);
  }
});

Deno.test("in process: no own address in the VIP's subnet: never claimed, then claimed behind the node's address", async () => {
  const clock = new FakeClock();
  const kernel = nodeKernel(clock, "node1", "10.99.0.1");
  const a = await startNode({
    clock,
    kernel,
    name: "node1",
    ip: "10.99.0.1",
    priority: 150,
  });
  try {
    await never(
      clock,
      5000,
      "claimed as the primary",
      () => kernel.hasAddress(VIP),
    );
    const why = a.lines.filter((l) =>
      /no own address in the VIP's subnet/.test(l)
    );
    assert.equal(why.length, 1, logs([a]));
    assert.match(why[0], /10\.62\.0\.0\/24 on eth0/);
    kernel.addAddress("eth0", `${OWN}/24`);
    await clock.until("master", () => kernel.hasAddress(VIP));
    assert.equal(kernel.address(VIP)!.flags & SECONDARY, SECONDARY);
  } finally {
    await stop(clock, [a]);
  }
});

for (const promote of [false, true]) {
  Deno.test(`in process: a VIP that is its subnet's primary goes without the node's address, and a held one goes back behind it (promote_secondaries ${promote})`, async () => {
    const clock = new FakeClock();
    const kernel = new FakeKernel(clock, "node1");
    kernel.addLink("lo");
    kernel.addLink("eth0");
    kernel.setPromoteSecondaries("eth0", promote);
    // A predecessor's VIP that became the primary, the node's address its
    // secondary.
    kernel.addAddress("eth0", `${VIP}/24`, { validLft: 60 });
    kernel.addAddress("eth0", `${OWN}/24`);
    assert.equal(kernel.address(OWN)!.flags & SECONDARY, SECONDARY);
    const a = await startNode({
      clock,
      kernel,
      name: "node1",
      ip: OWN,
      priority: 150,
    });
    try {
      assert.ok(a.logged(/removed a VIP left on the interface/), logs([a]));
      assert.ok(kernel.hasAddress(OWN), "the node lost its own address");
      assert.equal(
        a.logged(/turning promote_secondaries on for eth0/),
        !promote,
      );
      assert.equal(kernel.promoteSecondaries("eth0"), promote, "set back");
      await clock.until("master", () => kernel.hasAddress(VIP));
      // A flap between two reads: the VIP becomes the primary (promoted,
      // or re-added by nobody) and the node's address comes back behind it.
      kernel.setPromoteSecondaries("eth0", true);
      kernel.removeAddress(OWN);
      kernel.addAddress("eth0", `${OWN}/24`);
      kernel.setPromoteSecondaries("eth0", promote);
      assert.equal(kernel.address(OWN)!.flags & SECONDARY, SECONDARY);
      await clock.until(
        "the VIP back behind the node's address",
        () => ((kernel.address(VIP)?.flags ?? 0) & SECONDARY) !== 0,
        5000,
      );
      assert.ok(kernel.hasAddress(OWN));
      assert.equal(kernel.address(OWN)!.flags & SECONDARY, 0);
      assert.ok(a.logged(/had become its subnet's primary address/));
    } finally {
      await stop(clock, [a]);
    }
    assert.ok(kernel.hasAddress(OWN), "the node lost its address at stop");
  });
}

Deno.test("in process: a VIP added by hand on a backup goes at once (WARN naming it); one deleted from the master comes back", async () => {
  const clock = new FakeClock();
  const segment = new FakeSegment();
  const a = await startNode({
    clock,
    segment,
    name: "node1",
    ip: OWN,
    priority: 150,
  });
  const b = await startNode({
    clock,
    segment,
    name: "node2",
    ip: "10.62.0.2",
    priority: 100,
  });
  try {
    await clock.until("node1 master", () => holders([a, b]).join() === "node1");
    b.kernel.addAddress("eth0", `${VIP}/24`);
    await clock.advance(1);
    assert.deepEqual(holders([a, b]), ["node1"]);
    assert.ok(
      b.logged(
        /WARN +removed 10\.62\.0\.100\/24 from eth0: it is the VIP and this node does not hold it/,
      ),
      logs([b]),
    );
    a.kernel.removeAddress(VIP);
    await clock.advance(1);
    assert.deepEqual(holders([a, b]), ["node1"], "added again");
    assert.ok(a.logged(/the VIP vanished from eth0 while this node holds it/));
  } finally {
    await stop(clock, [a, b]);
  }
});

Deno.test("in process: --vip equal to the node's own address is a configuration error at start; nothing is touched", async () => {
  const clock = new FakeClock();
  const a = await startNode({
    clock,
    name: "node1",
    ip: OWN,
    priority: 150,
    flags: { vip: `${OWN}/24` },
  });
  await assert.rejects(
    a.done,
    (err: unknown) =>
      err instanceof ConfigError && err.issues[0].path === "vip" &&
      /10\.62\.0\.1 is already an address of eth0/.test(err.message),
  );
  const own = a.kernel.address(OWN)!;
  assert.equal(own.validLft, 0xffffffff, "still permanent");
});

Deno.test("in process: SIGHUP applies live fields and names the others; a bad re-read changes nothing; SIGUSR2 is ignored", async () => {
  const clock = new FakeClock();
  const base = { name: "node1", priority: 150, health: true };
  let next: Record<string, unknown> = {};
  const reload = (): Promise<LoadedConfig> =>
    nodeConfig({ ...base, flags: next });
  const a = await startNode({ clock, ip: OWN, ...base, reload });
  const hup = async (flags: Record<string, unknown>) => {
    next = flags;
    const mark = a.lines.length;
    a.signal("SIGHUP");
    await clock.advance(10);
    return a.lines.slice(mark).join("\n");
  };
  try {
    await clock.until("master", () => holders([a]).length === 1, 30_000);
    const ready = a.lines.length;
    let out = await hup({
      "election.vrrp.priority": "200",
      "health.interval": "3s",
      "observe.log_level": "warn",
    });
    assert.match(out, /election\.vrrp\.priority: 150 -> 200/);
    assert.match(out, /health\.interval: 1s -> 3s/);
    assert.match(out, /observe\.log_level: info -> warn/);
    assert.match(out, /VRRP priority 150 -> 200/);
    // The health check kept its verdict: no step-down on a re-read.
    await clock.advance(10_000);
    assert.deepEqual(holders([a]), ["node1"]);
    assert.doesNotMatch(
      a.lines.slice(ready).join("\n"),
      /not ready|-> yielding/,
    );

    out = await hup({
      "election.vrrp.priority": "200",
      "health.interval": "3s",
      vip: "10.62.0.200/24",
    });
    assert.match(
      out,
      /vip: 10\.62\.0\.100\/24 -> 10\.62\.0\.200\/24.*restart ha-vip to apply/,
    );
    assert.match(out, /observe\.log_level: warn -> info/);
    assert.ok(a.kernel.hasAddress(VIP) && !a.kernel.hasAddress("10.62.0.200"));

    out = await hup({ "election.vrrp.priority": "90", "health.interval": "2" });
    assert.match(out, /ERROR SIGHUP: health\.interval: /);
    assert.match(out, /nothing of it was applied/);
    assert.doesNotMatch(out, /priority 200 -> 90/);

    const mark = a.lines.length;
    a.signal("SIGUSR2");
    await clock.advance(10);
    assert.match(a.lines.slice(mark).join("\n"), /SIGUSR2: ignored/);
    assert.deepEqual(holders([a]), ["node1"]);
  } finally {
    await stop(clock, [a]);
  }
});
