/**
 * The simulated API server's Leases behave as kube-apiserver's do for a
 * client: status codes, Status bodies, resourceVersion, validation,
 * per-verb RBAC, a shared store and a store that can be cut off.
 */
import assert from "node:assert/strict";
import {
  discoveryRoutes,
  leaseRoutes,
  MemoryStore,
  RemoteStore,
  serveStore,
  SimApiServer,
  type Store,
  STORE_CHECKS,
  StoreLink,
  watchStoreHealth,
} from "../../testing/mod.ts";

const HA_VIP = "system:serviceaccount:kube-system:ha-vip";
const PATH = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";

function lease(
  spec: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "ha-vip", namespace: "kube-system", ...extra },
    spec,
  };
}

const SPEC = {
  holderIdentity: "cp-1",
  leaseDurationSeconds: 15,
  acquireTime: "2026-11-30T12:00:00.000001Z",
  renewTime: "2026-11-30T12:00:00.123456Z",
  leaseTransitions: 0,
};

async function start(
  store: Store = new MemoryStore(),
  rbac?: Record<string, string[]>,
) {
  return await SimApiServer.start({
    plainHttp: true,
    tokens: {
      admin: { user: "admin", allow: "*" },
      hv: { user: HA_VIP, allow: ["/apis/coordination.k8s.io/*"] },
    },
    routes: [leaseRoutes({ store, rbac }), discoveryRoutes()],
  });
}

