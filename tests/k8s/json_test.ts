/**
 * The JSON requests a Lease backend makes (get / create / update with
 * resourceVersion), their status codes, and metav1.Status failures as typed
 * errors: what client-go's `apierrors.IsNotFound` & co. give a Go elector.
 */

import assert from "node:assert/strict";
import {
  ApiClient,
  HttpStatusError,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isNotFound,
  isTooManyRequests,
  isUnauthorized,
  parseKubeStatus,
  ProtocolError,
  staticTokenSource,
} from "../../lib/k8s/mod.ts";
import {
  jsonResponse,
  SimApiServer,
  statusResponse,
  testPki,
} from "../../testing/mod.ts";

const ADMIN = "json-admin-token-1234567";
const READER = "json-reader-token-7654321";
const LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; resourceVersion?: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number };
}

async function setup() {
  const pki = await testPki();
  const sim = await SimApiServer.start({
    tokens: {
      [ADMIN]: { user: "admin", allow: "*" },
      [READER]: { user: "system:serviceaccount:kube-system:ha-vip", allow: [] },
    },
  });
  const client = (token: string) =>
    new ApiClient({
      url: sim.url,
      caCert: pki.caCert,
      tokenSource: staticTokenSource(token),
    });
  return { sim, client };
}

Deno.test("Lease flow: 404, create (201), update (200, new resourceVersion), stale update 409 Conflict", async () => {
  const { sim, client } = await setup();
  await using _ = sim;
  using a = client(ADMIN);
  using b = client(ADMIN);
  const missing = await a.requestJson("GET", `${LEASES}/ha-vip`).catch((e) =>
    e
  );
  assert.ok(isNotFound(missing));
  assert.equal((missing as HttpStatusError).reason, "NotFound");
  assert.deepEqual((missing as HttpStatusError).details, {
    name: "ha-vip",
    group: "coordination.k8s.io",
    kind: "leases",
    uid: undefined,
    causes: undefined,
    retryAfterSeconds: undefined,
  });

  const created = await a.requestJson<Lease>("POST", LEASES, {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "ha-vip" },
    spec: { holderIdentity: "cp-1", leaseDurationSeconds: 15 },
  });
  assert.equal(created.status, 201);
  const rv1 = created.object.metadata.resourceVersion!;
  assert.ok(rv1);

  // Two nodes read the same version; the first update wins.
  const seenByB = await b.getJson<Lease>(`${LEASES}/ha-vip`);
  const renewed = await a.requestJson<Lease>("PUT", `${LEASES}/ha-vip`, {
    ...created.object,
    spec: { ...created.object.spec, holderIdentity: "cp-1" },
  });
  assert.equal(renewed.status, 200);
  assert.notEqual(renewed.object.metadata.resourceVersion, rv1);
  const lost = await b.putJson(`${LEASES}/ha-vip`, {
    ...seenByB,
    spec: { ...seenByB.spec, holderIdentity: "cp-2" },
  }).catch((e) => e);
  assert.ok(isConflict(lost) && !isAlreadyExists(lost));
  assert.equal((lost as HttpStatusError).reason, "Conflict");
  // A create race: AlreadyExists, also a 409.
  const dup = await b.postJson(LEASES, seenByB).catch((e) => e);
  assert.ok(isAlreadyExists(dup) && isConflict(dup));
  assert.equal(
    (await a.getJson<Lease>(`${LEASES}/ha-vip`)).spec.holderIdentity,
    "cp-1",
  );
});

Deno.test("401 and 403 are typed; the 403 message names the verb and resource", async () => {
  const { sim, client } = await setup();
  await using _ = sim;
  using reader = client(READER);
  const forbidden = await reader.postJson(LEASES, {
    metadata: { name: "ha-vip" },
    spec: {},
  }).catch((e) => e);
  assert.ok(isForbidden(forbidden) && !isUnauthorized(forbidden));
  assert.match(
    (forbidden as HttpStatusError).statusMessage!,
    /cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system"/,
  );
  using stranger = client("unknown-token-000000000");
  const unauthorized = await stranger.getJson(`${LEASES}/x`).catch((e) => e);
  assert.ok(isUnauthorized(unauthorized) && !isForbidden(unauthorized));
});

