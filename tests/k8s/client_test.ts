import assert from "node:assert/strict";
import {
  AbortedError,
  ApiClient,
  ConnectionRefusedError,
  CredentialsError,
  fileTokenSource,
  HttpStatusError,
  inClusterCredentials,
  isConflict,
  isNotFound,
  ProtocolError,
  staticTokenSource,
  TimeoutError,
  TlsError,
} from "../../lib/k8s/mod.ts";
import { SimApiServer, testPki } from "../../testing/mod.ts";
import { captureLogger, withTempDir } from "./_support.ts";

const ADMIN = "admin-token-0123456789";

async function server(options: Parameters<typeof SimApiServer.start>[0] = {}) {
  return await SimApiServer.start({
    tokens: { [ADMIN]: { user: "admin", allow: "*" } },
    ...options,
  });
}

Deno.test("the test certificate has no 127.0.0.1 SAN (kubeadm shape)", async () => {
  const pki = await testPki();
  assert.ok(!pki.sans.includes("IP:127.0.0.1"));
  assert.ok(pki.sans.includes("DNS:kubernetes"));
  assert.ok(pki.sans.includes("IP:10.96.0.1"));
});

Deno.test("https://127.0.0.1 verified as tls server name 'kubernetes' succeeds", async () => {
  const pki = await testPki();
  await using sim = await server();
  const client = new ApiClient({
    url: sim.url,
    caCertFile: pki.caCertFile,
    tlsServerName: "kubernetes",
  });
  const res = await client.request({ method: "GET", path: "/readyz" });
  assert.equal(res.status, 200);
  assert.equal(res.body, "ok");
  assert.equal(res.headers["content-type"], "text/plain; charset=utf-8");
  assert.equal(res.authenticated, false);
  // Loopback URL without a configured name: defaults to "kubernetes".
  const byDefault = new ApiClient({ url: sim.url, caCert: pki.caCert });
  assert.equal(byDefault.serverName, "kubernetes");
  assert.equal(
    (await byDefault.request({ method: "GET", path: "/livez" })).status,
    200,
  );
  // An IP SAN works as a server name too (verified as an IP, not DNS).
  const byIp = new ApiClient({
    url: sim.url,
    caCert: pki.caCert,
    tlsServerName: "10.96.0.1",
  });
  assert.equal(
    (await byIp.request({ method: "GET", path: "/readyz" })).status,
    200,
  );
});

Deno.test("startTls really verifies the name: names not in the certificate fail", async () => {
  const pki = await testPki();
  await using sim = await server();
  for (
    const name of ["127.0.0.1", "evil.example", "10.0.0.12", "kubernetes.evil"]
  ) {
    const client = new ApiClient({
      url: sim.url,
      caCert: pki.caCert,
      tlsServerName: name,
    });
    await assert.rejects(
      () => client.request({ method: "GET", path: "/readyz" }),
      (err: Error) =>
        err instanceof TlsError && err.reason === "name_mismatch" &&
        err.serverName === name &&
        err.message.includes("tls_server_name"),
      name,
    );
  }
  assert.equal(sim.requests.length, 0, "no request reached the server");
});

Deno.test("TLS errors: unknown CA, other cluster's CA, expired, not yet valid", async () => {
  const pki = await testPki();
  {
    await using sim = await server();
    const noCa = new ApiClient({ url: sim.url, tlsServerName: "kubernetes" });
    await assert.rejects(
      () => noCa.request({ method: "GET", path: "/readyz" }),
      (err: Error) =>
        err instanceof TlsError && err.reason === "unknown_authority",
    );
    const wrongCa = new ApiClient({ url: sim.url, caCert: pki.otherCaCert });
    await assert.rejects(
      () => wrongCa.request({ method: "GET", path: "/readyz" }),
      (err: Error) =>
        err instanceof TlsError && err.reason === "unknown_authority" &&
        err.message.includes("ca_cert"),
    );
  }
  {
    await using sim = await server({
      cert: pki.otherCaServerCert,
      key: pki.serverKey,
    });
    const client = new ApiClient({ url: sim.url, caCert: pki.caCert });
    await assert.rejects(
      () => client.request({ method: "GET", path: "/readyz" }),
      (err: Error) =>
        err instanceof TlsError && err.reason === "unknown_authority",
    );
  }
  {
    await using sim = await server({
      cert: pki.expiredCert,
      key: pki.serverKey,
    });
    const client = new ApiClient({ url: sim.url, caCert: pki.caCert });
    await assert.rejects(
      () => client.request({ method: "GET", path: "/readyz" }),
      (err: Error) => err instanceof TlsError && err.reason === "expired",
    );
  }
  {
    await using sim = await server({
      cert: pki.notYetValidCert,
      key: pki.serverKey,
    });
    const client = new ApiClient({ url: sim.url, caCert: pki.caCert });
    await assert.rejects(
      () => client.request({ method: "GET", path: "/readyz" }),
      (err: Error) => err instanceof TlsError && err.reason === "not_yet_valid",
    );
  }
});

