import assert from "node:assert/strict";
import {
  Metrics,
  parseHostPort,
  registerSecret,
  serveObservability,
} from "../../lib/observe/mod.ts";

Deno.test("metrics render in Prometheus text format with labels", () => {
  const m = new Metrics();
  m.declare("havip_vrrp_dropped_total", "Dropped packets.", "counter", {
    reason: "ttl",
  });
  m.inc(
    "havip_vrrp_dropped_total",
    "Dropped packets.",
    { reason: "checksum" },
    2,
  );
  m.set("havip_is_master", "1 while holding the VIP.", 1);
  assert.equal(
    m.render(),
    [
      "# HELP havip_is_master 1 while holding the VIP.",
      "# TYPE havip_is_master gauge",
      "havip_is_master 1",
      "# HELP havip_vrrp_dropped_total Dropped packets.",
      "# TYPE havip_vrrp_dropped_total counter",
      'havip_vrrp_dropped_total{reason="ttl"} 0',
      'havip_vrrp_dropped_total{reason="checksum"} 2',
      "",
    ].join("\n"),
  );
  assert.equal(m.value("havip_vrrp_dropped_total", { reason: "checksum" }), 2);
});

Deno.test("host:port parsing", () => {
  assert.deepEqual(parseHostPort("127.0.0.1:9480"), {
    hostname: "127.0.0.1",
    port: 9480,
  });
  assert.deepEqual(parseHostPort(":9480"), { hostname: "0.0.0.0", port: 9480 });
  assert.deepEqual(parseHostPort("[::1]:9480"), {
    hostname: "::1",
    port: 9480,
  });
  assert.throws(() => parseHostPort("9480"));
});

Deno.test("the endpoint serves /metrics and /status, and never a registered secret", async () => {
  const secret = "status-secret-" + crypto.randomUUID();
  registerSecret(secret);
  const m = new Metrics();
  m.set("havip_up", "Up.", 1);
  const ac = new AbortController();
  let port = 0;
  const server = serveObservability({
    address: "127.0.0.1:0",
    metrics: m,
    status: () => ({ state: "master", note: `token ${secret}` }),
    signal: ac.signal,
    onListen: (a) => port = a.port,
  });
  try {
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`))
      .text();
    assert.match(metrics, /^havip_up 1$/m);
    const status = await (await fetch(`http://127.0.0.1:${port}/status`))
      .json();
    assert.equal(status.state, "master");
    assert.equal(status.note, "token <redacted>");
    const missing = await fetch(`http://127.0.0.1:${port}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    ac.abort();
    await server.finished;
  }
});
