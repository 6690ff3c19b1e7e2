import assert from "node:assert/strict";
import { LeaseApi } from "../../lib/election/lease/_api.ts";
import { ApiClient, staticTokenSource } from "../../lib/k8s/mod.ts";
import type { LeaseRecord } from "../../lib/lease/mod.ts";
import {
  leaseRoutes,
  MemoryStore,
  SimApiServer,
  testPki,
} from "../../testing/mod.ts";

const RECORD: LeaseRecord = {
  holderIdentity: "cp-1",
  leaseDurationSeconds: 15,
  acquireTime: 1796040000_000001,
  renewTime: 1796040000_123456,
  leaseTransitions: 0,
};

async function setup(token = "lease-token") {
  const pki = await testPki();
  const store = new MemoryStore();
  const server = await SimApiServer.start({
    routes: [leaseRoutes({ store })],
    tokens: {
      "lease-token": {
        user: "system:serviceaccount:kube-system:ha-vip",
        allow: ["/apis/coordination.k8s.io/*"],
      },
      "tok-health-9c1e": {
        user: "system:serviceaccount:kube-system:ha-vip",
        allow: ["/readyz"],
      },
    },
  });
  const client = new ApiClient({
    url: server.url,
    caCert: pki.caCert,
    tokenSource: staticTokenSource(token),
  });
  const api = new LeaseApi({
    transport: client,
    namespace: "kube-system",
    name: "ha-vip",
    timeoutMs: 2000,
  });
  return { server, api, store };
}

Deno.test("get 404, create, get, update over the resourceVersion, stale update 409", async () => {
  const { server, api, store } = await setup();
  try {
    assert.deepEqual(await api.perform({ type: "get", id: 1 }), {
      kind: "notFound",
    });
    const created = await api.perform({
      type: "create",
      id: 2,
      record: RECORD,
    });
    assert.equal(created.kind, "lease");
    if (created.kind !== "lease") return;
    assert.deepEqual(created.lease.record, RECORD);
    // What went over the wire: six fractional digits.
    const stored =
      (await store.get("coordination.k8s.io/leases/kube-system/ha-vip"))!;
    const spec = stored.spec as Record<string, unknown>;
    assert.equal(spec.renewTime, "2026-11-30T12:00:00.123456Z");
    assert.equal(spec.acquireTime, "2026-11-30T12:00:00.000001Z");
    assert.equal(
      (await api.perform({ type: "create", id: 3, record: RECORD })).kind,
      "conflict",
    );

    const renewed = { ...RECORD, renewTime: RECORD.renewTime! + 2_000_000 };
    const up = await api.perform({
      type: "update",
      id: 4,
      record: renewed,
      base: created.lease,
    });
    assert.equal(up.kind, "lease");
    // Reusing the old base is a lost race.
    const stale = await api.perform({
      type: "update",
      id: 5,
      record: renewed,
      base: created.lease,
    });
    assert.deepEqual(stale, { kind: "conflict" });
    const got = await api.perform({ type: "get", id: 6 });
    assert.equal(
      got.kind === "lease" && got.lease.record.renewTime,
      renewed.renewTime,
    );
  } finally {
    await server.close();
  }
});

Deno.test("403 names the missing RBAC rule and the example; 401 says the token is not accepted", async () => {
  for (
    const [token, pattern] of [
      [
        "tok-health-9c1e",
        /403 Forbidden: the token's user lacks the RBAC rule lease mode needs: get, create and update on leases \(coordination\.k8s\.io\) in the namespace "kube-system".*ha-vip manifest rbac.*examples\/kubernetes\/rbac\.yaml/,
      ],
      [
        "tok-unknown-7f3a",
        /401 Unauthorized: the API server does not accept the token.*get, create and update on leases/,
      ],
    ] as const
  ) {
    const { server, api } = await setup(token);
    try {
      const r = await api.perform({ type: "get", id: 1 });
      assert.equal(r.kind, "error");
      assert.match((r as { message: string }).message, pattern);
      assert.ok(
        !(r as { message: string }).message.includes(token),
        "the token must not appear",
      );
    } finally {
      await server.close();
    }
  }
});

Deno.test("a 200 that is not a valid Lease is an error naming the field", async () => {
  const { server, api } = await setup();
  try {
    server.route(
      "GET",
      "/apis/coordination.k8s.io/v1/namespaces/:ns/leases/:name",
      () =>
        Response.json({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            name: "ha-vip",
            namespace: "kube-system",
            resourceVersion: "7",
          },
          spec: { holderIdentity: "cp-2", leaseDurationSeconds: -5 },
        }),
    );
    const r = await api.perform({ type: "get", id: 1 });
    assert.equal(r.kind, "error");
    assert.match(
      (r as { message: string }).message,
      /invalid Lease: spec\.leaseDurationSeconds is -5/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("transport failures are errors, never throws", async () => {
  const { server, api } = await setup();
  await server.close();
  const r = await api.perform({ type: "get", id: 1 });
  assert.equal(r.kind, "error");
  assert.match(
    (r as { message: string }).message,
    /^get lease kube-system\/ha-vip: connection refused/,
  );
});
