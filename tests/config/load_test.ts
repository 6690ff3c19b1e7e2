import assert from "node:assert/strict";
import {
  type Config,
  ConfigError,
  envName,
  FIELDS,
  loadConfig,
  parseDuration,
  redactedConfig,
} from "../../lib/config/mod.ts";

const BASE = { vip: "10.0.0.100/24", interface: "eth0" };

async function tempYaml(text: string): Promise<string> {
  const path = await Deno.makeTempFile({
    prefix: "ha-vip-config-",
    suffix: ".yaml",
  });
  await Deno.writeTextFile(path, text);
  return path;
}

async function issuesOf(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.message.split("\n");
  }
  assert.fail("expected a ConfigError");
}

Deno.test("flag-only invocation is complete and fills every default", async () => {
  const { config, origins } = await loadConfig({
    flags: BASE,
    env: {},
    hostname: "cp-1",
  });
  assert.deepEqual(config.vip, ["10.0.0.100/24"]);
  assert.equal(config.election.mode, "vrrp");
  assert.equal(config.election.node_name, "cp-1");
  assert.equal(config.election.vrrp.advert_interval, 1000);
  assert.equal(config.health.interval, 2000);
  assert.equal(config.health.stability_window, 5000);
  assert.equal(config.health.tls_server_name, "kubernetes");
  assert.equal(config.health.insecure_skip_tls_verify, false);
  assert.equal(config.k8s.api_server, "https://127.0.0.1:6443");
  // External mode: the health target defaults to the configured API server.
  assert.equal(config.health.url, "https://127.0.0.1:6443");
  assert.equal(origins.vip, "--vip");
  assert.equal(origins["health.interval"], "default");
});

Deno.test("health.url follows k8s.api_server in external mode", async () => {
  const { config } = await loadConfig({
    flags: { ...BASE, "k8s.api_server": "https://10.0.0.11:6443" },
    env: {},
  });
  assert.equal(config.health.url, "https://10.0.0.11:6443");
});

Deno.test("in-cluster mode checks the local API server, not the discovered service", async () => {
  const { config, warnings } = await loadConfig({
    flags: {
      ...BASE,
      "k8s.in_cluster": true,
      "k8s.api_server": "https://10.96.0.1:443",
    },
    env: {
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
    },
  });
  assert.equal(config.health.url, "https://127.0.0.1:6443");
  assert.ok(
    warnings.some((w) => w.includes("k8s.api_server") && w.includes("ignored")),
    warnings.join("\n"),
  );
});

Deno.test("in-cluster block of the original HA VIP Manager with empty strings loads without warnings", async () => {
  const path = await tempYaml(
    `vip: 10.0.0.100/24\ninterface: eth0\nk8s:\n  enabled: true\n  in_cluster: true\n  api_server: ""\n  token: ""\n  ca_cert: ""\n`,
  );
  const { config, warnings } = await loadConfig({ file: path, env: {} });
  assert.equal(config.k8s.in_cluster, true);
  assert.equal(config.k8s.token, undefined);
  assert.deepEqual(warnings.filter((w) => w.includes("ignored")), []);
});

Deno.test("precedence: flags > environment > file > defaults, per field", async () => {
  const path = await tempYaml(`
vip: 10.0.0.1/24
interface: file0
election:
  vrrp:
    priority: 10
    vrid: 7
health:
  interval: 3s
`);
  const { config, origins } = await loadConfig({
    file: path,
    env: {
      HA_VIP_ELECTION_VRRP_PRIORITY: "20",
      HA_VIP_INTERFACE: "env0",
      HA_VIP_HEALTH_TIMEOUT: "2s",
    },
    flags: { "election.vrrp.priority": "30" },
  });
  assert.equal(config.election.vrrp.priority, 30); // flag beats env and file
  assert.equal(origins["election.vrrp.priority"], "--priority");
  assert.equal(config.interface, "env0"); // env beats file
  assert.equal(origins.interface, "HA_VIP_INTERFACE");
  assert.equal(config.election.vrrp.vrid, 7); // file beats default
  assert.match(origins["election.vrrp.vrid"], /:7:11$/);
  assert.equal(config.health.interval, 3000);
  assert.equal(config.health.timeout, 2000);
  assert.deepEqual(config.vip, ["10.0.0.1/24"]);
  assert.equal(config.election.vrrp.advert_interval, 1000); // default
});

