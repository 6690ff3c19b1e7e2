import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../lib/config/mod.ts";

const BASE = { vip: "10.0.0.100/24", interface: "eth0" };

async function issuesOf(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.message.split("\n");
  }
  assert.fail("expected a ConfigError");
}

async function tempYaml(text: string): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(path, text);
  return path;
}

function has(lines: string[], start: string): void {
  assert.ok(
    lines.some((l) => l.startsWith(start)),
    `${start}\n---\n${lines.join("\n")}`,
  );
}

Deno.test("dual stack: one IPv4 and one IPv6 VIP from a flag, the environment or a file", async () => {
  const want = ["10.0.0.100/24", "fd00::100/64"];
  const viaFlags = await loadConfig({
    env: {},
    flags: { ...BASE, vip: ["10.0.0.100/24", "fd00::100/64"] },
  });
  assert.deepEqual(viaFlags.config.vip, want);
  const viaEnv = await loadConfig({
    env: {
      HA_VIP_VIP: "10.0.0.100/24, fd00::100/64",
      HA_VIP_INTERFACE: "eth0",
    },
  });
  assert.deepEqual(viaEnv.config.vip, want);
  const file = await tempYaml(
    "vip: [10.0.0.100/24, fd00::100/64]\ninterface: eth0\n",
  );
  assert.deepEqual((await loadConfig({ file, env: {} })).config.vip, want);
  const single = await tempYaml("vip: fd00::100/64\ninterface: eth0\n");
  assert.deepEqual((await loadConfig({ file: single, env: {} })).config.vip, [
    "fd00::100/64",
  ]);
});

Deno.test("at most one VIP per family, two in all", async () => {
  has(
    await issuesOf(loadConfig({
      env: {},
      flags: { ...BASE, vip: ["10.0.0.100/24", "10.0.0.101/24"] },
    })),
    "vip: lists 2 IPv4 VIPs (10.0.0.100, 10.0.0.101); use one IPv4 and at most one IPv6 VIP",
  );
  has(
    await issuesOf(loadConfig({
      env: {},
      flags: { ...BASE, vip: ["10.0.0.100/24", "fd00::1/64", "fd00::2/64"] },
    })),
    "vip: [",
  );
  const bad = await issuesOf(loadConfig({
    env: {},
    flags: { ...BASE, vip: ["10.0.0.100/24", "fd00::1"] },
  }));
  has(bad, `vip: "fd00::1" is not an address with a prefix length`);
});

Deno.test("source addresses: one per VIP family, IPv6 link-local", async () => {
  const dual = { ...BASE, vip: ["10.0.0.100/24", "fd00::100/64"] };
  const ok = await loadConfig({
    env: {},
    flags: {
      ...dual,
      "election.vrrp.source_address": ["10.0.0.11", "fe80::11"],
    },
  });
  assert.deepEqual(ok.config.election.vrrp.source_address, [
    "10.0.0.11",
    "fe80::11",
  ]);
  const sources = (list: string[]) =>
    issuesOf(loadConfig({
      env: {},
      flags: { ...BASE, "election.vrrp.source_address": list },
    }));
  has(
    await sources(["10.0.0.11", "10.0.0.12"]),
    `election.vrrp.source_address: "10.0.0.12" is a second IPv4 source`,
  );
  const lines = await sources(["fd00::11", "x"]);
  has(
    lines,
    `election.vrrp.source_address: "fd00::11" is IPv6, but no IPv6 VIP is configured`,
  );
  has(lines, `election.vrrp.source_address: "x" is not an IP address`);
  has(
    await sources(["10.0.0.11", "fe80::1", "fe80::2"]),
    "election.vrrp.source_address: has 3 entries; at most 2 are allowed",
  );
  has(
    await issuesOf(loadConfig({
      env: {},
      flags: { ...dual, "election.vrrp.source_address": ["fd00::11"] },
    })),
    `election.vrrp.source_address: "fd00::11" is not link-local`,
  );
});

