/**
 * One real `ha-vip run` in a namespace (no peers, health gating off): the
 * daemon's own duties that need no second node. Failover between nodes is
 * covered by tests/lab.
 */
import assert from "node:assert/strict";
import {
  addVeth,
  createNetns,
  deleteNetns,
  ip,
  ipJson,
  runInNetns,
  skipUnlessRoot,
  spawnInNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("daemon tests");
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const VIP = "10.62.0.100";
// 100 ms adverts: master after 3 × 0.1 + skew ≈ 0.36 s; lifetime 2 s.
const FLAGS = [
  "--vip",
  `${VIP}/24`,
  "--interface",
  "eth0",
  "--no-k8s",
  "--advert-interval",
  "100ms",
  "--log-level",
  "debug",
];

interface Daemon {
  child: Deno.ChildProcess;
  log: () => string;
  done: Promise<Deno.CommandStatus>;
}

function start(
  ns: string,
  extra: string[] = [],
  base: string[] = FLAGS,
): Daemon {
  const s = spawnInNetns(ns, [
    Deno.execPath(),
    "run",
    "--allow-all",
    "--cached-only",
    "--quiet",
    MAIN,
    "run",
    ...base,
    ...extra,
  ]);
  return { child: s.child, log: s.output, done: s.done };
}

async function vipState(
  ns: string,
): Promise<{ present: boolean; valid?: number; preferred?: number }> {
  const links = await ipJson<
    {
      addr_info: {
        local: string;
        valid_life_time: number;
        preferred_life_time: number;
      }[];
    }[]
  >(
    ns,
    "addr",
    "show",
    "dev",
    "eth0",
  ).catch(() => []);
  const a = links[0]?.addr_info.find((x) => x.local === VIP);
  return a
    ? {
      present: true,
      valid: a.valid_life_time,
      preferred: a.preferred_life_time,
    }
    : { present: false };
}

/** Polls `cond` every 50 ms up to `ms`; the bound only guards against hangs. */
async function waitFor(
  what: string,
  ms: number,
  cond: () => Promise<boolean> | boolean,
  d?: Daemon,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(
    `timed out waiting for: ${what}\n--- daemon log ---\n${d?.log() ?? ""}`,
  );
}

async function withNode(
  fn: (ns: string, peer: string) => Promise<void>,
): Promise<void> {
  const ns = await createNetns();
  const peer = await createNetns();
  try {
    await addVeth({ ns, name: "eth0" }, { ns: peer, name: "eth0" });
    await ip("-n", ns, "addr", "add", "10.62.0.1/24", "dev", "eth0");
    await fn(ns, peer);
  } finally {
    await deleteNetns(ns);
    await deleteNetns(peer);
  }
}

Deno.test({
  name:
    "daemon: a stale VIP from a crashed run is removed at start; SIGKILL leaves a VIP that expires by itself",
  ignore,
  fn: () =>
    withNode(async (ns) => {
      // A predecessor's leftover, with a long lifetime.
      await ip(
        "-n",
        ns,
        "addr",
        "add",
        `${VIP}/24`,
        "dev",
        "eth0",
        "valid_lft",
        "300",
        "preferred_lft",
        "0",
      );
      const d = start(ns);
      try {
        await waitFor("stale VIP removed", 10_000, () =>
          d.log().includes("removed a VIP left on the interface"), d);
        await waitFor("master with the VIP", 10_000, async () =>
          (await vipState(ns)).present && d.log().includes("VIP added"), d);
        const held = await vipState(ns);
        assert.equal(
          held.preferred,
          0,
          "preferred_lft 0: never a source address",
        );
        assert.ok(
          held.valid! <= 2,
          `valid lifetime is the short default, got ${held.valid}`,
        );
      } finally {
        d.child.kill("SIGKILL");
        await d.done;
      }
      // Dead: nobody refreshes, the kernel removes it within its lifetime
      // (2 s + up to 1 s of the kernel's rounding).
      await waitFor("VIP expired by itself", 6_000, async () =>
        !(await vipState(ns)).present);
    }),
});

Deno.test({
  name:
    "daemon: interface gone -> step down; recreated -> back as master on the new interface",
  ignore,
  fn: () =>
    withNode(async (ns, peer) => {
      const d = start(ns);
      try {
        await waitFor("master", 10_000, async () =>
          (await vipState(ns)).present, d);
        await ip("-n", ns, "link", "del", "eth0");
        await waitFor("down logged", 5_000, () =>
          /interface eth0 is down: gone/.test(d.log()), d);
        await waitFor("stepped down", 5_000, () =>
          /master -> initialize: interface down/.test(d.log()), d);
        await addVeth({ ns, name: "eth0" }, { ns: peer, name: "eth0" });
        await ip("-n", ns, "addr", "add", "10.62.0.1/24", "dev", "eth0");
        await waitFor("recreated logged", 5_000, () =>
          /was recreated \(index \d+ -> \d+\)/.test(d.log()), d);
        await waitFor("master again on the new eth0", 10_000, async () =>
          (await vipState(ns)).present, d);
        // Clean shutdown with no peer: priority 0, keep the VIP for the
        // leave timeout, then remove it and exit 0.
        d.child.kill("SIGTERM");
        const status = await d.done;
        assert.equal(status.code, 0, d.log());
        assert.equal((await vipState(ns)).present, false);
        assert.match(
          d.log(),
          /leaving -> stopped: no new master within \d+ ms/,
        );
      } finally {
        try {
          d.child.kill("SIGKILL");
        } catch {
          /* already gone */
        }
        await d.done;
      }
    }),
});

Deno.test({
  name:
    "daemon: a link without carrier makes the master step down, carrier back makes it master again",
  ignore,
  fn: () =>
    withNode(async (ns, peer) => {
      const d = start(ns);
      try {
        await waitFor("master", 10_000, async () =>
          (await vipState(ns)).present, d);
        await ip("-n", peer, "link", "set", "eth0", "down"); // our side loses carrier
        await waitFor("VIP removed on carrier loss", 5_000, async () =>
          !(await vipState(ns)).present, d);
        assert.match(d.log(), /interface eth0 is down: no carrier/);
        await ip("-n", peer, "link", "set", "eth0", "up");
        await waitFor("master again", 10_000, async () =>
          (await vipState(ns)).present, d);
      } finally {
        d.child.kill("SIGKILL");
        await d.done;
      }
    }),
});

Deno.test({
  name:
    "daemon: ha-vip status reads the running daemon's /status; exit 1 when nobody answers",
  ignore,
  fn: () =>
    withNode(async (ns) => {
      const d = start(ns, ["--metrics-address", "127.0.0.1:9480"]);
      try {
        await waitFor("master", 10_000, async () =>
          (await vipState(ns)).present, d);
        await waitFor("status endpoint", 5_000, () =>
          d.log().includes("serving /metrics and /status"), d);
        const json = await runInNetns(ns, [
          "status",
          "--metrics-address",
          "127.0.0.1:9480",
          "--json",
        ]);
        assert.equal(json.status, 0, json.err);
        const doc = JSON.parse(json.out);
        assert.equal(doc.holding, true);
        assert.equal(doc.election.state, "master");
        const human = await runInNetns(ns, [
          "status",
          "--metrics-address",
          "127.0.0.1:9480",
        ]);
        assert.match(
          human.out,
          /vip: +10\.62\.0\.100\/24 on eth0: HELD by this node/,
        );
        const nobody = await runInNetns(ns, [
          "status",
          "--metrics-address",
          "127.0.0.1:9481",
        ]);
        assert.equal(nobody.status, 1);
        assert.match(nobody.err, /no daemon answers at 127\.0\.0\.1:9481/);
        const unset = await runInNetns(ns, ["status"]);
        assert.equal(unset.status, 2);
        assert.match(unset.err, /observe\.metrics_address is not set/);
      } finally {
        d.child.kill("SIGKILL");
        await d.done;
      }
    }),
});
