import assert from "node:assert/strict";
import {
  parseHealthBody,
  verdictFromError,
  verdictFromResponse,
} from "../../lib/health/mod.ts";
import {
  type ApiResponse,
  ConnectionRefusedError,
  NetworkError,
  TimeoutError,
  TlsError,
} from "../../lib/k8s/mod.ts";

// Real kube-apiserver output (k8s.io/apiserver/pkg/server/healthz), trimmed.
const FAILED = "[+]ping ok\n" +
  "[+]log ok\n" +
  "[-]etcd failed: reason withheld\n" +
  "[+]etcd-readiness excluded: ok\n" +
  "[-]informer-sync failed: reason withheld\n" +
  "[+]poststarthook/rbac/bootstrap-roles ok\n" +
  "[-]shutdown failed: reason withheld\n" +
  "readyz check failed\n";
const PASSED =
  "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]shutdown ok\nreadyz check passed\n";

function res(status: number, body: string, authenticated = false): ApiResponse {
  return { status, statusText: "", headers: {}, body, authenticated };
}

Deno.test("parseHealthBody: failing checks from the real format", () => {
  const p = parseHealthBody(FAILED);
  assert.deepEqual(p.failing, ["etcd", "informer-sync", "shutdown"]);
  assert.equal(p.summary, "readyz check failed");
  assert.equal(p.checks.length, 7);
  assert.deepEqual(p.checks[3], {
    name: "etcd-readiness",
    ok: true,
    message: "excluded: ok",
  });
  assert.deepEqual(p.checks[2], {
    name: "etcd",
    ok: false,
    message: "failed: reason withheld",
  });
  const ok = parseHealthBody(PASSED);
  assert.deepEqual(ok.failing, []);
  assert.equal(ok.summary, "readyz check passed");
  assert.deepEqual(parseHealthBody("ok"), {
    checks: [],
    failing: [],
    summary: undefined,
  });
  assert.deepEqual(
    parseHealthBody("[-]a\r\n[-]b failed\r\nlivez check failed\r\n").failing,
    ["a", "b"],
  );
});

Deno.test("verdictFromResponse: ready and not_ready", () => {
  assert.deepEqual(verdictFromResponse(res(200, "ok"), { path: "/readyz" }), {
    kind: "ready",
    detail: "/readyz ok",
  });
  const nr = verdictFromResponse(res(500, FAILED), { path: "/readyz" });
  assert.equal(nr.kind, "not_ready");
  assert.ok(nr.kind === "not_ready");
  assert.deepEqual(nr.failingChecks, ["etcd", "informer-sync", "shutdown"]);
  assert.equal(
    nr.detail,
    "/readyz returned 500: failing checks: etcd, informer-sync, shutdown",
  );
  // No list in the body: the verbose follow-up supplies it.
  const follow = verdictFromResponse(res(503, "Service Unavailable"), {
    path: "/readyz",
  }, FAILED);
  assert.ok(follow.kind === "not_ready");
  assert.deepEqual(follow.failingChecks, ["etcd", "informer-sync", "shutdown"]);
  const none = verdictFromResponse(res(503, ""), { path: "/readyz" });
  assert.ok(none.kind === "not_ready");
  assert.match(none.detail, /without a check list/);
});

Deno.test("verdictFromResponse: 401 says whether a token was sent", () => {
  const status401 =
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",' +
    '"message":"Unauthorized","reason":"Unauthorized","code":401}';
  const withToken = verdictFromResponse(res(401, status401, true), {
    path: "/readyz",
    tokenDescription: "token file /etc/ha-vip/token",
  });
  assert.ok(withToken.kind === "unauthorized");
  assert.equal(withToken.tokenSent, true);
  assert.match(
    withToken.detail,
    /rejected the bearer token from token file \/etc\/ha-vip\/token/,
  );
  const anonymous = verdictFromResponse(res(401, status401, false), {
    path: "/readyz",
  });
  assert.ok(anonymous.kind === "unauthorized");
  assert.equal(anonymous.tokenSent, false);
  assert.match(anonymous.detail, /normally readable anonymously/);
  assert.match(anonymous.detail, /--anonymous-auth/);
  assert.match(anonymous.detail, /configure k8s\.token/);
});

Deno.test("verdictFromResponse: 403 points at RBAC; other statuses are errors", () => {
  const body = JSON.stringify({
    kind: "Status",
    status: "Failure",
    reason: "Forbidden",
    code: 403,
    message:
      'forbidden: User "system:serviceaccount:kube-system:ha-vip" cannot get path "/readyz"',
  });
  const f = verdictFromResponse(res(403, body, true), { path: "/readyz" });
  assert.ok(f.kind === "forbidden");
  assert.match(f.detail, /nonResourceURLs \["\/readyz"\]/);
  assert.match(f.detail, /RBAC/);
  assert.match(f.detail, /system:serviceaccount:kube-system:ha-vip/);
  const anon = verdictFromResponse(res(403, body, false), { path: "/readyz" });
  assert.match(anon.detail, /system:public-info-viewer/);
  const odd = verdictFromResponse(res(404, "404 page not found\n"), {
    path: "/readyz",
  });
  assert.ok(odd.kind === "error");
  assert.equal(odd.cause, "http_status");
  assert.match(odd.detail, /unexpected HTTP 404/);
});

Deno.test("verdictFromError: each ApiError class maps to its verdict", () => {
  const tls = verdictFromError(
    new TlsError("name_mismatch", "kubernetes", "TLS failed"),
    "readyz",
  );
  assert.deepEqual(tls, {
    kind: "tls_error",
    reason: "name_mismatch",
    detail: "TLS failed",
  });
  const to = verdictFromError(
    new TimeoutError("connect", 1000, "timed out"),
    "tcp",
  );
  assert.deepEqual(to, {
    kind: "timeout",
    stage: "tcp",
    detail: "TCP connect timed out",
  });
  assert.equal(
    verdictFromError(
      new ConnectionRefusedError("127.0.0.1:6443", "refused"),
      "tcp",
    ).kind,
    "connection_refused",
  );
  const net = verdictFromError(
    new NetworkError("ConnectionReset", "reset"),
    "readyz",
  );
  assert.deepEqual(net, { kind: "error", cause: "network", detail: "reset" });
  assert.equal(verdictFromError(new TypeError("boom"), "readyz").kind, "error");
});