Deno.test("unicast peers: link-local for IPv6, and peers for every VIP family", async () => {
  const dual = { ...BASE, vip: ["10.0.0.100/24", "fd00::100/64"] };
  const ok = await loadConfig({
    env: {},
    flags: {
      ...dual,
      "election.vrrp.unicast_peers": ["10.0.0.12", "fe80::12"],
    },
  });
  assert.deepEqual(ok.config.election.vrrp.unicast_peers, [
    "10.0.0.12",
    "fe80::12",
  ]);
  const lines = await issuesOf(loadConfig({
    env: {},
    flags: {
      ...dual,
      "election.vrrp.unicast_peers": ["10.0.0.12", "fd00::12"],
    },
  }));
  has(lines, `election.vrrp.unicast_peers: "fd00::12" is not link-local`);
  has(
    await issuesOf(loadConfig({
      env: {},
      flags: { ...dual, "election.vrrp.unicast_peers": ["10.0.0.12"] },
    })),
    "election.vrrp.unicast_peers: lists no IPv6 peer, but an IPv6 VIP is configured",
  );
  has(
    await issuesOf(loadConfig({
      env: {},
      flags: { ...BASE, "election.vrrp.unicast_peers": ["fe80::12"] },
    })),
    `election.vrrp.unicast_peers: "fe80::12" is IPv6, but no IPv6 VIP is configured`,
  );
});

Deno.test("authentication: keys as ID:FILE, an active key, its settings", async () => {
  const { config } = await loadConfig({
    env: {
      HA_VIP_ELECTION_VRRP_AUTH_KEYS: "1:/etc/ha-vip/k1,2:/etc/ha-vip/k2",
    },
    flags: { ...BASE, "election.vrrp.auth.active_key": "2" },
  });
  assert.deepEqual(config.election.vrrp.auth.keys, [
    "1:/etc/ha-vip/k1",
    "2:/etc/ha-vip/k2",
  ]);
  assert.equal(config.election.vrrp.auth.active_key, 2);
  // Unset settings keep keepalived's defaults (applied by the backend).
  assert.equal(config.election.vrrp.auth.mode, undefined);
  assert.equal(config.election.vrrp.auth.anti_replay, undefined);

  const file = await tempYaml(`vip: 10.0.0.100/24
interface: eth0
election:
  vrrp:
    auth:
      keys: ["1:/k1"]
      anti_replay: time
      time_window: 10s
      mode: receive-only
`);
  const y = (await loadConfig({ file, env: {} })).config.election.vrrp.auth;
  assert.deepEqual(y, {
    keys: ["1:/k1"],
    anti_replay: "time",
    time_window: 10_000,
    mode: "receive-only",
  });
});

Deno.test("authentication: every contradiction is named", async () => {
  let lines = await issuesOf(loadConfig({
    env: {},
    flags: {
      ...BASE,
      "election.vrrp.auth.keys": ["1:/k1", "1:/k2", "0:/k0", "/k"],
    },
  }));
  has(lines, "election.vrrp.auth.keys: key id 1 is given twice");
  has(
    lines,
    `election.vrrp.auth.keys: "0:/k0" has key id 0; key ids are 1-255`,
  );
  has(lines, `election.vrrp.auth.keys: "/k" is not ID:FILE`);
  lines = await issuesOf(loadConfig({
    env: {},
    flags: { ...BASE, "election.vrrp.auth.keys": ["1:/k1", "2:/k2"] },
  }));
  has(
    lines,
    "election.vrrp.auth.active_key: is required with several keys (1, 2)",
  );
  lines = await issuesOf(loadConfig({
    env: {},
    flags: {
      ...BASE,
      "election.vrrp.auth.keys": ["1:/k1"],
      "election.vrrp.auth.active_key": "3",
      "election.vrrp.auth.anti_replay": "monotonic",
      "election.vrrp.auth.time_window": "10s",
    },
  }));
  has(
    lines,
    "election.vrrp.auth.active_key: 3 is not among the configured key ids (1)",
  );
  has(
    lines,
    "election.vrrp.auth.time_window: is only used with anti_replay: time",
  );
  // Settings without a key would leave the group unauthenticated silently.
  lines = await issuesOf(loadConfig({
    env: {},
    flags: {
      ...BASE,
      "election.vrrp.auth.mode": "enforce",
      "election.vrrp.auth.time_window": "10s",
    },
  }));
  has(
    lines,
    "election.vrrp.auth.mode: is set, but no key is given, so authentication is off",
  );
  has(lines, "election.vrrp.auth.time_window: is set, but no key is given");
  lines = await issuesOf(loadConfig({
    env: {},
    flags: {
      ...BASE,
      "election.vrrp.auth.keys": ["1:/k1"],
      "election.vrrp.auth.time_window": "301s",
      "election.vrrp.auth.mode": "strict",
    },
  }));
  has(lines, `election.vrrp.auth.time_window: "301s" is out of range`);
  has(
    lines,
    `election.vrrp.auth.mode: "strict" is not valid; use one of enforce, permissive, receive-only`,
  );
});