Deno.test("HA_VIP_CONFIG names the file when --config is absent", async () => {
  const path = await tempYaml("vip: 10.0.0.9/24\ninterface: eth9\n");
  const { config } = await loadConfig({ env: { HA_VIP_CONFIG: path } });
  assert.equal(config.interface, "eth9");
});

Deno.test("every field is reachable from the file, the environment and a flag", async () => {
  // A valid, non-default value for each field, in text form.
  const sample: Record<string, string> = {
    "vip": "10.1.1.1/16,fd00::1/64",
    "interface": "bond0",
    "election.mode": "vrrp", // lease is refused until it is implemented
    "election.node_name": "node-x",
    "election.vrrp.vrid": "9",
    "election.vrrp.priority": "77",
    "election.vrrp.advert_interval": "250ms",
    "election.vrrp.preempt": "false",
    "election.vrrp.unicast_peers": "10.1.1.2,10.1.1.3,fe80::2",
    "election.vrrp.source_address": "10.1.1.9,fe80::9",
    "election.vrrp.auth.keys": "1:/etc/ha-vip/k1,2:/etc/ha-vip/k2",
    "election.vrrp.auth.active_key": "2",
    "election.vrrp.auth.anti_replay": "time",
    "election.vrrp.auth.time_window": "7s",
    "election.vrrp.auth.mode": "permissive",
    "election.lease.name": "vip-lease",
    "election.lease.namespace": "infra",
    "election.lease.duration": "20s",
    "election.lease.renew_deadline": "12s",
    "election.lease.retry_period": "3s",
    "health.url": "https://127.0.0.1:7443",
    "health.interval": "4s",
    "health.timeout": "1500ms",
    "health.stability_window": "8s",
    "health.tls_server_name": "cp.example",
    "health.insecure_skip_tls_verify": "true",
    "k8s.enabled": "true",
    "k8s.in_cluster": "false",
    "k8s.api_server": "https://127.0.0.1:7443",
    "k8s.token": "tok-abcdefgh",
    "k8s.token_file": "",
    "k8s.ca_cert": "/etc/ca.pem",
    "announce.garp_count": "5",
    "announce.garp_interval": "50ms",
    "announce.refresh_interval": "30s",
    "announce.vip_lifetime": "9s",
    "control.socket": "/run/ha-vip/other.sock",
    "observe.log_format": "json",
    "observe.log_level": "debug",
    "observe.metrics_address": "127.0.0.1:9999",
    "process.realtime_priority": "0",
  };
  assert.deepEqual(
    Object.keys(sample).sort(),
    FIELDS.map((f) => f.path).sort(),
    "sample covers every field",
  );
  const get = (c: Config, p: string) =>
    // deno-lint-ignore no-explicit-any
    p.split(".").reduce<any>((n, k) => n?.[k], c);
  const env = Object.fromEntries(
    Object.entries(sample).map(([p, v]) => [envName(p), v]),
  );
  const viaEnv = (await loadConfig({ env })).config;
  const viaFlags = (await loadConfig({ env: {}, flags: sample })).config;
  // The file form: the same values, typed as YAML would type them.
  const nested: Record<string, unknown> = {};
  for (const f of FIELDS) {
    if (sample[f.path] === "") continue;
    const keys = f.path.split(".");
    let n = nested;
    for (const k of keys.slice(0, -1)) {
      n = (n[k] ??= {}) as Record<string, unknown>;
    }
    const t = sample[f.path];
    n[keys.at(-1)!] = f.kind === "integer"
      ? Number(t)
      : f.kind === "boolean"
      ? t === "true"
      : f.kind === "list" || f.kind === "cidr_list"
      ? t.split(",")
      : t;
  }
  const file = await tempYaml(JSON.stringify(nested)); // JSON is YAML
  const viaFile = (await loadConfig({ file, env: {} })).config;
  for (const f of FIELDS) {
    if (sample[f.path] === "") continue;
    const expected = get(viaFlags, f.path);
    assert.notEqual(expected, undefined, f.path);
    assert.deepEqual(get(viaEnv, f.path), expected, `env ${f.path}`);
    assert.deepEqual(get(viaFile, f.path), expected, `file ${f.path}`);
    if (
      f.default !== undefined && f.kind !== "boolean" &&
      f.path !== "election.mode"
    ) {
      const def = f.kind === "duration"
        ? parseDuration(String(f.default))
        : f.default;
      assert.notDeepEqual(
        expected,
        def,
        `sample for ${f.path} must differ from the default`,
      );
    }
  }
});

