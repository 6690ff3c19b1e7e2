// Real rtnetlink in namespaces this file creates and removes. The lib code
// runs in an agent process inside the namespace (testing/netns.ts);
// `ip -j` is the independent witness.
import assert from "node:assert/strict";
import type { Address, Link } from "../../lib/netlink/mod.ts";
import {
  addVeth,
  AgentError,
  ip,
  ipJson,
  NetnsAgent,
  skipUnlessRoot,
  withAgents,
  withNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("netlink kernel tests");
const AGENT = new URL("./_agent.ts", import.meta.url);

interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  secondary?: boolean;
  deprecated?: boolean;
  valid_life_time: number;
  preferred_life_time: number;
}
interface IpLink {
  ifindex: number;
  ifname: string;
  address: string;
  mtu: number;
  addr_info: IpAddrInfo[];
}

const HOST4 = "10.77.0.5";
const VIP4 = "10.77.0.100";
const HOST6 = "fd00:77::5";
const VIP6 = "fd00:77::100";

/** A namespace with eth0 (host addresses set) and an agent inside it. */
async function withNode(
  fn: (ctx: { ns: string; agent: NetnsAgent; eth0: number }) => Promise<void>,
): Promise<void> {
  await withNetns(1, async ([ns]) => {
    await addVeth({ ns, name: "eth0" }, { ns, name: "eth1" });
    await ip("-n", ns, "addr", "add", `${HOST4}/24`, "dev", "eth0");
    await ip("-n", ns, "addr", "add", `${HOST6}/64`, "dev", "eth0", "nodad");
    const [link] = await ipJson<IpLink[]>(ns, "link", "show", "dev", "eth0");
    await withAgents(
      AGENT,
      [ns],
      ([agent]) => fn({ ns, agent, eth0: link.ifindex }),
    );
  });
}

async function addrs(ns: string): Promise<IpAddrInfo[]> {
  const [link] = await ipJson<IpLink[]>(ns, "addr", "show", "dev", "eth0");
  return link.addr_info;
}

async function findAddr(
  ns: string,
  local: string,
): Promise<IpAddrInfo | undefined> {
  return (await addrs(ns)).find((a) => a.local === local);
}