async function call(
  server: SimApiServer,
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string; contentType?: string } = {},
) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${opts.token ?? "admin"}`,
      "content-type": opts.contentType ?? "application/json",
    },
    body: body === undefined
      ? undefined
      : typeof body === "string"
      ? body
      : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

Deno.test("create, 409 AlreadyExists, get, update by resourceVersion, 409 Conflict, unconditional update, 404", async () => {
  await using server = await start();
  assert.equal((await call(server, "GET", `${PATH}/ha-vip`)).status, 404);
  const c = await call(server, "POST", PATH, lease(SPEC));
  assert.equal(c.status, 201);
  assert.ok(
    c.body.metadata.uid && c.body.metadata.resourceVersion &&
      c.body.metadata.creationTimestamp,
  );
  assert.deepEqual(c.body.spec, SPEC);
  const dup = await call(server, "POST", PATH, lease(SPEC));
  assert.equal(dup.status, 409);
  assert.equal(dup.body.reason, "AlreadyExists");

  const rv = c.body.metadata.resourceVersion;
  const renewed = { ...SPEC, renewTime: "2026-11-30T12:00:02.000000Z" };
  const u = await call(
    server,
    "PUT",
    `${PATH}/ha-vip`,
    lease(renewed, { resourceVersion: rv }),
  );
  assert.equal(u.status, 200);
  assert.ok(Number(u.body.metadata.resourceVersion) > Number(rv));
  assert.equal(u.body.metadata.uid, c.body.metadata.uid);
  const stale = await call(
    server,
    "PUT",
    `${PATH}/ha-vip`,
    lease(SPEC, { resourceVersion: rv }),
  );
  assert.equal(stale.status, 409);
  assert.equal(stale.body.reason, "Conflict");
  assert.match(stale.body.message, /the object has been modified/);
  // No resourceVersion: Leases allow an unconditional update.
  assert.equal(
    (await call(server, "PUT", `${PATH}/ha-vip`, lease(SPEC))).status,
    200,
  );
  assert.equal(
    (await call(server, "PUT", `${PATH}/other`, lease(SPEC, { name: "other" })))
      .status,
    404,
  );
  const list = await call(server, "GET", PATH);
  assert.equal(list.body.kind, "LeaseList");
  assert.equal(list.body.items.length, 1);
  assert.equal((await call(server, "DELETE", `${PATH}/ha-vip`)).status, 200);
  assert.equal((await call(server, "GET", `${PATH}/ha-vip`)).status, 404);
});

Deno.test("validation: three-digit MicroTime 400, leaseDurationSeconds <= 0 422 with its cause, name mismatch 400, bad JSON 400", async () => {
  await using server = await start();
  const short = await call(
    server,
    "POST",
    PATH,
    lease({ ...SPEC, renewTime: "2026-11-30T12:00:00.123Z" }),
  );
  assert.equal(short.status, 400);
  assert.match(
    short.body.message,
    /parsing time "2026-11-30T12:00:00.123Z" as "2006-01-02T15:04:05.000000Z07:00"/,
  );
  const zero = await call(
    server,
    "POST",
    PATH,
    lease({ ...SPEC, leaseDurationSeconds: 0 }),
  );
  assert.equal(zero.status, 422);
  assert.equal(zero.body.reason, "Invalid");
  assert.deepEqual(
    zero.body.details.causes.map((c: { field: string }) => c.field),
    ["spec.leaseDurationSeconds"],
  );
  const neg = await call(
    server,
    "POST",
    PATH,
    lease({ ...SPEC, leaseTransitions: -1 }),
  );
  assert.equal(neg.status, 422);
  assert.equal(
    (await call(
      server,
      "POST",
      PATH,
      lease({ ...SPEC, leaseDurationSeconds: "15" }),
    )).status,
    400,
  );
  await call(server, "POST", PATH, lease(SPEC));
  const mismatch = await call(
    server,
    "PUT",
    `${PATH}/ha-vip`,
    lease(SPEC, { name: "other" }),
  );
  assert.equal(mismatch.status, 400);
  assert.equal((await call(server, "POST", PATH, "{not json")).status, 400);
  assert.equal(
    (await call(server, "POST", PATH, lease(SPEC, { name: "Not_A_Name" })))
      .status,
    422,
  );
});

Deno.test("PATCH: merge and strategic merge (kubectl apply), 415 for other types, 404", async () => {
  await using server = await start();
  await call(server, "POST", PATH, lease(SPEC));
  const p = await call(server, "PATCH", `${PATH}/ha-vip`, {
    spec: { holderIdentity: "cp-2", renewTime: null },
  }, {
    contentType: "application/strategic-merge-patch+json",
  });
  assert.equal(p.status, 200);
  assert.equal(p.body.spec.holderIdentity, "cp-2");
  assert.equal(p.body.spec.renewTime, undefined);
  assert.equal(p.body.spec.leaseDurationSeconds, 15);
  const m = await call(server, "PATCH", `${PATH}/ha-vip`, {
    metadata: { labels: { a: "b" } },
  }, {
    contentType: "application/merge-patch+json",
  });
  assert.deepEqual(m.body.metadata.labels, { a: "b" });
  const j = await call(server, "PATCH", `${PATH}/ha-vip`, [], {
    contentType: "application/json-patch+json",
  });
  assert.equal(j.status, 415);
  const bad = await call(server, "PATCH", `${PATH}/ha-vip`, {
    spec: { leaseDurationSeconds: 0 },
  }, {
    contentType: "application/merge-patch+json",
  });
  assert.equal(bad.status, 422);
  assert.equal(
    (await call(server, "PATCH", `${PATH}/nope`, {}, {
      contentType: "application/merge-patch+json",
    })).status,
    404,
  );
});

Deno.test("RBAC per verb: a user with get only is refused update in RBAC's words", async () => {
  await using server = await start(new MemoryStore(), { [HA_VIP]: ["get"] });
  await call(server, "POST", PATH, lease(SPEC));
  assert.equal(
    (await call(server, "GET", `${PATH}/ha-vip`, undefined, { token: "hv" }))
      .status,
    200,
  );
  const up = await call(server, "PUT", `${PATH}/ha-vip`, lease(SPEC), {
    token: "hv",
  });
  assert.equal(up.status, 403);
  assert.equal(
    up.body.message,
    `leases.coordination.k8s.io "ha-vip" is forbidden: User "${HA_VIP}" cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system"`,
  );
  const cr = await call(server, "POST", PATH, lease(SPEC, { name: "x" }), {
    token: "hv",
  });
  assert.equal(cr.status, 403);
  assert.match(
    cr.body.message,
    /^leases\.coordination\.k8s\.io is forbidden: .* cannot create resource "leases"/,
  );
});

