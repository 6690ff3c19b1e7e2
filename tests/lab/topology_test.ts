/**
 * The lab network itself: create/teardown leaves nothing behind, and the
 * prober and VIP watchers see a VIP removed and re-added by hand (and two
 * holders at once). Needs root; skips with one line otherwise.
 */
import assert from "node:assert/strict";
import { skipUnlessRoot } from "../../testing/mod.ts";
import {
  createTopology,
  dualTimes,
  type ProbeLine,
  spawnProber,
  total,
  watchVip,
} from "../../lab/mod.ts";

const ignore = skipUnlessRoot("lab topology tests");

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

/**
 * Namespaces and root-namespace links carrying `prefix`: what the lab may
 * never leave behind. Only our own names are looked at, so other tests
 * running at the same time cannot disturb this.
 */
async function leftovers(prefix: string): Promise<string[]> {
  // hvl12 must not match hvl123's names: the pid ends where a letter starts.
  const ours = new RegExp(`^${prefix}(-|br|c|n\\d)`);
  const netns = (await run("ip", ["netns", "list"])).split("\n")
    .map((l) => l.split(" ")[0]).filter((n) => ours.test(n));
  const links = (await run("ip", ["-o", "link", "show"])).split("\n")
    .map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "")
    .filter((n) => ours.test(n));
  return [...netns, ...links];
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // A zombie waiting for a reaper that is not us is dead enough.
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Resolves the first line `pred` accepts (rejects after `ms`). */
function waitFor(
  lines: ProbeLine[],
  listeners: (() => void)[],
  pred: (l: ProbeLine) => boolean,
  ms: number,
  what: string,
): Promise<ProbeLine> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const hit = lines.find(pred);
      if (hit) {
        clearTimeout(timer);
        resolve(hit);
        return true;
      }
      return false;
    };
    const timer = setTimeout(() => {
      reject(
        new Error(`no ${what} within ${ms} ms; got ${JSON.stringify(lines)}`),
      );
    }, ms);
    if (!check()) listeners.push(() => void check());
  });
}

Deno.test({
  name: "topology: create and teardown leave no namespace, link or process",
  ignore,
  async fn() {
    const topo = await createTopology({ nodes: 2, handleSignals: false });
    const prefix = topo.prefix;
    let sleeper = 0;
    let orphan = 0;
    try {
      assert.equal(topo.namespaces.length, 4); // switch, 2 nodes, client
      // All four exist, and no link of ours is in the root namespace.
      assert.deepEqual(
        (await leftovers(prefix)).sort(),
        [...topo.namespaces].sort(),
      );
      // Every host is plugged into the bridge, up, with its address and MAC.
      const ports = JSON.parse(
        await topo.ip([
          "-n",
          topo.switchNetns,
          "-j",
          "link",
          "show",
          "master",
          topo.bridge,
        ]),
      ) as { ifname: string; operstate: string }[];
      assert.deepEqual(
        ports.map((p) => p.ifname).sort(),
        topo.hosts.map((h) => h.port).sort(),
      );
      const eth0 = JSON.parse(
        (await topo.exec(topo.nodes[1].netns, [
          "ip",
          "-j",
          "addr",
          "show",
          "eth0",
        ]))
          .stdout,
      )[0];
      assert.equal(eth0.address, topo.nodes[1].mac);
      assert.ok(
        eth0.addr_info.some((a: { local: string }) =>
          a.local === topo.nodes[1].address
        ),
      );
      // A process we start, and one that escapes us (an orphan).
      const p = topo.spawn(topo.nodes[0].netns, "sleeper", ["sleep", "300"]);
      sleeper = p.pid;
      const sh = await topo.exec(topo.nodes[0].netns, [
        "sh",
        "-c",
        "sleep 300 >/dev/null 2>&1 & echo $!",
      ]);
      orphan = Number(sh.stdout.trim());
      assert.ok(alive(sleeper) && alive(orphan));
      assert.ok(await topo.ownsPid(orphan));
      assert.equal(await topo.ownsPid(Deno.pid), false);
      // Cutting a link shows as carrier loss on the node's side.
      await topo.cutLink(topo.nodes[0]);
      const cut = JSON.parse(
        (await topo.exec(topo.nodes[0].netns, [
          "ip",
          "-j",
          "link",
          "show",
          "eth0",
        ]))
          .stdout,
      )[0];
      assert.ok(cut.flags.includes("NO-CARRIER"), JSON.stringify(cut.flags));
      await topo.restoreLink(topo.nodes[0]);
    } finally {
      await topo.teardown();
      await topo.teardown(); // idempotent
    }
    assert.deepEqual(await leftovers(prefix), []);
    assert.equal(alive(sleeper), false, "spawned process survived");
    assert.equal(alive(orphan), false, "orphan in a lab namespace survived");
  },
});

