import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../lib/config/mod.ts";
import { crossChecks } from "../../lib/config/_schema.ts";

const BASE = { vip: "10.0.0.100/24", interface: "eth0" };

async function issuesOf(flags: Record<string, string>): Promise<string[]> {
  try {
    await loadConfig({ flags: { ...BASE, ...flags }, env: {} });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.message.split("\n").map((l) => l.trim());
  }
  assert.fail("expected a ConfigError");
}

function timing(d: number, r: number, p: number) {
  return {
    "election.lease.duration": `${d}ms`,
    "election.lease.renew_deadline": `${r}ms`,
    "election.lease.retry_period": `${p}ms`,
  };
}

/** The cross checks alone, on an already typed configuration. */
function cross(c: Record<string, unknown>): string[] {
  const out: string[] = [];
  crossChecks(c, (path, message) => out.push(`${path}: ${message}`));
  return out;
}

Deno.test("renew_deadline must exceed 1.2 × retry_period (client-go's JitterFactor)", async () => {
  for (const [r, p] of [[2000, 2000], [2400, 2000], [1000, 1000]]) {
    const lines = await issuesOf(timing(15_000, r, p));
    assert.ok(
      lines.some((l) =>
        l.startsWith(`election.lease.renew_deadline: `) &&
        l.includes(`must be longer than 1.2 × election.lease.retry_period`)
      ),
      lines.join("\n"),
    );
  }
  // Just above is valid, and so are the defaults and the fast profile.
  await loadConfig({
    flags: { ...BASE, ...timing(15_000, 2401, 2000) },
    env: {},
  });
  await loadConfig({
    flags: { ...BASE, ...timing(5_000, 3_000, 1_000) },
    env: {},
  });
});

Deno.test("duration must be longer than renew_deadline", async () => {
  const lines = await issuesOf(timing(10_000, 10_000, 2_000));
  assert.ok(
    lines.some((l) =>
      l.startsWith(
        "election.lease.renew_deadline: 10s must be shorter than election.lease.duration (10s)",
      )
    ),
    lines.join("\n"),
  );
});

Deno.test("duration is whole seconds (leaseDurationSeconds)", async () => {
  const lines = await issuesOf(timing(15_500, 10_000, 2_000));
  assert.ok(
    lines.some((l) =>
      l.startsWith("election.lease.duration: 15500ms is not whole seconds") &&
      l.includes("use e.g. 16s")
    ),
    lines.join("\n"),
  );
});

Deno.test("a duration too short for a fenced VIP lifetime names the shortest that works", async () => {
  const lines = await issuesOf(timing(3_000, 2_000, 1_000));
  assert.ok(
    lines.some((l) =>
      l.startsWith(
        "election.lease.duration: 3s gives the VIP a fenced lifetime of only 1s",
      ) &&
      l.includes("use a duration of at least 4s")
    ),
    lines.join("\n"),
  );
});

Deno.test("lease mode: an explicit vip_lifetime may shorten the fenced lifetime, never lengthen it", () => {
  const base = {
    election: {
      mode: "lease",
      lease: { duration: 15_000, renew_deadline: 10_000, retry_period: 2_000 },
    },
  };
  const long = cross({ ...base, announce: { vip_lifetime: 13_000 } });
  assert.ok(
    long.some((l) =>
      l.startsWith(
        "announce.vip_lifetime: 13s is longer than the 12s the VIP may live in lease mode",
      )
    ),
    long.join("\n"),
  );
  const ok = cross({ ...base, announce: { vip_lifetime: 12_000 } });
  assert.ok(
    !ok.some((l) => l.startsWith("announce.vip_lifetime")),
    ok.join("\n"),
  );
  // VRRP mode: the lease timing does not bound it.
  const vrrp = cross({
    election: { ...base.election, mode: "vrrp" },
    announce: { vip_lifetime: 60_000 },
  });
  assert.ok(
    !vrrp.some((l) => l.startsWith("announce.vip_lifetime")),
    vrrp.join("\n"),
  );
});
