/**
 * Limits of the configuration: values that pass a naive check but cannot
 * work (durations no timer holds, addresses that are not a host's, names the
 * kernel refuses, files and lists too large to be meant).
 */
import assert from "node:assert/strict";
import {
  ConfigError,
  FIELDS,
  loadConfig,
  renderReference,
} from "../../lib/config/mod.ts";
import { runCli } from "../support/cli.ts";

/** Deno's timers hold at most 2^31-1 ms and fire a longer one after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const BASE = { vip: "10.0.0.100/24", interface: "eth0" };

/** The issues of a configuration that must be refused, one line each. */
async function refused(
  flags: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<string[]> {
  try {
    await loadConfig({ flags: { ...BASE, ...flags }, env });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.message.split("\n");
  }
  assert.fail(`accepted: ${JSON.stringify(flags)}`);
}

async function accepted(flags: Record<string, unknown>): Promise<void> {
  await loadConfig({ flags: { ...BASE, ...flags }, env: {} });
}

Deno.test("every duration field has a maximum a timer can hold, shown in the reference", () => {
  const table = renderReference();
  for (const f of FIELDS.filter((f) => f.kind === "duration")) {
    assert.ok(f.max !== undefined, `${f.path} has no maximum`);
    assert.ok(f.max <= MAX_TIMER_MS, `${f.path}: ${f.max} > 2^31-1 ms`);
    const row = table.split("\n").find((l) => l.startsWith(`| \`${f.path}\``));
    assert.match(row!, /Valid: from \S+ to \S+\./, f.path);
  }
});

Deno.test("durations beyond their maximum are refused, naming the field and the range", async () => {
  // Both were accepted and then fired every millisecond (issue 7, item 10).
  let issues = await refused({ "announce.refresh_interval": "720h" });
  assert.ok(
    issues.some((l) =>
      l.startsWith(
        `announce.refresh_interval: "720h" is out of range; use from 0s to 1h (from --announce-refresh-interval)`,
      )
    ),
    issues.join("\n"),
  );
  issues = await refused({ "health.interval": "9999999h" });
  assert.ok(
    issues.some((l) =>
      l.startsWith(`health.interval: "9999999h" is out of range`)
    ),
    issues.join("\n"),
  );
  // Far beyond what a double holds: still a range error, never "Infinity".
  issues = await refused({ "health.stability_window": "9".repeat(400) + "h" });
  assert.ok(
    issues.some((l) =>
      /health\.stability_window: "9+h" is out of range; use from 0s to 1h/.test(
        l,
      )
    ),
    issues.join("\n"),
  );
  assert.ok(!issues.join("\n").includes("Infinity"));
  for (const f of FIELDS.filter((f) => f.kind === "duration")) {
    await refused({ [f.path]: `${f.max! + 10}ms` });
  }
  await accepted({
    "announce.refresh_interval": "1h",
    "health.interval": "10m",
    "health.timeout": "1m",
  });
});

Deno.test("vip add refuses a lifetime the kernel's 32-bit seconds cannot hold", async () => {
  // The interface does not exist: had the lifetime passed, the kernel
  // lookup would fail with exit 1 instead.
  const r = await runCli([
    "vip",
    "add",
    "--vip",
    "10.0.0.100/24",
    "--interface",
    "hvnone0",
    "--lifetime",
    "9999999999h",
  ]);
  assert.equal(r.status, 2, r.err);
  assert.match(
    r.err,
    /--lifetime "9999999999h" is not valid; use whole seconds up to 4294967294s/,
  );
});
