import assert from "node:assert/strict";
import { REDACTED as K8S_REDACTED, Secret } from "../../lib/k8s/mod.ts";
import {
  createLogger,
  MAX_SECRETS,
  redact,
  REDACTED,
  registerSecret,
} from "../../lib/observe/mod.ts";

const fixed = () => new Date("2026-01-02T03:04:05.678Z");

Deno.test("text lines carry time, level, message and key=value fields", () => {
  const lines: string[] = [];
  const log = createLogger({ sink: (l) => lines.push(l), now: fixed }).with({
    component: "health",
  });
  log.info("verdict changed", {
    from: "ready",
    to: "not ready",
    checks: ["etcd"],
  });
  log.debug("hidden");
  assert.deepEqual(lines, [
    `2026-01-02T03:04:05.678Z INFO  verdict changed component=health from=ready to="not ready" checks="[\\"etcd\\"]"`,
  ]);
});

Deno.test("json lines are one object each, levels filter", () => {
  const lines: string[] = [];
  const log = createLogger({
    format: "json",
    level: "warn",
    sink: (l) => lines.push(l),
    now: fixed,
  });
  log.info("dropped");
  log.warn("kept", { n: 1, err: new Error("boom") });
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]), {
    time: "2026-01-02T03:04:05.678Z",
    level: "warn",
    msg: "kept",
    n: 1,
    err: "boom",
  });
});

Deno.test("registered secrets are redacted from every line, in both formats", () => {
  const token = "tok-" + crypto.randomUUID();
  registerSecret(token);
  for (const format of ["text", "json"] as const) {
    const lines: string[] = [];
    const log = createLogger({ format, sink: (l) => lines.push(l) });
    log.error(`request failed with Authorization: Bearer ${token}`, {
      header: `Bearer ${token}`,
      err: new Error(token),
    });
    assert.equal(lines.length, 1);
    assert.ok(!lines[0].includes(token), lines[0]);
    assert.ok(lines[0].includes("<redacted>"));
  }
  assert.equal(redact(`x ${token} y`), "x <redacted> y");
  registerSecret("short"); // too short to redact safely: ignored
  assert.equal(redact("short"), "short");
});

Deno.test("one registry: a k8s Secret is redacted in logs with the same marker as check output", () => {
  assert.equal(K8S_REDACTED, REDACTED);
  const value = "unified-registry-token-77aa";
  const s = new Secret(value);
  assert.equal(String(s), REDACTED);
  const lines: string[] = [];
  createLogger({ sink: (l) => lines.push(l) }).info(`got ${value}`, {
    again: value,
  });
  assert.ok(!lines[0].includes(value));
  assert.equal(redact(`a ${value} b`), `a ${REDACTED} b`);
});

Deno.test("the registry keeps the most recent secrets only (rotating tokens)", () => {
  const old = "rotated-out-token-000000";
  registerSecret(old);
  for (let i = 0; i < MAX_SECRETS; i++) {
    registerSecret(`rotation-${i}-token-abcdef`);
  }
  assert.equal(redact(old), old, "the oldest was forgotten");
  assert.notEqual(redact("rotation-0-token-abcdef"), "rotation-0-token-abcdef");
  // Re-registering makes a secret the most recent again.
  registerSecret("rotation-0-token-abcdef");
  registerSecret("one-more-token-12345678");
  assert.notEqual(redact("rotation-0-token-abcdef"), "rotation-0-token-abcdef");
  assert.equal(redact("rotation-1-token-abcdef"), "rotation-1-token-abcdef");
});

Deno.test("a shared level ref changes the level of every derived logger at once (SIGHUP)", () => {
  const lines: string[] = [];
  const level: { level: "info" | "debug" | "warn" } = { level: "info" };
  const root = createLogger({ sink: (l) => lines.push(l), levelRef: level });
  const child = root.with({ component: "vrrp" });
  child.debug("hidden");
  level.level = "debug";
  child.debug("shown");
  root.debug("shown too");
  level.level = "warn";
  child.info("hidden again");
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[0], /DEBUG shown component=vrrp/);
});
