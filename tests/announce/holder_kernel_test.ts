/**
 * The VIP holder against the real kernel, in namespaces. Root only.
 */
import assert from "node:assert/strict";
import {
  addVeth,
  ip,
  ipJson,
  skipUnlessRoot,
  sysctl,
  withAgents,
  withNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("VIP holder kernel tests");
const AGENT = new URL("./_holder_agent.ts", import.meta.url);
const VIP6 = "fd00:97::100";

interface AddrInfo {
  local: string;
  dadfailed?: boolean;
  tentative?: boolean;
  nodad?: boolean;
}

async function vipFlags(ns: string): Promise<AddrInfo | undefined> {
  const [link] = await ipJson<{ addr_info: AddrInfo[] }[]>(
    ns,
    "-6",
    "addr",
    "show",
    "dev",
    "vh0",
  );
  return link.addr_info.find((a) => a.local === VIP6);
}

Deno.test({
  name:
    "holder: an IPv6 VIP the kernel marked dadfailed (added without nodad) is usable after a claim",
  ignore,
  fn: () =>
    withNetns(2, async ([ours, other]) => {
      await addVeth({ ns: ours, name: "vh0" }, { ns: other, name: "vh0" });
      await sysctl(ours, "net.ipv6.conf.vh0.accept_dad=1");
      // The other host has the address; ours is added by hand without
      // nodad, so its duplicate address detection fails.
      await ip("-n", other, "addr", "add", `${VIP6}/64`, "dev", "vh0", "nodad");
      await new Promise((r) => setTimeout(r, 500));
      await ip("-n", ours, "addr", "add", `${VIP6}/64`, "dev", "vh0");
      let before: AddrInfo | undefined;
      for (let i = 0; i < 50 && !before?.dadfailed; i++) {
        await new Promise((r) => setTimeout(r, 100));
        before = await vipFlags(ours);
      }
      assert.equal(before?.dadfailed, true, JSON.stringify(before));
      // The other host goes away (the node is master now, say): the claim
      // must leave a usable address, however it was before.
      await ip("-n", other, "addr", "del", `${VIP6}/64`, "dev", "vh0");
      await withAgents(AGENT, [ours], async ([agent]) => {
        const lines = await agent.call<string[]>("claim", {
          vip: `${VIP6}/64`,
          ifname: "vh0",
        });
        assert.match(lines.join("\n"), /marked dadfailed\/tentative/);
      });
      const after = await vipFlags(ours);
      assert.equal(after?.dadfailed, undefined, JSON.stringify(after));
      assert.equal(after?.tentative, undefined, JSON.stringify(after));
      assert.equal(after?.nodad, true);
    }),
});
