/** `ha-vip vip add|remove` as an operator runs them, inside a namespace. */
import assert from "node:assert/strict";
import {
  addVeth,
  ip,
  ipJson,
  runInNetns as cli,
  skipUnlessRoot,
  withNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("ha-vip vip add/remove tests");

interface AddrInfo {
  local: string;
  prefixlen: number;
  valid_life_time: number;
  preferred_life_time: number;
}

async function addrs(ns: string): Promise<AddrInfo[]> {
  const links = await ipJson<{ addr_info: AddrInfo[] }[]>(
    ns,
    "addr",
    "show",
    "dev",
    "eth0",
  );
  return links[0].addr_info;
}

Deno.test({
  name:
    "vip add claims with lifetime and preferred_lft 0, vip remove drops exactly it",
  ignore,
  fn: () =>
    withNetns(2, async ([ns, peer]) => {
      await addVeth({ ns, name: "eth0" }, { ns: peer, name: "eth0" });
      await ip("-n", ns, "addr", "add", "10.61.0.1/24", "dev", "eth0");
      const flags = ["--vip", "10.61.0.100/24", "--interface", "eth0"];

      let r = await cli(ns, ["vip", "add", ...flags, "--lifetime", "30s"]);
      assert.equal(r.status, 0, r.err);
      assert.match(r.out, /^added 10\.61\.0\.100\/24 on eth0, valid for 30s/);
      const vip = (await addrs(ns)).find((a) => a.local === "10.61.0.100");
      assert.ok(vip, "VIP present");
      assert.equal(vip.prefixlen, 24);
      assert.equal(vip.preferred_life_time, 0);
      assert.ok(
        vip.valid_life_time > 0 && vip.valid_life_time <= 30,
        String(vip.valid_life_time),
      );

      r = await cli(ns, ["vip", "remove", ...flags]);
      assert.equal(r.status, 0, r.err);
      assert.deepEqual(
        (await addrs(ns)).map((a) => a.local).filter((a) =>
          a.startsWith("10.")
        ),
        ["10.61.0.1"],
      );

      // Removing again is not an error: the goal (no VIP here) holds.
      r = await cli(ns, ["vip", "remove", ...flags]);
      assert.equal(r.status, 0);
      assert.match(r.out, /was not on eth0; nothing to do/);
    }),
});

Deno.test({
  name:
    "vip add: a missing interface is a kernel error (1) naming the existing ones; bad input is 2",
  ignore,
  fn: () =>
    withNetns(1, async ([ns]) => {
      let r = await cli(ns, [
        "vip",
        "add",
        "--vip",
        "10.61.0.100/24",
        "--interface",
        "nope0",
      ]);
      assert.equal(r.status, 1);
      assert.match(r.err, /ENODEV.*nope0.*existing interfaces: lo/);
      r = await cli(ns, [
        "vip",
        "add",
        "--vip",
        "10.61.0.100",
        "--interface",
        "lo",
      ]);
      assert.equal(r.status, 2);
      assert.match(
        r.err,
        /vip: "10\.61\.0\.100" is not an address with a prefix length/,
      );
      r = await cli(ns, [
        "vip",
        "add",
        "--vip",
        "10.61.0.100/24",
        "--interface",
        "lo",
        "--lifetime",
        "soon",
      ]);
      assert.equal(r.status, 2);
      assert.match(r.err, /--lifetime "soon" is not valid/);
    }),
});
