/** What a SIGHUP re-read changes: live fields, restart-only fields, secrets never shown. */
import assert from "node:assert/strict";
import {
  diffConfig,
  FIELDS,
  formatChange,
  LIVE_FIELDS,
  loadConfig,
} from "../../lib/config/mod.ts";

const BASE = { vip: "10.0.0.100/24", interface: "eth0" };

async function config(flags: Record<string, unknown>) {
  return (await loadConfig({
    flags: { ...BASE, ...flags },
    env: {},
    hostname: "cp-1",
  })).config;
}

Deno.test("reload diff: no change, no entry", async () => {
  assert.deepEqual(diffConfig(await config({}), await config({})), []);
});

Deno.test("reload diff: live and restart-only changes, as an operator reads them", async () => {
  const before = await config({});
  const after = await config({
    "election.vrrp.priority": "150",
    "health.interval": "3s",
    vip: "10.0.0.200/24",
    "observe.log_level": "debug",
  });
  assert.deepEqual(
    diffConfig(before, after).map((c) => [formatChange(c), c.live]),
    [
      ["vip: 10.0.0.100/24 -> 10.0.0.200/24", false],
      ["election.vrrp.priority: 100 -> 150", true],
      ["health.interval: 2s -> 3s", true],
      ["observe.log_level: info -> debug", true],
    ],
  );
});

Deno.test("reload diff: a second VIP (dual stack) shows the lists", async () => {
  const changes = diffConfig(
    await config({}),
    await config({ vip: ["10.0.0.100/24", "fd00::100/64"] }),
  );
  assert.deepEqual(changes.map((c) => [formatChange(c), c.live]), [
    ["vip: 10.0.0.100/24 -> [10.0.0.100/24, fd00::100/64]", false],
  ]);
});

Deno.test("reload diff: a secret is never shown, only that it changed", async () => {
  const changes = diffConfig(
    await config({ "k8s.token": "old-secret-token-1234" }),
    await config({ "k8s.token": "new-secret-token-5678" }),
  );
  assert.deepEqual(changes.map(formatChange), [
    "k8s.token: <redacted> -> <redacted, changed>",
  ]);
  assert.equal(changes[0].live, true);
  const set = diffConfig(
    await config({}),
    await config({ "k8s.token": "new-secret-token-5678" }),
  );
  assert.deepEqual(set.map(formatChange), ["k8s.token: unset -> <redacted>"]);
});

Deno.test("reload diff: every live field is a real field", () => {
  const paths = new Set(FIELDS.map((f) => f.path));
  for (const p of LIVE_FIELDS) assert.ok(paths.has(p), p);
});