Deno.test("errors name the field, the value, what is valid and where it came from", async () => {
  const lines = await issuesOf(loadConfig({
    env: { HA_VIP_HEALTH_INTERVAL: "2x" },
    flags: {
      ...BASE,
      "election.vrrp.priority": "300",
      "election.vrrp.vrid": "abc",
      "election.mode": "raft",
    },
  }));
  assert.ok(
    lines.includes(
      `election.vrrp.priority: "300" is out of range; use a whole number from 1 to 254 (from --priority)`,
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) =>
      l.startsWith(`election.vrrp.vrid: "abc" is not a whole number`)
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.includes(
      `election.mode: "raft" is not valid; use one of vrrp, lease (from --mode)`,
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.includes(
      `health.interval: "2x" is not a duration; use a number with a unit: 500ms, 2s, 1m (from HA_VIP_HEALTH_INTERVAL)`,
    ),
    lines.join("\n"),
  );
});

Deno.test("missing vip and interface say how to set them", async () => {
  const lines = await issuesOf(loadConfig({ env: {} }));
  assert.deepEqual(lines, [
    "vip: is required; set --vip, HA_VIP_VIP or `vip:` in the config file",
    "interface: is required; set --interface, HA_VIP_INTERFACE or `interface:` in the config file",
  ]);
});

Deno.test("a VIP without prefix length suggests one", async () => {
  const lines = await issuesOf(
    loadConfig({ env: {}, flags: { ...BASE, vip: "192.168.1.100" } }),
  );
  assert.ok(
    lines[0].includes(
      `add the subnet's prefix length, e.g. "192.168.1.100/24"`,
    ),
    lines[0],
  );
});

Deno.test("durations need a unit, and VRRP intervals are whole centiseconds in range", async () => {
  const path = await tempYaml(
    "vip: 10.0.0.1/24\ninterface: eth0\nhealth:\n  interval: 2\n",
  );
  let lines = await issuesOf(loadConfig({ file: path, env: {} }));
  assert.match(
    lines[0],
    /^health\.interval: 2 has no unit; write it with one, e.g\. "500ms", "2s" or "1m" \(from .*:4:13\)$/,
  );
  lines = await issuesOf(
    loadConfig({
      env: {},
      flags: { ...BASE, "election.vrrp.advert_interval": "15ms" },
    }),
  );
  assert.match(
    lines[0],
    /advert_interval: 15ms is not a multiple of 10ms .* use e\.g\. 20ms/,
  );
  lines = await issuesOf(
    loadConfig({
      env: {},
      flags: { ...BASE, "election.vrrp.advert_interval": "41s" },
    }),
  );
  assert.match(
    lines[0],
    /advert_interval: "41s" is out of range; use from 10ms to 40950ms/,
  );
});

Deno.test("cross-field rules are reported together with field errors", async () => {
  const lines = await issuesOf(loadConfig({
    env: {},
    flags: {
      ...BASE,
      "health.timeout": "3s",
      "election.lease.renew_deadline": "20s",
      "observe.log_level": "loud",
      "announce.vip_lifetime": "2500ms",
    },
  }));
  assert.ok(
    lines.some((l) =>
      l.startsWith("health.timeout: 3s is longer than health.interval (2s)")
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) =>
      l.startsWith(
        "election.lease.renew_deadline: 20s must be shorter than election.lease.duration (15s)",
      )
    ),
  );
  assert.ok(
    lines.some((l) => l.startsWith(`observe.log_level: "loud" is not valid`)),
  );
  assert.ok(
    lines.some((l) =>
      l.startsWith("announce.vip_lifetime: 2500ms is not whole seconds")
    ),
  );
});

Deno.test("lease election needs k8s.enabled and an IPv4 VIP; unicast peers must be addresses", async () => {
  const lines = await issuesOf(loadConfig({
    env: {},
    flags: {
      ...BASE,
      "election.mode": "lease",
      "k8s.enabled": false,
      "election.vrrp.unicast_peers": ["10.0.0.2", "nope"],
    },
  }));
  assert.ok(
    lines.some((l) =>
      l.startsWith("k8s.enabled: false does not work with election.mode: lease")
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) =>
      l.startsWith(`election.vrrp.unicast_peers: "nope" is not an IP address`)
    ),
    lines.join("\n"),
  );
  const v6 = await issuesOf(loadConfig({
    env: {},
    flags: { ...BASE, "election.mode": "lease", vip: ["fd00::100/64"] },
  }));
  assert.ok(
    v6.some((l) =>
      l.startsWith(`vip: "fd00::100/64": lease mode is IPv4 only`)
    ),
    v6.join("\n"),
  );
});

