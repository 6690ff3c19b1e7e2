// Unsolicited neighbour advertisements through a real bridge: nodes A and
// B announce the IPv6 VIP; observer P must move its EXISTING entry.
import assert from "node:assert/strict";
import {
  type NeighborAdvertisement,
  unsolicitedAdvertisement,
} from "../../lib/ndp/mod.ts";
import {
  addBridge,
  addVeth,
  AgentError,
  ip,
  ipJson,
  type NetnsAgent,
  skipUnlessRoot,
  withAgents,
  withNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("NDP kernel tests");
const AGENT = new URL("./_agent.ts", import.meta.url);

const VIP = "fd00:78::100";
/** A second entry in P, moved after a packet that must NOT move the VIP. */
const MARK = "fd00:78::200";
const MAC_A = "02:00:00:00:78:0a";
const MAC_B = "02:00:00:00:78:0b";
const MAC_OLD = "02:00:00:00:78:99";

interface Lab {
  p: string;
  a: NetnsAgent;
  b: NetnsAgent;
}

/** P: bridge br0 (fd00:78::1) with A (::2) and B (::3); DAD is off. */
async function withLab(fn: (lab: Lab) => Promise<void>): Promise<void> {
  await withNetns(3, async ([p, a, b]) => {
    await addBridge(p, "br0");
    await ip("-n", p, "addr", "add", "fd00:78::1/64", "dev", "br0", "nodad");
    const nodes = [
      { ns: a, mac: MAC_A, port: "pa", addr: "fd00:78::2/64" },
      { ns: b, mac: MAC_B, port: "pb", addr: "fd00:78::3/64" },
    ];
    for (const n of nodes) {
      await addVeth({ ns: n.ns, name: "eth0", mac: n.mac }, {
        ns: p,
        name: n.port,
      });
      await ip("-n", p, "link", "set", n.port, "master", "br0");
      await ip("-n", n.ns, "addr", "add", n.addr, "dev", "eth0", "nodad");
    }
    // Existing entries: unsolicited NAs never create one.
    for (const dst of [VIP, MARK]) {
      await ip(
        "-n",
        p,
        "-6",
        "neigh",
        "replace",
        dst,
        "lladdr",
        MAC_OLD,
        "dev",
        "br0",
        "nud",
        "stale",
      );
    }
    await withAgents(
      AGENT,
      [a, b],
      ([agentA, agentB]) => fn({ p, a: agentA, b: agentB }),
    );
  });
}

async function macOf(p: string, dst: string): Promise<string | undefined> {
  const entries = await ipJson<Array<{ dst: string; lladdr?: string }>>(
    p,
    "-6",
    "neigh",
    "show",
    dst,
    "dev",
    "br0",
  );
  return entries.find((e) => e.dst === dst)?.lladdr;
}

/** Waits until P maps `dst` to `mac` (the limit only guards against a hang). */
async function expectMac(p: string, dst: string, mac: string): Promise<void> {
  const end = Date.now() + 10_000;
  let seen: string | undefined;
  while ((seen = await macOf(p, dst)) !== mac) {
    if (Date.now() > end) {
      assert.fail(`P maps ${dst} to ${seen}, expected ${mac}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "an unsolicited NA moves the peer's IPv6 entry, twice in a row",
  ignore,
  fn: () =>
    withLab(async ({ p, a, b }) => {
      assert.equal(await macOf(p, VIP), MAC_OLD);
      const ra = await a.call("announce", {
        ifname: "eth0",
        ip: VIP,
        count: 1,
      });
      assert.deepEqual(ra, { sent: 1, errors: [] });
      await expectMac(p, VIP, MAC_A);
      const rb = await b.call("announce", {
        ifname: "eth0",
        ip: VIP,
        count: 2,
        intervalMs: 20,
      });
      assert.deepEqual(rb, { sent: 2, errors: [] });
      await expectMac(p, VIP, MAC_B);
    }),
});

Deno.test({
  name: "an NA without the Override flag does not move the entry",
  ignore,
  // Shows the packets reach P and that Override is what makes them count.
  fn: () =>
    withLab(async ({ p, a }) => {
      const weak: NeighborAdvertisement = {
        ...unsolicitedAdvertisement(VIP, MAC_A),
        override: false,
      };
      await a.call("send", {
        ifname: "eth0",
        nas: [weak, unsolicitedAdvertisement(MARK, MAC_A)],
      });
      await expectMac(p, MARK, MAC_A);
      assert.equal(await macOf(p, VIP), MAC_OLD);
    }),
});

Deno.test({
  name: "advertising on a missing interface fails with ENODEV",
  ignore,
  fn: () =>
    withLab(async ({ a }) => {
      const e = await a.call("announce", { ifname: "nope0", ip: VIP }).catch((
        e,
      ) => e);
      assert.ok(e instanceof AgentError);
      assert.equal(e.fields.code, "ENODEV");
    }),
});