Deno.test("TLS to a plain-HTTP server is a handshake TlsError", async () => {
  await using sim = await server({ plainHttp: true });
  const client = new ApiClient({
    url: sim.url.replace("http:", "https:"),
    caCert: (await testPki()).caCert,
  });
  await assert.rejects(
    () => client.request({ method: "GET", path: "/readyz" }),
    (err: Error) => err instanceof TlsError && err.reason === "handshake",
  );
});

Deno.test("insecureSkipTlsVerify: works against any certificate, and is logged loudly", async () => {
  const pki = await testPki();
  await using sim = await server({ cert: pki.expiredCert, key: pki.serverKey });
  const logger = captureLogger();
  const client = new ApiClient({
    url: sim.url,
    insecureSkipTlsVerify: true,
    tokenSource: staticTokenSource(ADMIN),
    logger,
  });
  assert.ok(
    logger.lines.some((l) => l.startsWith("warn") && l.includes("DISABLED")),
  );
  const res = await client.request({ method: "GET", path: "/readyz?verbose" });
  assert.equal(res.status, 200);
  assert.match(res.body, /readyz check passed\n$/);
  assert.equal(sim.requests.at(-1)?.token, ADMIN);
  // Refused connections are still classified on this path.
  await sim.refuse();
  await assert.rejects(
    () => client.request({ method: "GET", path: "/readyz" }),
    ConnectionRefusedError,
  );
});

Deno.test("plain http:// works (tests, dev)", async () => {
  await using sim = await server({ plainHttp: true });
  const client = new ApiClient({ url: sim.url });
  assert.equal(client.serverName, undefined);
  const res = await client.request({ method: "GET", path: "/version" });
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body).major, "1");
});

Deno.test("bearer token sent; a rotated token file is used on the next request", async () => {
  const pki = await testPki();
  await withTempDir(async (dir) => {
    const path = `${dir}/token`;
    await Deno.writeTextFile(path, "first-token-aaaaaaaa\n");
    await using sim = await server({
      tokens: {
        "first-token-aaaaaaaa": { user: "one", allow: "*" },
        "second-token-bbbbbbbb": { user: "two", allow: "*" },
      },
    });
    const client = new ApiClient({
      url: sim.url,
      caCertFile: pki.caCertFile,
      tokenSource: fileTokenSource(path),
    });
    const r1 = await client.request({ method: "GET", path: "/readyz" });
    assert.equal(r1.authenticated, true);
    assert.equal(sim.requests.at(-1)?.token, "first-token-aaaaaaaa");
    await Deno.writeTextFile(path, "second-token-bbbbbbbb\n");
    await client.request({ method: "GET", path: "/readyz" });
    assert.equal(sim.requests.at(-1)?.token, "second-token-bbbbbbbb");
  });
});

Deno.test("JSON helpers: 401/403/404 are HttpStatusErrors with the Status reason", async () => {
  const pki = await testPki();
  await using sim = await server({
    tokens: {
      [ADMIN]: { user: "admin", allow: "*" },
      "reader-123456": { user: "reader", allow: ["/readyz"] },
    },
  });
  const bad = new ApiClient({
    url: sim.url,
    caCert: pki.caCert,
    tokenSource: staticTokenSource("wrong-token-xyz"),
  });
  await assert.rejects(
    () => bad.getJson("/version"),
    (err: Error) =>
      err instanceof HttpStatusError && err.status === 401 &&
      err.reason === "Unauthorized",
  );
  const reader = new ApiClient({
    url: sim.url,
    caCert: pki.caCert,
    tokenSource: staticTokenSource("reader-123456"),
  });
  await assert.rejects(
    () =>
      reader.getJson(
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/vip",
      ),
    (err: Error) =>
      err instanceof HttpStatusError && err.status === 403 &&
      err.reason === "Forbidden" &&
      /cannot get resource "leases"/.test(err.message),
  );
  const admin = new ApiClient({
    url: sim.url,
    caCert: pki.caCert,
    tokenSource: staticTokenSource(ADMIN),
  });
  const err = await admin.getJson(
    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/vip",
  ).catch((e) => e);
  assert.ok(isNotFound(err));
});

