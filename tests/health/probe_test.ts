/** Every health verdict against the simulated API server, over real TLS. */

import assert from "node:assert/strict";
import {
  probeOnce,
  type ProbeOptions,
  Prober,
  type ProbeResult,
} from "../../lib/health/mod.ts";
import { staticTokenSource } from "../../lib/k8s/mod.ts";
import {
  SimApiServer,
  type SimApiServerOptions,
  testPki,
} from "../../testing/mod.ts";
import {
  allRenderings,
  assertNoSecret,
  captureLogger,
} from "../k8s/_support.ts";

const READER = "reader-token-5e1f0c2b9a7d";
const NOBODY = "nobody-token-3c8e6a4f2d1b";

async function sim(options: SimApiServerOptions = {}): Promise<SimApiServer> {
  return await SimApiServer.start({
    tokens: {
      [READER]: {
        user: "system:serviceaccount:kube-system:ha-vip",
        allow: ["/readyz", "/livez", "/healthz"],
      },
      [NOBODY]: { user: "system:serviceaccount:kube-system:nobody", allow: [] },
    },
    ...options,
  });
}

async function probe(
  server: SimApiServer,
  options: Partial<ProbeOptions> = {},
): Promise<ProbeResult> {
  const pki = await testPki();
  return await probeOnce({
    url: server.url,
    timeoutMs: 2000,
    tlsServerName: "kubernetes",
    caCertFile: pki.caCertFile,
    ...options,
  });
}

Deno.test("probe: ready (both stages reported)", async () => {
  await using s = await sim();
  const r = await probe(s, { tokenSource: staticTokenSource(READER) });
  assert.equal(r.verdict.kind, "ready");
  assert.equal(r.tcp.ok, true);
  assert.equal(typeof r.tcp.ms, "number");
  assert.equal(r.readyz?.status, 200);
  assert.equal(r.readyz?.path, "/readyz");
  assert.equal(r.readyz?.verboseFollowUp, false);
  assert.equal(s.requests.at(-1)?.path, "/readyz");
  // Anonymous works too with the kubeadm default RBAC.
  assert.equal((await probe(s)).verdict.kind, "ready");
});

Deno.test("probe: not_ready names the failing checks", async () => {
  await using s = await sim({ failing: ["etcd"] });
  const r = await probe(s);
  assert.ok(r.verdict.kind === "not_ready");
  assert.deepEqual(r.verdict.failingChecks, ["etcd"]);
  assert.equal(r.readyz?.status, 500);
  assert.equal(
    r.readyz?.verboseFollowUp,
    false,
    "kube-apiserver is verbose on failure",
  );
  s.setUnready(["etcd", "scheduler"]);
  const r2 = await probe(s);
  assert.ok(r2.verdict.kind === "not_ready");
  assert.deepEqual(r2.verdict.failingChecks, ["etcd", "scheduler"]);
  assert.match(r2.verdict.detail, /failing checks: etcd, scheduler/);
  s.setReady();
  assert.equal((await probe(s)).verdict.kind, "ready");
});

Deno.test("probe: a bare 503 triggers a ?verbose follow-up", async () => {
  await using s = await sim();
  s.route(
    "GET",
    "/readyz",
    ({ url }) =>
      url.searchParams.has("verbose")
        ? new Response(
          "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n",
          { status: 500 },
        )
        : new Response("Service Unavailable", { status: 503 }),
  );
  const r = await probe(s);
  assert.ok(r.verdict.kind === "not_ready");
  assert.deepEqual(r.verdict.failingChecks, ["etcd"]);
  assert.equal(r.readyz?.status, 503);
  assert.equal(r.readyz?.verboseFollowUp, true);
  assert.equal(s.requests.at(-1)?.path, "/readyz?verbose");
});

Deno.test("probe: 401 with a token and without one", async () => {
  await using s = await sim({ anonymous: "unauthorized" });
  const bad = "expired-token-9d8c7b6a5f4e";
  const withToken = await probe(s, { tokenSource: staticTokenSource(bad) });
  assert.ok(withToken.verdict.kind === "unauthorized");
  assert.equal(withToken.verdict.tokenSent, true);
  assert.match(
    withToken.verdict.detail,
    /rejected the bearer token from static token/,
  );
  const anonymous = await probe(s);
  assert.ok(anonymous.verdict.kind === "unauthorized");
  assert.equal(anonymous.verdict.tokenSent, false);
  assert.match(anonymous.verdict.detail, /normally readable anonymously/);
  assertNoSecret(bad, allRenderings(withToken), "401 probe result");
  // A valid token works where anonymous does not (k3s style).
  assert.equal(
    (await probe(s, { tokenSource: staticTokenSource(READER) })).verdict.kind,
    "ready",
  );
});