Deno.test("two servers, one store: writes are seen by both and races resolve by resourceVersion", async () => {
  const store = new MemoryStore();
  await using a = await start(store);
  await using b = await start(store);
  const c = await call(a, "POST", PATH, lease(SPEC));
  const seen = await call(b, "GET", `${PATH}/ha-vip`);
  assert.deepEqual(seen.body, c.body);
  const rv = c.body.metadata.resourceVersion;
  const wa = await call(
    a,
    "PUT",
    `${PATH}/ha-vip`,
    lease({ ...SPEC, holderIdentity: "cp-1" }, { resourceVersion: rv }),
  );
  const wb = await call(
    b,
    "PUT",
    `${PATH}/ha-vip`,
    lease({ ...SPEC, holderIdentity: "cp-2" }, { resourceVersion: rv }),
  );
  assert.deepEqual([wa.status, wb.status], [200, 409]);
});

Deno.test("a server cut from the store: 500 etcdserver timeout, readyz fails etcd, back when restored", async () => {
  const shared = new MemoryStore();
  const link = new StoreLink(shared, { failAfterMs: 20 });
  await using server = await start(link);
  const stop = new AbortController();
  server.setFailingChecks(["informer-sync"]); // set by someone else: left alone
  watchStoreHealth(server, link, {
    intervalMs: 20,
    unreadyAfterMs: 60,
    signal: stop.signal,
  });
  try {
    await call(server, "POST", PATH, lease(SPEC));
    link.setConnected(false);
    const r = await call(server, "GET", `${PATH}/ha-vip`);
    assert.equal(r.status, 500);
    assert.equal(r.body.message, "etcdserver: request timed out");
    await until(() =>
      STORE_CHECKS.every((c) => server.failingChecks().includes(c))
    );
    const ready = await fetch(`${server.url}/readyz?verbose`);
    const text = await ready.text();
    assert.equal(ready.status, 500);
    assert.match(text, /\[-\]etcd failed/);
    // The lab resetting checks does not hide the outage.
    server.setFailingChecks([]);
    await until(() => server.failingChecks().includes("etcd"));
    link.setConnected(true);
    await until(() => !server.failingChecks().includes("etcd"));
    assert.equal((await call(server, "GET", `${PATH}/ha-vip`)).status, 200);
  } finally {
    stop.abort();
  }
});

Deno.test("the store over HTTP: API servers in other processes share it", async () => {
  const stop = new AbortController();
  const served = serveStore(new MemoryStore(), {
    hostname: "127.0.0.1",
    port: 0,
    signal: stop.signal,
  });
  try {
    const url = `http://127.0.0.1:${served.addr.port}`;
    await using a = await start(new RemoteStore(url));
    await using b = await start(new RemoteStore(url));
    const c = await call(a, "POST", PATH, lease(SPEC));
    assert.equal(c.status, 201);
    assert.equal((await call(b, "POST", PATH, lease(SPEC))).status, 409);
    assert.deepEqual((await call(b, "GET", `${PATH}/ha-vip`)).body, c.body);
  } finally {
    stop.abort();
    await served.finished;
  }
  // Nobody serves it any more: the store is unavailable, a 500.
  await using c = await start(
    new RemoteStore(
      `http://127.0.0.1:${served.addr.port}`,
      200,
    ),
  );
  assert.equal((await call(c, "GET", `${PATH}/ha-vip`)).status, 500);
});

async function until(cond: () => boolean) {
  for (let i = 0; i < 500 && !cond(); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(cond(), "condition never held");
}