Deno.test({
  name:
    "prober: a VIP removed and re-added by hand is a gap; two holders are seen",
  ignore,
  async fn() {
    const topo = await createTopology({ nodes: 2, handleSignals: false });
    const lines: ProbeLine[] = [];
    const listeners: (() => void)[] = [];
    try {
      const [n1, n2] = topo.nodes;
      const addVip = (ns: string) =>
        topo.ip(["-n", ns, "addr", "add", topo.vipCidr, "dev", "eth0"]);
      const delVip = (ns: string) =>
        topo.ip(["-n", ns, "addr", "del", topo.vipCidr, "dev", "eth0"]);
      const watchers = [
        await watchVip(topo, n1, topo.vip),
        await watchVip(topo, n2, topo.vip),
      ];
      await addVip(n1.netns);
      const prober = spawnProber(topo, {
        maxSeconds: 60,
        onLine: (l) => {
          lines.push(l);
          for (const f of listeners) f();
        },
      });
      await waitFor(
        lines,
        listeners,
        (l) => l.type === "reach" && l.up,
        15000,
        "first reply",
      );
      const neigh = await waitFor(
        lines,
        listeners,
        (l) => l.type === "neigh" && l.mac === n1.mac,
        5000,
        "neighbour entry → node1",
      );
      assert.equal(neigh.type, "neigh");

      // Gone for half a second, back on the same node: one gap, at least
      // as long as the removal (nothing can answer meanwhile).
      await delVip(n1.netns);
      await new Promise((r) => setTimeout(r, 500));
      await addVip(n1.netns);
      const gap = await waitFor(
        lines,
        listeners,
        (l) => l.type === "gap",
        5000,
        "gap",
      );
      assert.equal(gap.type, "gap");
      if (gap.type === "gap") {
        assert.ok(gap.ms >= 400, `gap ${gap.ms} ms shorter than the removal`);
        assert.ok(gap.lost > 0);
      }

      // Both nodes answer ARP for the VIP while both hold it.
      await addVip(n2.netns);
      const arp = await waitFor(
        lines,
        listeners,
        (l) => l.type === "arp" && l.macs.length === 2,
        5000,
        "two ARP answers",
      );
      assert.deepEqual(
        arp.type === "arp" ? arp.macs : [],
        [n1.mac, n2.mac].sort(),
      );
      await delVip(n2.netns);
      await new Promise((r) => setTimeout(r, 300));

      // The watchers saw node1 hold twice, node2 once, overlapping.
      const end = performance.timeOrigin + performance.now();
      assert.equal(watchers[0].intervals.length, 2);
      assert.equal(watchers[1].intervals.length, 1);
      assert.equal(watchers[1].holding, false);
      assert.ok(
        total(dualTimes(watchers.map((w) => w.intervals), end), end) > 0,
      );
      prober.kill("SIGTERM");
      await prober.status;
      assert.ok(lines.some((l) => l.type === "end"), "prober ended cleanly");
      for (const w of watchers) await w.stop();
    } finally {
      await topo.teardown();
    }
  },
});