Deno.test("probe: 403 for a token without RBAC, and for anonymous", async () => {
  await using s = await sim({ anonymous: "forbidden" });
  const r = await probe(s, { tokenSource: staticTokenSource(NOBODY) });
  assert.ok(r.verdict.kind === "forbidden");
  assert.equal(r.verdict.tokenSent, true);
  assert.match(r.verdict.detail, /nonResourceURLs \["\/readyz"\]/);
  assert.match(r.verdict.detail, /system:serviceaccount:kube-system:nobody/);
  assertNoSecret(NOBODY, allRenderings(r), "403 probe result");
  const anon = await probe(s);
  assert.ok(anon.verdict.kind === "forbidden");
  assert.equal(anon.verdict.tokenSent, false);
});

Deno.test("probe: TLS errors (wrong CA, wrong server name, 127.0.0.1 as the name)", async () => {
  const pki = await testPki();
  await using s = await sim();
  const wrongCa = await probe(s, { caCertFile: pki.otherCaCertFile });
  assert.ok(wrongCa.verdict.kind === "tls_error");
  assert.equal(wrongCa.verdict.reason, "unknown_authority");
  assert.equal(wrongCa.tcp.ok, true, "TCP stage passed");
  const wrongName = await probe(s, { tlsServerName: "api.example.com" });
  assert.ok(wrongName.verdict.kind === "tls_error");
  assert.equal(wrongName.verdict.reason, "name_mismatch");
  const loopbackName = await probe(s, { tlsServerName: "127.0.0.1" });
  assert.ok(loopbackName.verdict.kind === "tls_error");
  assert.equal(loopbackName.verdict.reason, "name_mismatch");
  assert.equal(s.requests.length, 0);
});

Deno.test("probe: timeout when the API server is slow", async () => {
  await using s = await sim({ delayMs: Infinity });
  const r = await probe(s, { timeoutMs: 150 });
  assert.ok(r.verdict.kind === "timeout");
  assert.equal(r.verdict.stage, "readyz");
  assert.equal(r.tcp.ok, true);
  assert.equal(r.readyz?.status, undefined);
});

Deno.test("probe: connection refused stops at the TCP stage", async () => {
  await using s = await sim();
  await s.refuse();
  const r = await probe(s);
  assert.equal(r.verdict.kind, "connection_refused");
  assert.equal(r.tcp.ok, false);
  assert.equal(r.tcp.verdict?.kind, "connection_refused");
  assert.equal(r.readyz, undefined);
  s.accept();
  assert.equal((await probe(s)).verdict.kind, "ready");
});

Deno.test("probe: a URL path replaces /readyz; no token in any verdict or log", async () => {
  await using s = await sim({ failing: ["etcd"], anonymous: "unauthorized" });
  const logger = captureLogger();
  const results: ProbeResult[] = [];
  for (const token of [READER, NOBODY, "unknown-token-1a2b3c4d5e"]) {
    for (const path of ["", "/livez", "/readyz"]) {
      results.push(
        await probe(s, {
          url: s.url + path,
          tokenSource: staticTokenSource(token),
          logger,
        }),
      );
    }
  }
  assert.equal(results[1].readyz?.path, "/livez");
  assert.deepEqual(results.map((r) => r.verdict.kind), [
    "not_ready",
    "not_ready",
    "not_ready",
    "forbidden",
    "forbidden",
    "forbidden",
    "unauthorized",
    "unauthorized",
    "unauthorized",
  ]);
  for (const token of [READER, NOBODY, "unknown-token-1a2b3c4d5e"]) {
    assertNoSecret(token, results.flatMap(allRenderings), "probe results");
    assertNoSecret(token, logger.lines, "probe logs");
  }
});

Deno.test("prober: probes reuse one kept-alive connection; a restarted server gets a new one", async () => {
  const pki = await testPki();
  await using s = await sim();
  const prober = new Prober({
    url: s.url,
    timeoutMs: 2000,
    caCert: pki.caCert,
  });
  try {
    const first = await prober.probe();
    assert.equal(first.verdict.kind, "ready");
    assert.equal(first.tcp.reused, undefined, "the first probe connects");
    for (let i = 0; i < 3; i++) {
      const r = await prober.probe();
      assert.equal(r.verdict.kind, "ready");
      assert.equal(r.tcp.reused, true);
    }
    assert.equal(new Set(s.requests.map((r) => r.clientPort)).size, 1);
    // The server goes away: the kept connection fails, the retry is refused.
    await s.refuse();
    const down = await prober.probe();
    assert.equal(down.verdict.kind, "connection_refused");
    s.accept();
    const back = await prober.probe();
    assert.equal(back.verdict.kind, "ready");
    assert.equal(new Set(s.requests.map((r) => r.clientPort)).size, 2);
  } finally {
    prober.close();
  }
});

Deno.test("probeOnce uses a fresh connection and closes it", async () => {
  await using s = await sim();
  await probe(s);
  await probe(s);
  assert.equal(new Set(s.requests.map((r) => r.clientPort)).size, 2);
});