Deno.test("Leases: create, get, update with resourceVersion, 409 on a stale one", async () => {
  const pki = await testPki();
  await using sim = await server();
  const client = new ApiClient({
    url: sim.url,
    caCert: pki.caCert,
    tokenSource: staticTokenSource(ADMIN),
  });
  const base = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";
  type Lease = {
    metadata: { name: string; resourceVersion?: string };
    spec: { holderIdentity?: string };
  };
  const created = await client.postJson<Lease>(base, {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "ha-vip" },
    spec: { holderIdentity: "cp-1", leaseDurationSeconds: 15 },
  });
  assert.ok(created.metadata.resourceVersion);
  const dup = await client.postJson(base, {
    metadata: { name: "ha-vip" },
    spec: {},
  }).catch((e) => e);
  assert.ok(isConflict(dup));
  assert.equal((dup as HttpStatusError).reason, "AlreadyExists");
  const got = await client.getJson<Lease>(`${base}/ha-vip`);
  const updated = await client.putJson<Lease>(`${base}/ha-vip`, {
    ...got,
    spec: { holderIdentity: "cp-2" },
  });
  assert.equal(updated.spec.holderIdentity, "cp-2");
  assert.notEqual(
    updated.metadata.resourceVersion,
    got.metadata.resourceVersion,
  );
  // A second writer still holding the old resourceVersion loses.
  const stale = await client.putJson(`${base}/ha-vip`, {
    ...got,
    spec: { holderIdentity: "cp-3" },
  }).catch((e) => e);
  assert.ok(isConflict(stale));
  assert.equal((stale as HttpStatusError).reason, "Conflict");
  assert.match((stale as Error).message, /the object has been modified/);
  await client.deleteJson(`${base}/ha-vip`);
  assert.ok(isNotFound(await client.getJson(`${base}/ha-vip`).catch((e) => e)));
});

Deno.test("timeouts: a stalled response and a stalled TLS handshake", async () => {
  const pki = await testPki();
  {
    await using sim = await server({ delayMs: Infinity });
    const client = new ApiClient({
      url: sim.url,
      caCert: pki.caCert,
      timeoutMs: 200,
    });
    await assert.rejects(
      () => client.request({ method: "GET", path: "/readyz" }),
      (err: Error) =>
        err instanceof TimeoutError && err.phase === "response" &&
        err.timeoutMs === 200,
    );
  }
  // A listener that accepts but never speaks TLS.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const acceptLoop = (async () => {
    try {
      for await (const c of listener) accepted.push(c);
    } catch {
      // closed
    }
  })();
  try {
    const client = new ApiClient({
      url: `https://127.0.0.1:${listener.addr.port}`,
      caCert: pki.caCert,
      timeoutMs: 200,
    });
    await assert.rejects(
      () => client.request({ method: "GET", path: "/readyz" }),
      (err: Error) => err instanceof TimeoutError && err.phase === "tls",
    );
  } finally {
    listener.close();
    for (const c of accepted) c.close();
    await acceptLoop;
  }
});

Deno.test("connection refused, then accepted again on the same port", async () => {
  const pki = await testPki();
  await using sim = await server();
  const client = new ApiClient({ url: sim.url, caCert: pki.caCert });
  await sim.refuse();
  await assert.rejects(() => client.checkTcp(), ConnectionRefusedError);
  await assert.rejects(
    () => client.request({ method: "GET", path: "/readyz" }),
    ConnectionRefusedError,
  );
  sim.accept();
  assert.equal(typeof await client.checkTcp(), "number");
  assert.equal(
    (await client.request({ method: "GET", path: "/readyz" })).status,
    200,
  );
});

