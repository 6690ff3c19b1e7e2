// The VIP probe (lib/announce openVipProbe) on a real bridge: A probes,
// B's kernel answers for an address B holds, and a claim that arrives
// while A is not waiting still counts at A's next round.
import assert from "node:assert/strict";
import { gratuitousRequest } from "../../lib/arp/mod.ts";
import {
  addBridge,
  addVeth,
  ip,
  ipJson,
  type NetnsAgent,
  skipUnlessRoot,
  withAgents,
  withNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("ARP probe kernel tests");
const AGENT = new URL("./_agent.ts", import.meta.url);

const VIP = "10.79.0.100";
/** Moved in A's neighbour table after the claim that must count. */
const MARK = "10.79.0.200";
const MAC_A = "02:00:00:00:79:0a";
const MAC_B = "02:00:00:00:79:0b";
const MAC_OLD = "02:00:00:00:79:99";

interface Lab {
  nsA: string;
  nsB: string;
  a: NetnsAgent;
  b: NetnsAgent;
}

/** Bridge br0 in P with A (10.79.0.2) and B (10.79.0.3) on it. */
async function withLab(fn: (lab: Lab) => Promise<void>): Promise<void> {
  await withNetns(3, async ([p, a, b]) => {
    await addBridge(p, "br0");
    const nodes = [
      { ns: a, mac: MAC_A, port: "pa", addr: "10.79.0.2/24" },
      { ns: b, mac: MAC_B, port: "pb", addr: "10.79.0.3/24" },
    ];
    for (const n of nodes) {
      await addVeth({ ns: n.ns, name: "eth0", mac: n.mac }, {
        ns: p,
        name: n.port,
      });
      await ip("-n", p, "link", "set", n.port, "master", "br0");
      await ip("-n", n.ns, "addr", "add", n.addr, "dev", "eth0");
    }
    await withAgents(
      AGENT,
      [a, b],
      ([agentA, agentB]) => fn({ nsA: a, nsB: b, a: agentA, b: agentB }),
    );
  });
}

Deno.test({
  name: "the probe hears nobody for a free address, then the holder's kernel",
  ignore,
  fn: () =>
    withLab(async ({ nsB, a }) => {
      await a.call("openProbe", { ifname: "eth0", ip: VIP });
      // Its own probe (an outgoing frame on the same socket) is no answer.
      assert.equal(await a.call("ask", { timeoutMs: 200 }), null);
      await ip("-n", nsB, "addr", "add", `${VIP}/32`, "dev", "eth0");
      // The wait only bounds a hang: the answer ends it.
      assert.equal(await a.call("ask", { timeoutMs: 10_000 }), MAC_B);
    }),
});

Deno.test({
  name: "a claim that arrives between rounds counts at the next round",
  ignore,
  // A slow prober (a busy CPU) must not take a late answer for silence
  // and add an address another node still holds.
  fn: () =>
    withLab(async ({ nsA, a, b }) => {
      await ip(
        "-n",
        nsA,
        "neigh",
        "replace",
        MARK,
        "lladdr",
        MAC_OLD,
        "dev",
        "eth0",
        "nud",
        "stale",
      );
      await a.call("openProbe", { ifname: "eth0", ip: VIP });
      // B claims the VIP (nothing answers A's probes: B does not hold it),
      // then MARK behind it; once A's kernel has MARK, the claim sits in
      // the probe's socket.
      await b.call("send", {
        ifname: "eth0",
        packets: [
          gratuitousRequest(MAC_B, VIP),
          gratuitousRequest(MAC_B, MARK),
        ],
      });
      const end = Date.now() + 10_000;
      for (;;) {
        const entries = await ipJson<Array<{ dst: string; lladdr?: string }>>(
          nsA,
          "neigh",
          "show",
          MARK,
          "dev",
          "eth0",
        );
        if (entries.find((e) => e.dst === MARK)?.lladdr === MAC_B) break;
        if (Date.now() > end) assert.fail("A never saw B's claim of MARK");
        await new Promise((r) => setTimeout(r, 20));
      }
      // A round that waits for nothing still reports the earlier claim.
      assert.equal(await a.call("ask", { timeoutMs: 0 }), MAC_B);
    }),
});