/** Polls `ip` until `pred` holds; fails after `limitMs` (a hang guard, not a speed check). */
async function eventually(
  what: string,
  pred: () => Promise<boolean>,
  limitMs = 20_000,
) {
  const end = Date.now() + limitMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function errorOf(err: unknown): Record<string, unknown> {
  assert.ok(err instanceof AgentError, `expected an agent error, got ${err}`);
  return err.fields;
}

Deno.test({
  name: "getLink reports index, MAC, MTU and state; listLinks lists all",
  ignore,
  fn: () =>
    withNode(async ({ ns, agent, eth0 }) => {
      const [want] = await ipJson<IpLink[]>(ns, "link", "show", "dev", "eth0");
      const link = await agent.call<Link>("getLink", { name: "eth0" });
      assert.equal(link.index, eth0);
      assert.equal(link.name, "eth0");
      assert.equal(link.mac, want.address);
      assert.equal(link.mtu, want.mtu);
      assert.equal(link.up, true);
      assert.equal(link.carrier, true);
      assert.equal(link.operState, "up");
      const names = (await agent.call<Link[]>("listLinks")).map((l) => l.name)
        .sort();
      assert.deepEqual(names, ["eth0", "eth1", "lo"]);
    }),
});

Deno.test({
  name: "a missing interface is ENODEV naming the interfaces that exist",
  ignore,
  fn: () =>
    withNode(async ({ agent }) => {
      const e = errorOf(
        await agent.call("getLink", { name: "nope0" }).catch((e) => e),
      );
      assert.equal(e.name, "SysError");
      assert.equal(e.code, "ENODEV");
      assert.equal(e.errno, 19);
      assert.match(
        String(e.message),
        /get link "nope0".*existing interfaces: lo \(#1\), .*eth0/,
      );
      const e2 = errorOf(
        await agent.call("replaceAddress", {
          ifindex: 9999,
          address: VIP4,
          prefixLength: 24,
          validLft: 30,
          preferredLft: 0,
        }).catch((e) => e),
      );
      assert.equal(e2.code, "ENODEV");
      assert.match(String(e2.message), /eth0/);
    }),
});

Deno.test({
  name:
    "replaceAddress adds a VIP with preferred 0 and a finite valid lifetime",
  ignore,
  fn: () =>
    withNode(async ({ ns, agent, eth0 }) => {
      await agent.call("replaceAddress", {
        ifindex: eth0,
        address: VIP4,
        prefixLength: 24,
        validLft: 30,
        preferredLft: 0,
      });
      const vip = await findAddr(ns, VIP4);
      assert.ok(vip, "VIP not on eth0");
      assert.equal(vip.prefixlen, 24);
      assert.equal(vip.preferred_life_time, 0);
      assert.ok(
        vip.valid_life_time > 0 && vip.valid_life_time <= 30,
        String(vip.valid_life_time),
      );
      assert.equal(vip.secondary, true); // same subnet as the host address
      const host = await findAddr(ns, HOST4);
      assert.equal(host?.valid_life_time, 0xffffffff);

      const listed = await agent.call<Address[]>("listAddresses", {
        link: "eth0",
        family: 4,
      });
      const mine = listed.find((a) => a.address === VIP4);
      assert.ok(mine);
      assert.equal(mine.prefixLength, 24);
      assert.equal(mine.preferredLft, 0);
      assert.ok(mine.validLft <= 30);
      assert.equal(mine.ifindex, eth0);
      assert.ok(listed.every((a) => a.family === 4 && a.ifindex === eth0));
    }),
});

Deno.test({
  name:
    "replaceAddress on an existing VIP resets its lifetime and adds no second copy",
  ignore,
  fn: () =>
    withNode(async ({ ns, agent, eth0 }) => {
      const opts = {
        ifindex: eth0,
        address: VIP4,
        prefixLength: 24,
        validLft: 6,
        preferredLft: 0,
      };
      await agent.call("replaceAddress", opts);
      let before = 0;
      await eventually("the lifetime to count down", async () => {
        before = (await findAddr(ns, VIP4))?.valid_life_time ?? 99;
        return before <= 4;
      });
      await agent.call("replaceAddress", opts);
      const after = await findAddr(ns, VIP4);
      assert.ok(after, "VIP vanished on refresh");
      assert.ok(
        after.valid_life_time > before,
        `${after.valid_life_time} <= ${before}`,
      );
      assert.equal((await addrs(ns)).filter((a) => a.local === VIP4).length, 1);
      // A longer lifetime is taken as given, too.
      await agent.call("replaceAddress", { ...opts, validLft: 300 });
      assert.ok(((await findAddr(ns, VIP4))?.valid_life_time ?? 0) > 6);
    }),
});

Deno.test({
  name: "a VIP that is not refreshed expires by itself; the host address stays",
  ignore,
  fn: () =>
    withNode(async ({ ns, agent, eth0 }) => {
      await agent.call("replaceAddress", {
        ifindex: eth0,
        address: VIP4,
        prefixLength: 24,
        validLft: 2,
        preferredLft: 0,
      });
      assert.ok(await findAddr(ns, VIP4));
      await eventually("the kernel to expire the VIP", async () =>
        (await findAddr(ns, VIP4)) === undefined);
      assert.ok(await findAddr(ns, HOST4), "the host address went too");
    }),
});

Deno.test({
  name: "deleteAddress removes only the VIP, never the host's own address",
  ignore,
  fn: () =>
    withNode(async ({ ns, agent, eth0 }) => {
      const vip = { ifindex: eth0, address: VIP4, prefixLength: 24 };
      await agent.call("replaceAddress", {
        ...vip,
        validLft: 30,
        preferredLft: 0,
      });
      assert.equal(await agent.call("deleteAddress", vip), true);
      assert.equal(await findAddr(ns, VIP4), undefined);
      assert.ok(await findAddr(ns, HOST4));
      // Deleting it again: the trap is that a delete without IFA_LOCAL
      // would now remove the first address of eth0, the host's.
      assert.equal(
        await agent.call("deleteAddress", { ...vip, ignoreMissing: true }),
        false,
      );
      const e = errorOf(await agent.call("deleteAddress", vip).catch((e) => e));
      assert.equal(e.code, "EADDRNOTAVAIL");
      assert.equal(e.errno, 99);
      assert.match(
        String(e.message),
        /delete address 10\.77\.0\.100\/24 on eth0/,
      );
      assert.ok(await findAddr(ns, HOST4), "the host address was deleted");
      assert.ok(await findAddr(ns, HOST6), "the host IPv6 address was deleted");
    }),
});

Deno.test({
  name: "addAddress of an existing address is EEXIST; replace is fine",
  ignore,
  fn: () =>
    withNode(async ({ agent, eth0 }) => {
      const opts = {
        ifindex: eth0,
        address: VIP4,
        prefixLength: 24,
        validLft: 30,
        preferredLft: 0,
      };
      await agent.call("addAddress", opts);
      const e = errorOf(await agent.call("addAddress", opts).catch((e) => e));
      assert.equal(e.name, "SysError");
      assert.equal(e.code, "EEXIST");
      assert.equal(e.errno, 17);
      assert.match(
        String(e.message),
        /^add address 10\.77\.0\.100\/24 on eth0: EEXIST/,
      );
      await agent.call("replaceAddress", opts);
    }),
});

Deno.test({
  name: "IPv6 VIP: added without DAD, deprecated, finite, refreshed, deleted",
  ignore,
  fn: () =>
    withNode(async ({ ns, agent, eth0 }) => {
      const vip = { ifindex: eth0, address: VIP6, prefixLength: 64 };
      await agent.call("replaceAddress", {
        ...vip,
        validLft: 30,
        preferredLft: 0,
      });
      const got = await findAddr(ns, VIP6);
      assert.ok(got);
      assert.equal(got.family, "inet6");
      assert.equal(got.prefixlen, 64);
      assert.equal(got.preferred_life_time, 0);
      assert.ok(got.valid_life_time <= 30);
      const [link] = await ipJson<
        Array<{ addr_info: Array<Record<string, unknown>> }>
      >(
        ns,
        "addr",
        "show",
        "dev",
        "eth0",
      );
      const raw = link.addr_info.find((a) => a.local === VIP6);
      assert.equal(raw?.nodad, true);
      assert.notEqual(raw?.tentative, true);
      await agent.call("replaceAddress", {
        ...vip,
        validLft: 300,
        preferredLft: 0,
      });
      assert.ok(((await findAddr(ns, VIP6))?.valid_life_time ?? 0) > 30);
      assert.equal(await agent.call("deleteAddress", vip), true);
      assert.equal(await findAddr(ns, VIP6), undefined);
      assert.ok(await findAddr(ns, HOST6));
      const listed = await agent.call<Address[]>("listAddresses", {
        link: eth0,
        family: 6,
      });
      assert.ok(listed.some((a) => a.address === HOST6 && a.family === 6));
    }),
});

Deno.test({
  name: "without CAP_NET_ADMIN writes fail with EPERM and say so; reads work",
  ignore,
  fn: () =>
    withNode(async ({ ns, eth0 }) => {
      const agent = NetnsAgent.start(ns, AGENT, {
        prefix: ["setpriv", "--bounding-set", "-net_admin", "--"],
      });
      try {
        const e = errorOf(
          await agent.call("replaceAddress", {
            ifindex: eth0,
            address: VIP4,
            prefixLength: 24,
            validLft: 30,
            preferredLft: 0,
          }).catch((e) => e),
        );
        assert.equal(e.code, "EPERM");
        assert.match(String(e.message), /needs CAP_NET_ADMIN \(run as root\)/);
        assert.equal(await findAddr(ns, VIP4), undefined);
        const listed = await agent.call<Address[]>("listAddresses", {
          link: "eth0",
        });
        assert.ok(listed.some((a) => a.address === HOST4));
      } finally {
        await agent.close();
      }
    }),
});

Deno.test({
  name: "a RouteWatcher hears link and address changes made by others",
  ignore,
  fn: () =>
    withNode(async ({ ns, agent }) => {
      await agent.call("watchStart");
      await ip("-n", ns, "addr", "add", "10.61.0.77/24", "dev", "eth0");
      await ip("-n", ns, "link", "set", "eth0", "down");
      await ip("-n", ns, "addr", "del", "10.61.0.77/24", "dev", "eth0");
      await ip("-n", ns, "link", "set", "eth0", "up");
      const want = [
        "address 10.61.0.77/24 new",
        "link eth0 down",
        "address 10.61.0.77/24 gone",
      ];
      const seen = await agent.call<string[]>("watchCollect", { want });
      for (const w of want) assert.ok(seen.includes(w), `${w} in ${seen}`);
      const order = want.map((w) => seen.indexOf(w));
      assert.deepEqual(order, [...order].sort((a, b) => a - b), "in order");
    }),
});

Deno.test({
  name:
    "promote_secondaries: read and set by netlink, as sysctl sees it; deleting a primary then promotes",
  ignore,
  fn: () =>
    withNode(async ({ ns, agent, eth0 }) => {
      const sysctl = async () =>
        (await ip(
          "netns",
          "exec",
          ns,
          "cat",
          "/proc/sys/net/ipv4/conf/eth0/promote_secondaries",
        )).trim();
      await ip(
        "netns",
        "exec",
        ns,
        "sysctl",
        "-qw",
        "net.ipv4.conf.eth0.promote_secondaries=0",
      );
      assert.equal(
        await agent.call("promoteSecondaries", { ifindex: eth0 }),
        false,
      );
      await agent.call("setPromoteSecondaries", { ifindex: eth0, on: true });
      assert.equal(await sysctl(), "1");
      assert.equal(
        await agent.call("promoteSecondaries", { ifindex: eth0 }),
        true,
      );
      // What it is for: the primary goes, its secondary stays (promoted).
      await ip("-n", ns, "addr", "add", "10.77.0.6/24", "dev", "eth0");
      await ip("-n", ns, "addr", "del", `${HOST4}/24`, "dev", "eth0");
      const left = await findAddr(ns, "10.77.0.6");
      assert.ok(left, "the secondary went with the primary");
      assert.equal(left.secondary ?? false, false);
      await agent.call("setPromoteSecondaries", { ifindex: eth0, on: false });
      assert.equal(await sysctl(), "0");
    }),
});