Deno.test("abort: the caller's signal ends a stalled request as AbortedError", async () => {
  const pki = await testPki();
  await using sim = await server({ delayMs: Infinity });
  const client = new ApiClient({
    url: sim.url,
    caCert: pki.caCert,
    timeoutMs: 60_000,
  });
  const ac = new AbortController();
  const pending = client.request({
    method: "GET",
    path: "/readyz",
    signal: ac.signal,
  });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(() => pending, AbortedError);
  await assert.rejects(
    () => client.request({ method: "GET", path: "/readyz", signal: ac.signal }),
    AbortedError,
  );
});

Deno.test("bounded responses and chunked bodies from a raw server", async () => {
  const pki = await testPki();
  await using sim = await server({ plainHttp: true });
  sim.route("GET", "/big", () => new Response("x".repeat(2 * 1024 * 1024)));
  sim.route("GET", "/stream", () => {
    // A ReadableStream body: Deno sends it chunked.
    const parts = [
      "[+]ping ok\n",
      "[-]etcd failed: reason withheld\n",
      "readyz check failed\n",
    ];
    return new Response(
      new ReadableStream({
        pull(c) {
          const p = parts.shift();
          if (p === undefined) c.close();
          else c.enqueue(new TextEncoder().encode(p));
        },
      }),
      { status: 500 },
    );
  });
  const client = new ApiClient({
    url: sim.url,
    caCert: pki.caCert,
    maxResponseBytes: 1024 * 1024,
    tokenSource: staticTokenSource(ADMIN),
  });
  await assert.rejects(
    () => client.request({ method: "GET", path: "/big" }),
    ProtocolError,
  );
  const res = await client.request({ method: "GET", path: "/stream" });
  assert.equal(res.status, 500);
  assert.equal(res.headers["transfer-encoding"], "chunked");
  assert.equal(
    res.body,
    "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n",
  );
});

Deno.test("CA file problems are CredentialsErrors naming the file", async () => {
  await withTempDir(async (dir) => {
    await using sim = await server();
    const missing = new ApiClient({
      url: sim.url,
      caCertFile: `${dir}/ca.crt`,
    });
    await assert.rejects(
      () => missing.request({ method: "GET", path: "/readyz" }),
      CredentialsError,
    );
    await Deno.writeTextFile(`${dir}/ca.crt`, "not a pem");
    await assert.rejects(
      () => missing.request({ method: "GET", path: "/readyz" }),
      (err: Error) =>
        err instanceof CredentialsError &&
        err.message.includes(`${dir}/ca.crt`),
    );
  });
});

Deno.test("in-cluster credentials end to end: env address, SA token and CA, rotation", async () => {
  const pki = await testPki();
  await withTempDir(async (dir) => {
    await Deno.copyFile(pki.caCertFile, `${dir}/ca.crt`);
    await Deno.writeTextFile(`${dir}/token`, "sa-token-generation-1\n");
    await Deno.writeTextFile(`${dir}/namespace`, "kube-system");
    await using sim = await server({
      anonymous: "unauthorized",
      tokens: {
        "sa-token-generation-1": {
          user: "system:serviceaccount:kube-system:ha-vip",
          allow: ["/readyz"],
        },
        "sa-token-generation-2": {
          user: "system:serviceaccount:kube-system:ha-vip",
          allow: ["/readyz"],
        },
      },
    });
    const env: Record<string, string> = {
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: String(sim.port),
    };
    const creds = await inClusterCredentials({
      serviceAccountDir: dir,
      env: (n) => env[n],
    });
    const client = new ApiClient({
      url: creds.apiServer,
      caCertFile: creds.caCertFile,
      tokenSource: creds.tokenSource,
      tlsServerName: "kubernetes",
    });
    assert.equal(
      (await client.request({ method: "GET", path: "/readyz" })).status,
      200,
    );
    // The kubelet swaps the projected token atomically.
    await Deno.writeTextFile(`${dir}/token.tmp`, "sa-token-generation-2\n");
    await Deno.rename(`${dir}/token.tmp`, `${dir}/token`);
    assert.equal(
      (await client.request({ method: "GET", path: "/readyz" })).status,
      200,
    );
    assert.deepEqual(sim.requests.map((r) => r.token), [
      "sa-token-generation-1",
      "sa-token-generation-2",
    ]);
  });
});
