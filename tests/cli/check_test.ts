import assert from "node:assert/strict";
import { parse } from "yaml";
import { runBinary, runCli } from "../../testing/mod.ts";

const examples = new URL("../../examples/", import.meta.url).pathname;

Deno.test("check succeeds on every example config", async () => {
  const files = [...Deno.readDirSync(examples)].filter((e) =>
    e.name.endsWith(".yaml")
  ).map((e) => e.name);
  for (const name of ["minimal.yaml", "external.yaml", "in-cluster.yaml"]) {
    assert.ok(files.includes(name), name);
  }
  for (const name of files) {
    const r = await runCli(["check", "--config", examples + name]);
    assert.equal(r.status, 0, `${name}: ${r.err}`);
    const shown = parse(r.out);
    assert.ok(shown.vip, name);
  }
});

Deno.test("check prints the effective configuration with defaults filled and secrets redacted", async () => {
  const token = "eyJhbGciOi-not-a-real-token-123";
  const r = await runCli([
    "check",
    "--vip",
    "10.0.0.100/24",
    "--interface",
    "eth0",
    "--json",
  ], {
    HA_VIP_K8S_TOKEN: token,
  });
  assert.equal(r.status, 0, r.err);
  assert.ok(!r.out.includes(token) && !r.err.includes(token));
  const shown = JSON.parse(r.out);
  assert.equal(shown.k8s.token, "<redacted>");
  assert.equal(shown.health.interval, "2s");
  assert.equal(shown.health.url, "https://127.0.0.1:6443");
  assert.equal(shown.election.vrrp.priority, 100);
});

Deno.test("check on a broken config exits 2 with every problem, one per line", async () => {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(
    path,
    "vip: 192.168.1.100\ninterface: eth0\nhealth:\n  interval: 2\n  stabilty_window: 5s\n",
  );
  const r = await runCli(["check", "--config", path]);
  assert.equal(r.status, 2);
  assert.equal(r.out, "");
  const lines = r.err.trim().split("\n");
  assert.equal(lines[0], "ha-vip: invalid configuration:");
  assert.ok(
    lines.some((l) =>
      l.includes(
        `health.stabilty_window: is not a known field; did you mean "stability_window"?`,
      )
    ),
  );
  assert.ok(
    lines.some((l) =>
      l.includes(`vip: "192.168.1.100" is not an address with a prefix length`)
    ),
  );
  assert.ok(lines.some((l) => l.includes(`health.interval: 2 has no unit`)));
});

Deno.test("unknown flags and bad flag values are usage errors (exit 2)", async () => {
  let r = await runCli([
    "check",
    "--vip",
    "10.0.0.1/24",
    "--interface",
    "eth0",
    "--priorty",
    "5",
  ]);
  assert.equal(r.status, 2);
  assert.match(r.err, /unknown option '--priorty'/);
  assert.match(r.err, /Did you mean --priority\?/);
  r = await runCli([
    "check",
    "--vip",
    "10.0.0.1/24",
    "--interface",
    "eth0",
    "--advert-interval",
    "1",
  ]);
  assert.equal(r.status, 2);
  assert.match(
    r.err,
    /election\.vrrp\.advert_interval: "1" is not a duration.*\(from --advert-interval\)/,
  );
  r = await runCli(["frobnicate"]);
  assert.equal(r.status, 2);
});

Deno.test("--no-flag sets a boolean false and wins over the environment", async () => {
  const r = await runCli([
    "check",
    "--vip",
    "10.0.0.1/24",
    "--interface",
    "eth0",
    "--no-preempt",
    "--json",
  ], {
    HA_VIP_ELECTION_VRRP_PREEMPT: "true",
  });
  assert.equal(r.status, 0, r.err);
  assert.equal(JSON.parse(r.out).election.vrrp.preempt, false);
});

Deno.test("repeatable list flags collect values", async () => {
  const r = await runCli([
    "check",
    "--vip",
    "10.0.0.1/24",
    "--interface",
    "eth0",
    "--unicast-peer",
    "10.0.0.2",
    "--unicast-peer",
    "10.0.0.3,10.0.0.4",
    "--json",
  ]);
  assert.equal(r.status, 0, r.err);
  assert.deepEqual(JSON.parse(r.out).election.vrrp.unicast_peers, [
    "10.0.0.2",
    "10.0.0.3",
    "10.0.0.4",
  ]);
});

Deno.test("the real process exits 2 on usage errors and prints the version", async () => {
  let r = await runBinary(["check"]);
  assert.equal(r.status, 2);
  assert.match(r.err, /vip: is required/);
  r = await runBinary(["--version"]);
  assert.equal(r.status, 0);
  assert.match(r.out, /^ha-vip \d+\.\d+\.\d+/);
  r = await runBinary(["version"]);
  assert.match(r.out, /^ha-vip \d+\.\d+\.\d+/);
});
