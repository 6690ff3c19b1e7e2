// Gratuitous ARP through a real bridge: nodes A and B (own namespaces)
// announce the VIP; observer P must move its EXISTING neighbour entry.
import assert from "node:assert/strict";
import {
  type ArpPacket,
  gratuitousReply,
  gratuitousRequest,
} from "../../lib/arp/mod.ts";
import {
  addBridge,
  addVeth,
  AgentError,
  ip,
  ipJson,
  NetnsAgent,
  skipUnlessRoot,
  sysctl,
  withAgents,
  withNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("ARP kernel tests");
const AGENT = new URL("./_agent.ts", import.meta.url);

const VIP = "10.78.0.100";
/** A second entry in P, moved after a packet that must NOT move the VIP. */
const MARK = "10.78.0.200";
const MAC_A = "02:00:00:00:78:0a";
const MAC_B = "02:00:00:00:78:0b";
const MAC_OLD = "02:00:00:00:78:99";

interface Lab {
  p: string;
  nsA: string;
  a: NetnsAgent;
  b: NetnsAgent;
}

/** P: bridge br0 (10.78.0.1) with A (10.78.0.2) and B (10.78.0.3) on it. */
async function withLab(
  options: { locktimeCs?: number },
  fn: (lab: Lab) => Promise<void>,
): Promise<void> {
  await withNetns(3, async ([p, a, b]) => {
    await addBridge(p, "br0");
    await ip("-n", p, "addr", "add", "10.78.0.1/24", "dev", "br0");
    const nodes = [
      { ns: a, mac: MAC_A, port: "pa", addr: "10.78.0.2/24" },
      { ns: b, mac: MAC_B, port: "pb", addr: "10.78.0.3/24" },
    ];
    for (const n of nodes) {
      await addVeth({ ns: n.ns, name: "eth0", mac: n.mac }, {
        ns: p,
        name: n.port,
      });
      await ip("-n", p, "link", "set", n.port, "master", "br0");
      await ip("-n", n.ns, "addr", "add", n.addr, "dev", "eth0");
    }
    if (options.locktimeCs !== undefined) {
      await sysctl(p, `net.ipv4.neigh.br0.locktime=${options.locktimeCs}`);
    }
    // Existing entries: receivers never create one from a gratuitous ARP.
    for (const dst of [VIP, MARK]) {
      await ip(
        "-n",
        p,
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
      ([agentA, agentB]) => fn({ p, nsA: a, a: agentA, b: agentB }),
    );
  });
}

async function macOf(p: string, dst: string): Promise<string | undefined> {
  const entries = await ipJson<Array<{ dst: string; lladdr?: string }>>(
    p,
    "neigh",
    "show",
    dst,
    "dev",
    "br0",
  );
  return entries.find((e) => e.dst === dst)?.lladdr;
}

/**
 * Waits until P maps `dst` to `mac`. Delivery over veth is practically
 * synchronous; the poll only guards against a deferred softirq, and the
 * limit only against a hang.
 */
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

/**
 * Sends `packet` from A, then a proper gratuitous ARP for MARK behind it;
 * once MARK has moved, `packet` was processed too, and the VIP must still
 * map to `mac`.
 */
async function expectIgnored(
  lab: Lab,
  packet: ArpPacket,
  mac: string,
): Promise<void> {
  await lab.a.call("send", {
    ifname: "eth0",
    packets: [packet, gratuitousRequest(MAC_A, MARK)],
  });
  await expectMac(lab.p, MARK, MAC_A);
  assert.equal(
    await macOf(lab.p, VIP),
    mac,
    "a packet that should be ignored moved the VIP",
  );
}

/** Reply with a broadcast target MAC: not a gratuitous ARP for Linux. */
const PLAIN_REPLY: ArpPacket = {
  ...gratuitousReply(MAC_A, VIP),
  targetMac: "ff:ff:ff:ff:ff:ff",
};

Deno.test({
  name:
    "a gratuitous ARP burst moves the peer's entry, twice in a row (default sysctls)",
  ignore,
  fn: () =>
    withLab({}, async ({ p, a, b }) => {
      assert.equal(await macOf(p, VIP), MAC_OLD);
      // A takes over; B takes over right after, well inside the 1 s
      // locktime of A's change.
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
  name:
    "within locktime each proper gratuitous form updates, a plain reply does not",
  ignore,
  // locktime 60 s: every step below happens within it, however slow the
  // machine; the ignored plain reply shows that locktime is in force.
  fn: () =>
    withLab({ locktimeCs: 6000 }, async (lab) => {
      const { p, a, b } = lab;
      await expectIgnored(lab, PLAIN_REPLY, MAC_OLD);
      await a.call("send", {
        ifname: "eth0",
        packets: [gratuitousRequest(MAC_A, VIP)],
      });
      await expectMac(p, VIP, MAC_A);
      await b.call("send", {
        ifname: "eth0",
        packets: [gratuitousReply(MAC_B, VIP)],
      });
      await expectMac(p, VIP, MAC_B);
      await a.call("gratuitous", { ifname: "eth0", ip: VIP });
      await expectMac(p, VIP, MAC_A);
    }),
});

Deno.test({
  name: "control: with locktime 0 the same plain reply does update the entry",
  ignore,
  // Shows that the plain reply of the previous test reaches P and is
  // ignored there only because of locktime.
  fn: () =>
    withLab({ locktimeCs: 0 }, async ({ p, a }) => {
      await a.call("send", { ifname: "eth0", packets: [PLAIN_REPLY] });
      await expectMac(p, VIP, MAC_A);
    }),
});

Deno.test({
  name: "announcing on a missing or a down interface fails with a named error",
  ignore,
  fn: () =>
    withLab({}, async ({ p, a, nsA }) => {
      const missing = await a.call("announce", { ifname: "nope0", ip: VIP })
        .catch((e) => e);
      assert.ok(missing instanceof AgentError);
      assert.equal(missing.fields.code, "ENODEV");
      await ip("-n", nsA, "link", "set", "eth0", "down");
      const down = await a.call("announce", { ifname: "eth0", ip: VIP }).catch((
        e,
      ) => e);
      assert.ok(down instanceof AgentError);
      assert.equal(down.fields.name, "SysError");
      assert.match(
        String(down.fields.message),
        /send ARP on interface #\d+: ENETDOWN/,
      );
      assert.equal(await macOf(p, VIP), MAC_OLD);
    }),
});

Deno.test({
  name: "without CAP_NET_RAW the ARP socket is refused with EPERM and a hint",
  ignore,
  fn: () =>
    withLab({}, async ({ p, nsA }) => {
      const agent = NetnsAgent.start(nsA, AGENT, {
        prefix: ["setpriv", "--bounding-set", "-net_raw", "--"],
      });
      try {
        const e = await agent.call("announce", { ifname: "eth0", ip: VIP })
          .catch((e) => e);
        assert.ok(e instanceof AgentError);
        assert.equal(e.fields.code, "EPERM");
        assert.match(
          String(e.fields.message),
          /socket AF_PACKET\/SOCK_DGRAM\/0: EPERM .*CAP_NET_RAW/,
        );
        assert.equal(await macOf(p, VIP), MAC_OLD);
      } finally {
        await agent.close();
      }
    }),
});
