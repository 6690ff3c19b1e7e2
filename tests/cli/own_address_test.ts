/**
 * `--vip` equal to an address the node already has (issue 7, item 3):
 * `check`, `run` and `vip add` refuse it (exit 2) saying so; `vip remove`
 * and the daemon's start-up cleanup only ever remove an address carrying
 * ha-vip's marks (preferred_lft 0 and a finite valid lifetime), so the
 * README's "never the interface's own" holds. Inside namespaces, as an
 * operator runs the commands; needs root, skips with one line otherwise.
 */
import assert from "node:assert/strict";
import {
  addressesOf,
  addVeth,
  ip,
  runInNetns as cli,
  skipUnlessRoot,
  startHaVip,
  waitFor,
  withNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("own-address VIP tests");

const OWN = "10.61.0.1";
const FOREVER = 4294967295;

/** A namespace whose eth0 has OWN/24 (permanent, as an operator sets it). */
function withOwnAddress(fn: (ns: string) => Promise<void>): Promise<void> {
  return withNetns(2, async ([ns, peer]) => {
    await addVeth({ ns, name: "eth0" }, { ns: peer, name: "eth0" });
    await ip("-n", ns, "addr", "add", `${OWN}/24`, "dev", "eth0");
    await fn(ns);
  });
}

/** OWN is still there, permanent, at /24: nothing touched it. */
async function assertOwnIntact(ns: string, what: string): Promise<void> {
  const own = (await addressesOf(ns, "eth0")).filter((a) => a.local === OWN);
  assert.deepEqual(
    own.map((a) => [a.prefixlen, a.valid, a.preferred]),
    [[24, FOREVER, FOREVER]],
    `${what} touched the node's own address: ${JSON.stringify(own)}`,
  );
}

/**
 * `ha-vip run ARGS...` in `ns`, which must exit by itself (a daemon that
 * starts instead is killed after 10 s, and that fails the test).
 */
async function runMustExit(
  ns: string,
  args: string[],
): Promise<{ status: number; log: string }> {
  const d = startHaVip(ns, ["run", ...args, "--no-k8s"]);
  try {
    await waitFor("run to refuse and exit", 10_000, d.exited, d.log);
    return { status: (await d.done).code, log: d.log() };
  } finally {
    await d.stop();
  }
}

const REFUSAL = /10\.61\.0\.1 is .*address of eth0/;

for (const prefix of [24, 32]) {
  const vip = ["--vip", `${OWN}/${prefix}`, "--interface", "eth0"];

  Deno.test({
    name:
      `own address: check, run and vip add refuse --vip ${OWN}/${prefix} (the interface's own), exit 2`,
    ignore,
    fn: () =>
      withOwnAddress(async (ns) => {
        const check = await cli(ns, ["check", ...vip]);
        assert.equal(check.status, 2, check.out + check.err);
        assert.match(check.err, REFUSAL);

        const add = await cli(ns, ["vip", "add", ...vip]);
        assert.equal(add.status, 2, add.out + add.err);
        assert.match(add.err, REFUSAL);
        await assertOwnIntact(ns, "vip add");

        const run = await runMustExit(ns, vip);
        assert.equal(run.status, 2, run.log);
        assert.match(run.log, REFUSAL);
        await assertOwnIntact(ns, "run");
      }),
  });
}

Deno.test({
  name:
    `own address: vip remove --vip ${OWN}/24 refuses to delete the interface's own address, exit 2`,
  ignore,
  fn: () =>
    withOwnAddress(async (ns) => {
      const r = await cli(ns, [
        "vip",
        "remove",
        "--vip",
        `${OWN}/24`,
        "--interface",
        "eth0",
      ]);
      assert.equal(r.status, 2, r.out + r.err);
      assert.match(r.err, /not .*ha-vip/);
      await assertOwnIntact(ns, "vip remove");
    }),
});

Deno.test({
  name:
    "own address: vip remove and run never delete an address without ha-vip's marks (a DHCP-style or hand-added one)",
  ignore,
  fn: () =>
    withOwnAddress(async (ns) => {
      const vip = ["--vip", "10.61.0.100/24", "--interface", "eth0"];
      // Finite lifetimes but preferred: what a DHCP client adds.
      await ip(
        "-n",
        ns,
        "addr",
        "add",
        "10.61.0.100/24",
        "dev",
        "eth0",
        "valid_lft",
        "600",
        "preferred_lft",
        "300",
      );
      const remove = await cli(ns, ["vip", "remove", ...vip]);
      assert.equal(remove.status, 2, remove.out + remove.err);
      const run = await runMustExit(ns, vip);
      assert.equal(run.status, 2, run.log);
      assert.match(run.log, /10\.61\.0\.100 is .*address of eth0/);
      const still = (await addressesOf(ns, "eth0")).find((a) =>
        a.local === "10.61.0.100"
      );
      assert.ok(still, "the address was deleted");
      assert.ok(still.preferred > 0, JSON.stringify(still));
      await assertOwnIntact(ns, "run");
    }),
});

Deno.test({
  name:
    "own address: check warns (exit 0) when the interface does not exist where check runs",
  ignore,
  fn: () =>
    withNetns(1, async ([ns]) => {
      // A build host or CI runner: the configuration may be valid for the
      // target machine, so this is a warning, not an error.
      const r = await cli(ns, [
        "check",
        "--vip",
        "10.61.0.100/24",
        "--interface",
        "nope0",
      ]);
      assert.equal(r.status, 0, r.err);
      assert.match(
        r.err,
        /warning: .*nope0.* does not exist here.*not compared/,
      );
    }),
});
