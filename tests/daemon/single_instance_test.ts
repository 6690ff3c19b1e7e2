/**
 * One daemon per interface and VIP (issue 7, item 5): a second `ha-vip run`
 * for the same interface and VIP in the same network namespace exits
 * non-zero at once naming the running one's PID, without touching the
 * interface; the lock dies with its holder (even on SIGKILL); `vip
 * add/remove` by hand still work meanwhile; daemons in other namespaces
 * (every lab test runs several) are not affected. Needs root; skips with
 * one line otherwise.
 */
import assert from "node:assert/strict";
import {
  addVeth,
  hasAddress,
  type HaVipProcess,
  ip,
  now,
  runInNetns as cli,
  skipUnlessRoot,
  startHaVip,
  waitFor,
  watchAddresses,
  withNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("single-instance tests");

const VIP = "10.63.0.100";
const FLAGS = [
  "run",
  "--vip",
  `${VIP}/24`,
  "--interface",
  "eth0",
  "--no-k8s",
  "--advert-interval",
  "100ms",
];

Deno.test({
  name:
    "single instance: a second run on the same interface and VIP exits at once naming the first, and never touches the VIP",
  ignore,
  fn: () =>
    withNetns(3, async ([ns, peer, other]) => {
      await addVeth({ ns, name: "eth0" }, { ns: peer, name: "eth0" });
      await ip("-n", ns, "addr", "add", "10.63.0.1/24", "dev", "eth0");
      // Another namespace with the same interface name and VIP: its own
      // daemon is no second instance.
      await addVeth({ ns: other, name: "eth0" }, {
        ns: other,
        name: "veth1",
      });
      await ip("-n", other, "addr", "add", "10.63.0.1/24", "dev", "eth0");
      let first: HaVipProcess | undefined;
      let second: HaVipProcess | undefined;
      let elsewhere: HaVipProcess | undefined;
      let third: HaVipProcess | undefined;
      const watch = await watchAddresses(ns);
      const why = () =>
        [first, second, elsewhere, third].map((d, i) =>
          d ? `--- daemon ${i + 1} ---\n${d.log()}` : ""
        ).join("\n");
      try {
        first = startHaVip(ns, FLAGS);
        elsewhere = startHaVip(other, FLAGS);
        await waitFor("the first holds the VIP", 10_000, () =>
          hasAddress(ns, "eth0", VIP), why);
        await waitFor("the one elsewhere holds its VIP", 10_000, () =>
          hasAddress(other, "eth0", VIP), why);

        const started = now();
        second = startHaVip(ns, FLAGS);
        await waitFor("the second to exit", 10_000, second.exited, why);
        const st = await second.done;
        assert.notEqual(st.code, 0, why());
        assert.match(
          second.log(),
          new RegExp(`already running.*\\b(pid|PID) ${first.pid}\\b`),
        );
        // Held throughout: the second never removed it.
        const gaps = watch.intervals(VIP).filter((i) =>
          i.to !== null && i.to >= started
        );
        assert.deepEqual(gaps, [], `the VIP was removed\n${why()}`);
        assert.ok(!first.exited(), "the first daemon stopped");
        assert.ok(await hasAddress(ns, "eth0", VIP));
        assert.ok(!elsewhere.exited(), "the daemon in the other namespace");

        // vip add/remove by hand are not daemons: they still work.
        const add = await cli(ns, [
          "vip",
          "add",
          "--vip",
          "10.63.0.101/24",
          "--interface",
          "eth0",
        ]);
        assert.equal(add.status, 0, add.err);
        const remove = await cli(ns, [
          "vip",
          "remove",
          "--vip",
          "10.63.0.101/24",
          "--interface",
          "eth0",
        ]);
        assert.equal(remove.status, 0, remove.err);

        // The lock dies with its holder, even killed outright.
        await first.stop();
        third = startHaVip(ns, FLAGS);
        await waitFor("a new daemon runs", 10_000, () =>
          third!.log().includes("ha-vip running"), why);
        assert.ok(!third.exited(), why());
      } finally {
        for (const d of [first, second, elsewhere, third]) {
          await d?.stop();
        }
        await watch.stop();
      }
    }),
});