Deno.test("429 and 5xx carry retry-after from the Status or the header; odd bodies stay errors", async () => {
  const { sim, client } = await setup();
  await using _ = sim;
  sim.route(
    "GET",
    "/throttled",
    () =>
      statusResponse(429, "TooManyRequests", "Too many requests", {
        retryAfterSeconds: 3,
      }),
  );
  sim.route(
    "GET",
    "/header",
    () =>
      new Response("busy", { status: 503, headers: { "retry-after": "7" } }),
  );
  sim.route(
    "GET",
    "/invalid",
    () =>
      statusResponse(422, "Invalid", "Lease.coordination.k8s.io is invalid", {
        name: "ha-vip",
        causes: [{
          reason: "FieldValueInvalid",
          message: "must be greater than 0",
          field: "spec.leaseDurationSeconds",
        }],
      }),
  );
  sim.route("GET", "/html", () => new Response("<html>", { status: 200 }));
  sim.route("GET", "/empty", () => new Response(null, { status: 204 }));
  using admin = client(ADMIN);
  const t = await admin.getJson("/throttled").catch((e) => e);
  assert.ok(isTooManyRequests(t));
  assert.equal((t as HttpStatusError).retryAfterSeconds, 3);
  const h = await admin.getJson("/header").catch((e) => e);
  assert.ok(h instanceof HttpStatusError && h.status === 503);
  assert.equal(h.retryAfterSeconds, 7);
  assert.equal(h.reason, undefined);
  assert.match(h.message, /HTTP 503: busy/);
  const inv = await admin.getJson("/invalid").catch((e) => e);
  assert.deepEqual((inv as HttpStatusError).details?.causes, [{
    reason: "FieldValueInvalid",
    message: "must be greater than 0",
    field: "spec.leaseDurationSeconds",
  }]);
  await assert.rejects(() => admin.getJson("/html"), ProtocolError);
  const empty = await admin.requestJson("GET", "/empty");
  assert.deepEqual([empty.status, empty.object], [204, undefined]);
});

Deno.test("parseKubeStatus: only Status objects, fields bounded and typed", () => {
  assert.equal(parseKubeStatus("not json"), undefined);
  assert.equal(parseKubeStatus('{"kind":"Lease"}'), undefined);
  assert.equal(parseKubeStatus("null"), undefined);
  const s = parseKubeStatus(JSON.stringify({
    kind: "Status",
    reason: "Conflict",
    message: "m".repeat(5000),
    code: 409,
    details: { name: 7, causes: "nope", retryAfterSeconds: -1 },
  }))!;
  assert.equal(s.reason, "Conflict");
  assert.equal(s.code, 409);
  assert.equal(s.message!.length, 5000, "message kept; errors shorten it");
  assert.deepEqual(s.details, {
    name: undefined,
    group: undefined,
    kind: undefined,
    uid: undefined,
    causes: undefined,
    retryAfterSeconds: undefined,
  });
  // A body that is JSON but a Status of the wrong shape is no crash.
  assert.ok(parseKubeStatus(JSON.stringify({ kind: "Status", details: [] })));
});

Deno.test("a JSON body with a custom content type (merge patch) is sent as given", async () => {
  const { sim, client } = await setup();
  await using _ = sim;
  let seen = "";
  sim.route("PATCH", "/patch", async ({ request }) => {
    seen = `${request.headers.get("content-type")} ${await request.text()}`;
    return jsonResponse(200, { ok: true });
  });
  using admin = client(ADMIN);
  assert.deepEqual(await admin.patchJson("/patch", { spec: { a: 1 } }), {
    ok: true,
  });
  assert.equal(seen, 'application/merge-patch+json {"spec":{"a":1}}');
});
