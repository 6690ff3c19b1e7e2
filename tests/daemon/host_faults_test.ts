/**
 * What a host does to a running daemon's addresses (issue 7, items 1, 2
 * and 4), with real `ha-vip run` processes in namespaces:
 *
 * - the master loses its own IPv4 address: it cannot advertise, so it must
 *   not hold the VIP (out within one advert interval of the first failed
 *   send, one log line saying why, /status and metrics say so, sent
 *   counters count only successful sends), and it rejoins when the
 *   address is back;
 * - never the VIP without an own address in its subnet (it would become
 *   the subnet's primary address), and removing a VIP that became the
 *   primary anyway never takes a node address with it; both values of
 *   `promote_secondaries`;
 * - a VIP added by hand on a backup is removed within one advert interval
 *   with a WARN naming it, and /status and `havip_vip_held` follow the
 *   kernel.
 *
 * Bounds come from the configured timers (A: advert interval) plus
 * MARGIN for process scheduling on a loaded runner; "never" is watched
 * with `ip monitor address`, which sees sub-millisecond events. Needs
 * root; skips with one line otherwise.
 */
import assert from "node:assert/strict";
import {
  addressesOf,
  addVeth,
  createNetns,
  deleteNetns,
  hasAddress,
  type HaVipProcess,
  ip,
  metricIn,
  now,
  presentWithin,
  skipUnlessRoot,
  sleep,
  startHaVip,
  statusIn,
  waitFor,
  watchAddresses,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("daemon host fault tests");

const VIP = "10.62.0.100";
const OWN = "10.62.0.1";
const PEER = "10.62.0.2";
/** Advert interval: master-down 3 × 100 + skew ≈ 0.36 s; lifetime 2 s. */
const A = 100;
/**
 * Scheduling margin on every bound: the daemon noticing the change,
 * Deno timers and process scheduling on a loaded runner.
 */
const MARGIN = 500;
/**
 * How long "never again" is watched: three lifetime refreshes (the
 * holder refreshes every lifetime / 3 = 667 ms with a 2 s lifetime), so a
 * daemon that re-adds the VIP on refresh is caught.
 */
const OBSERVE_MS = 2000;
const PORT = 9480;

function runFlags(vip = `${VIP}/24`, priority = 100): string[] {
  return [
    "run",
    "--vip",
    vip,
    "--interface",
    "eth0",
    "--no-k8s",
    "--advert-interval",
    `${A}ms`,
    "--priority",
    String(priority),
    "--metrics-address",
    `127.0.0.1:${PORT}`,
    "--log-level",
    "debug",
  ];
}

/** Sets promote_secondaries of eth0 in `ns` (and `all` to 0, so eth0's value rules). */
async function promoteSecondaries(ns: string, value: 0 | 1): Promise<void> {
  await ip(
    "netns",
    "exec",
    ns,
    "sysctl",
    "-q",
    "-w",
    "net.ipv4.conf.all.promote_secondaries=0",
    `net.ipv4.conf.eth0.promote_secondaries=${value}`,
  );
}

async function promoteSecondariesOf(ns: string): Promise<string> {
  const out = await ip(
    "netns",
    "exec",
    ns,
    "cat",
    "/proc/sys/net/ipv4/conf/eth0/promote_secondaries",
  );
  return out.trim();
}

/**
 * A node namespace whose eth0 (veth to a peer namespace, carrier up) has
 * `ownCidr` (none: no address) and the given promote_secondaries.
 */
async function withNode(
  o: { ownCidr?: string; promote: 0 | 1 },
  fn: (ns: string, peer: string) => Promise<void>,
): Promise<void> {
  const ns = await createNetns();
  const peer = await createNetns();
  try {
    await addVeth({ ns, name: "eth0" }, { ns: peer, name: "eth0" });
    await ip("-n", peer, "addr", "add", `${PEER}/24`, "dev", "eth0");
    await promoteSecondaries(ns, o.promote);
    if (o.ownCidr) await ip("-n", ns, "addr", "add", o.ownCidr, "dev", "eth0");
    await fn(ns, peer);
  } finally {
    await deleteNetns(ns);
    await deleteNetns(peer);
  }
}

async function stopAll(...ds: (HaVipProcess | undefined)[]): Promise<void> {
  for (const d of ds) await d?.stop();
}

function diag(ns: string, ...ds: HaVipProcess[]): () => string {
  return () =>
    ds.map((d, i) => `--- daemon ${i + 1} in ${ns} ---\n${d.log()}`).join(
      "\n",
    );
}

async function election(
  ns: string,
): Promise<{ holding?: boolean; election?: Record<string, unknown> }> {
  return await statusIn(ns, PORT) as {
    holding?: boolean;
    election?: Record<string, unknown>;
  };
}

for (const promote of [0, 1] as const) {
  Deno.test({
    name:
      `host faults: a master that loses its own address gives the VIP up within one advert interval and rejoins when it is back (promote_secondaries=${promote})`,
    ignore,
    fn: () =>
      withNode({ ownCidr: `${OWN}/24`, promote }, async (ns) => {
        const watch = await watchAddresses(ns);
        const d = startHaVip(ns, runFlags());
        const why = diag(ns, d);
        try {
          await waitFor("master with the VIP", 10_000, () =>
            hasAddress(ns, "eth0", VIP), why);
          await waitFor("status endpoint", 5_000, () =>
            d.log().includes("serving /metrics"), why);

          const lost = now();
          await ip("-n", ns, "addr", "del", `${OWN}/24`, "dev", "eth0");
          // The next advertisement is due within A and fails; the node
          // must be out within one more interval.
          const bound = lost + 2 * A + MARGIN;
          await sleep(bound + OBSERVE_MS - now());
          const held = presentWithin(watch.intervals(VIP), bound, now());
          assert.equal(
            held,
            0,
            `without its own address the node held the VIP for ${
              held.toFixed(0)
            } ms of the ${OBSERVE_MS} ms after the bound (${
              2 * A + MARGIN
            } ms)\n${why()}`,
          );

          // Why, in exactly one line (not one per failed send).
          const reasons = d.lines().filter((l) =>
            /cannot advertise/.test(l.line)
          );
          assert.equal(
            reasons.length,
            1,
            `one line saying why, got ${reasons.length}\n${why()}`,
          );
          assert.match(reasons[0].line, /no source address|10\.62\.0\.1/);

          const st = await election(ns);
          assert.equal(st.holding, false, JSON.stringify(st));
          assert.equal(st.election?.eligible, false, JSON.stringify(st));
          assert.match(
            String(st.election?.ineligible_reason),
            /cannot advertise/,
          );
          assert.equal(await metricIn(ns, PORT, "havip_vip_held"), 0);
          // Sent counters count only successful sends.
          const sent = await metricIn(
            ns,
            PORT,
            "havip_vrrp_adverts_sent_total",
          );
          await sleep(5 * A);
          assert.equal(
            await metricIn(ns, PORT, "havip_vrrp_adverts_sent_total"),
            sent,
            "advertisements that could not be sent were counted as sent",
          );

          // Back: eligible again, master again, the VIP a secondary.
          await ip("-n", ns, "addr", "add", `${OWN}/24`, "dev", "eth0");
          await waitFor("master again with the VIP", 10_000, () =>
            hasAddress(ns, "eth0", VIP), why);
          const addrs = await addressesOf(ns, "eth0");
          assert.deepEqual(
            addrs.map((a) => [a.local, a.secondary]),
            [[OWN, false], [VIP, true]],
            "the node's own address is the primary, the VIP a secondary",
          );
          const again = await election(ns);
          assert.equal(again.election?.eligible, true, JSON.stringify(again));
        } finally {
          await stopAll(d);
          await watch.stop();
        }
      }),
  });

  Deno.test({
    name:
      `host faults: after an address flap the VIP is never the subnet's primary, and a planned stop keeps the node's address (promote_secondaries=${promote})`,
    ignore,
    fn: () =>
      withNode({ ownCidr: `${OWN}/24`, promote }, async (ns) => {
        const d = startHaVip(ns, runFlags());
        const why = diag(ns, d);
        try {
          await waitFor("master with the VIP", 10_000, () =>
            hasAddress(ns, "eth0", VIP), why);
          // Gone longer than a lifetime refresh period (as a DHCP renewal
          // or `netplan apply` takes), then back.
          await ip("-n", ns, "addr", "del", `${OWN}/24`, "dev", "eth0");
          await sleep(1500);
          await ip("-n", ns, "addr", "add", `${OWN}/24`, "dev", "eth0");
          await waitFor("master with the VIP again", 10_000, () =>
            hasAddress(ns, "eth0", VIP), why);
          const addrs = await addressesOf(ns, "eth0");
          assert.deepEqual(
            addrs.map((a) => [a.local, a.secondary]),
            [[OWN, false], [VIP, true]],
            `the node's own address must be the subnet's primary, the VIP a secondary\n${why()}`,
          );
          d.kill("SIGTERM");
          assert.equal((await d.done).code, 0, why());
          assert.ok(
            await hasAddress(ns, "eth0", OWN),
            `the node lost its own address with the VIP\n${why()}`,
          );
          assert.equal(await hasAddress(ns, "eth0", VIP), false);
        } finally {
          await stopAll(d);
        }
      }),
  });

  Deno.test({
    name:
      `host faults: removing a leftover VIP that is its subnet's primary keeps the node's address (promote_secondaries=${promote})`,
    ignore,
    fn: () =>
      withNode({ promote }, async (ns) => {
        // A predecessor's VIP (ha-vip's marks) that became the primary:
        // added while the node had no address in the subnet.
        await ip(
          "-n",
          ns,
          "addr",
          "add",
          `${VIP}/24`,
          "dev",
          "eth0",
          "valid_lft",
          "60",
          "preferred_lft",
          "0",
        );
        await ip("-n", ns, "addr", "add", `${OWN}/24`, "dev", "eth0");
        assert.deepEqual(
          (await addressesOf(ns, "eth0")).map((a) => [a.local, a.secondary]),
          [[VIP, false], [OWN, true]],
          "setup: the VIP is the primary",
        );
        const d = startHaVip(ns, runFlags());
        const why = diag(ns, d);
        try {
          await waitFor("the leftover removed", 10_000, () =>
            d.log().includes("removed a VIP left on the interface"), why);
          assert.ok(
            await hasAddress(ns, "eth0", OWN),
            `the node lost its own address with the leftover VIP\n${why()}`,
          );
          if (promote === 0) {
            // Enabled for that one removal, said so, and put back.
            assert.match(d.log(), /promote_secondaries/);
            assert.equal(await promoteSecondariesOf(ns), "0");
          }
          await waitFor("master with the VIP", 10_000, () =>
            hasAddress(ns, "eth0", VIP), why);
          assert.deepEqual(
            (await addressesOf(ns, "eth0")).map((
              a,
            ) => [a.local, a.secondary]),
            [[OWN, false], [VIP, true]],
          );
        } finally {
          await stopAll(d);
        }
      }),
  });
}

Deno.test({
  name:
    "host faults: no VIP while the node has no address of its own in the VIP's subnet; claimed once it has one",
  ignore,
  fn: () =>
    // An address elsewhere: advertisements can be sent, the subnet is missing.
    withNode({ ownCidr: "10.99.0.1/24", promote: 0 }, async (ns) => {
      const watch = await watchAddresses(ns);
      const d = startHaVip(ns, runFlags());
      const why = diag(ns, d);
      try {
        const running = await waitFor("running", 10_000, () =>
          d.log().includes("ha-vip running"), why);
        // A master-down interval (3A + skew < 4A) and more.
        await sleep(4 * A + MARGIN + OBSERVE_MS);
        const held = presentWithin(watch.intervals(VIP), running, now());
        assert.equal(
          held,
          0,
          `the VIP was claimed as the subnet's primary for ${
            held.toFixed(0)
          } ms\n${why()}`,
        );
        const st = await election(ns);
        assert.equal(st.election?.eligible, false, JSON.stringify(st));
        assert.match(
          String(st.election?.ineligible_reason),
          /no own address in the VIP's subnet/,
        );
        assert.equal(
          d.lines().filter((l) =>
            /no own address in the VIP's subnet/.test(l.line)
          ).length,
          1,
          `one line saying why\n${why()}`,
        );
        await ip("-n", ns, "addr", "add", `${OWN}/24`, "dev", "eth0");
        await waitFor("master with the VIP", 10_000, () =>
          hasAddress(ns, "eth0", VIP), why);
        const vip = (await addressesOf(ns, "eth0")).find((a) =>
          a.local === VIP
        );
        assert.equal(vip?.secondary, true, "the VIP is a secondary");
      } finally {
        await stopAll(d);
        await watch.stop();
      }
    }),
});

Deno.test({
  name:
    "host faults: a VIP added by hand on a backup is removed within one advert interval, with a WARN naming it",
  ignore,
  async fn() {
    const master = await createNetns();
    const backup = await createNetns();
    let dm: HaVipProcess | undefined;
    let db: HaVipProcess | undefined;
    let watch: Awaited<ReturnType<typeof watchAddresses>> | undefined;
    try {
      await addVeth({ ns: master, name: "eth0" }, { ns: backup, name: "eth0" });
      await ip("-n", master, "addr", "add", "10.62.0.1/24", "dev", "eth0");
      await ip("-n", backup, "addr", "add", "10.62.0.2/24", "dev", "eth0");
      dm = startHaVip(master, runFlags(`${VIP}/24`, 200));
      db = startHaVip(backup, runFlags(`${VIP}/24`, 100));
      const why = () =>
        `--- master ---\n${dm!.log()}\n--- backup ---\n${db!.log()}`;
      await waitFor(
        "master holds the VIP",
        10_000,
        () => hasAddress(master, "eth0", VIP),
        why,
      );
      await waitFor("backup follows it", 10_000, async () => {
        try {
          return (await election(backup)).election?.state === "backup";
        } catch {
          return false;
        }
      }, why);
      watch = await watchAddresses(backup);

      const added = now();
      await ip("-n", backup, "addr", "add", `${VIP}/24`, "dev", "eth0");
      await waitFor(
        "the backup removes it",
        2 * A + 5000,
        async () => !(await hasAddress(backup, "eth0", VIP)),
        why,
      );
      const [stray] = watch.intervals(VIP);
      assert.ok(stray?.to !== null && stray !== undefined);
      const lasted = stray.to! - added;
      assert.ok(
        lasted <= A + MARGIN,
        `the hand-added VIP stayed ${lasted.toFixed(0)} ms (bound ${
          A + MARGIN
        } ms)\n${why()}`,
      );
      assert.match(db.log(), /WARN .*10\.62\.0\.100/);
      const st = await election(backup);
      assert.equal(st.holding, false);
      assert.equal(st.election?.state, "backup");
      assert.equal(await metricIn(backup, PORT, "havip_vip_held"), 0);
      // It stays gone, and the master keeps it.
      await sleep(OBSERVE_MS);
      assert.equal(await hasAddress(backup, "eth0", VIP), false);
      assert.ok(await hasAddress(master, "eth0", VIP));
      assert.equal((await election(master)).holding, true);
    } finally {
      await stopAll(dm, db);
      await watch?.stop();
      await deleteNetns(master);
      await deleteNetns(backup);
    }
  },
});