Deno.test("unknown YAML keys are errors with line, column and a suggestion", async () => {
  const path = await tempYaml(
    "vip: 10.0.0.1/24\ninterface: eth0\nhealth:\n  intervl: 2s\nelecton:\n  mode: vrrp\n",
  );
  const lines = await issuesOf(loadConfig({ file: path, env: {} }));
  assert.match(
    lines[0],
    /^health\.intervl: is not a known field; did you mean "interval"\? \(valid here: .*\) \(from .*:4:3\)$/,
  );
  assert.match(
    lines[1],
    /^electon: is not a known field; did you mean "election"\?.*:5:1\)$/,
  );
});

Deno.test("a YAML syntax error names line and column and nothing else is guessed", async () => {
  const path = await tempYaml("vip: 10.0.0.1/24\ninterface: [eth0\n");
  const lines = await issuesOf(loadConfig({ file: path, env: {} }));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^YAML syntax error at .*\.yaml:\d+:\d+: /);
});

Deno.test("a section that is not a mapping, and a missing file, are clear errors", async () => {
  const path = await tempYaml(
    "vip: 10.0.0.1/24\ninterface: eth0\nhealth: fast\n",
  );
  let lines = await issuesOf(loadConfig({ file: path, env: {} }));
  assert.match(lines[0], /^health: must be a mapping of fields/);
  lines = await issuesOf(
    loadConfig({ file: "/nonexistent/ha-vip.yaml", env: {} }),
  );
  assert.match(
    lines[0],
    /cannot read config file \/nonexistent\/ha-vip\.yaml: no such file/,
  );
});

Deno.test("unknown HA_VIP_ variables warn with a suggestion; Kubernetes service links are ignored", async () => {
  const { warnings } = await loadConfig({
    flags: BASE,
    env: {
      HA_VIP_HEALTH_INTERVL: "2s",
      HA_VIP_SERVICE_HOST: "10.96.0.5",
      HA_VIP_PORT_443_TCP: "tcp://x",
    },
  });
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0],
    /HA_VIP_HEALTH_INTERVL is not a known setting.*did you mean "HA_VIP_HEALTH_INTERVAL"/,
  );
});

Deno.test("the token never appears in errors or redacted output", async () => {
  const token = "super-secret-token-value";
  const lines = await issuesOf(loadConfig({
    env: {},
    flags: {
      ...BASE,
      "k8s.token": token,
      "k8s.token_file": "/tmp/t",
      "health.interval": "x",
    },
  }));
  assert.ok(lines.every((l) => !l.includes(token)));
  assert.ok(
    lines.some((l) =>
      l.startsWith("k8s.token: is set together with k8s.token_file")
    ),
  );
  const { config } = await loadConfig({
    env: { HA_VIP_K8S_TOKEN: token },
    flags: BASE,
  });
  assert.equal(config.k8s.token, token);
  const shown = JSON.stringify(redactedConfig(config));
  assert.ok(!shown.includes(token));
  assert.ok(shown.includes("<redacted>"));
});

Deno.test("insecure TLS and disabled health gating are warned about", async () => {
  const { warnings } = await loadConfig({
    env: {},
    flags: {
      ...BASE,
      "health.insecure_skip_tls_verify": true,
      "k8s.enabled": "false",
    },
  });
  assert.ok(warnings.some((w) => w.includes("NOT verified")));
  assert.ok(warnings.some((w) => w.includes("every node counts as healthy")));
});

Deno.test("the VIP lifetime follows the advert interval unless set", async () => {
  const life = async (flags: Record<string, unknown>) =>
    (await loadConfig({ env: {}, flags: { ...BASE, ...flags } })).config
      .announce.vip_lifetime;
  assert.equal(await life({}), 4000); // 3 × 1 s + 1 s
  assert.equal(await life({ "election.vrrp.advert_interval": "200ms" }), 2000); // 1.6 s, rounded up
  assert.equal(await life({ "election.vrrp.advert_interval": "3s" }), 10_000);
  assert.equal(
    await life({
      "election.vrrp.advert_interval": "200ms",
      "announce.vip_lifetime": "7s",
    }),
    7000,
  );
});
