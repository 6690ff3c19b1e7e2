import assert from "node:assert/strict";
import { runCli, SimApiServer, testPki } from "../../testing/mod.ts";

const TOKEN = "probe-cli-token-8d2f6a1c4e";

async function withServer(
  fn: (s: SimApiServer, ca: string) => Promise<void>,
): Promise<void> {
  const pki = await testPki();
  const server = await SimApiServer.start({
    tokens: {
      [TOKEN]: {
        user: "system:serviceaccount:kube-system:ha-vip",
        allow: ["/readyz"],
      },
    },
  });
  try {
    await fn(server, pki.caCertFile);
  } finally {
    await server.close();
  }
}

Deno.test("probe prints each stage and exits 0 when ready, over TLS verified against 'kubernetes'", async () => {
  await withServer(async (s, ca) => {
    const r = await runCli(
      ["probe", "--api-server", s.url, "--ca-cert", ca],
      {},
    );
    assert.equal(r.status, 0, r.out + r.err);
    const lines = r.out.trim().split("\n");
    assert.match(
      lines[0],
      new RegExp(
        `^probe ${s.url} \\(verify name "kubernetes", CA .*ca\\.crt, token: none\\)$`,
      ),
    );
    assert.match(lines[1], /^ {2}1\. tcp {5}connect 127\.0\.0\.1:\d+ +ok \(/);
    assert.match(
      lines[2],
      /^ {2}2\. readyz {2}GET \/readyz +ready \(HTTP 200, /,
    );
    assert.equal(lines.at(-1), "verdict: ready");
  });
});

Deno.test("probe names the failing checks and exits 1 when not ready", async () => {
  await withServer(async (s, ca) => {
    s.setUnready(["etcd"]);
    const r = await runCli(["probe", "--api-server", s.url, "--ca-cert", ca]);
    assert.equal(r.status, 1);
    assert.match(r.out, /2\. readyz {2}GET \/readyz +not_ready \(HTTP 500/);
    assert.match(r.out, /etcd/);
    assert.match(r.out, /verdict: not_ready\n$/);
  });
});

Deno.test("probe reports a refused connection at the TCP stage and skips readyz", async () => {
  await withServer(async (s, ca) => {
    await s.refuse();
    const r = await runCli(["probe", "--api-server", s.url, "--ca-cert", ca]);
    assert.equal(r.status, 1);
    assert.match(r.out, /1\. tcp .*FAILED: connection_refused/);
    assert.match(r.out, /2\. readyz {2}skipped: the TCP stage failed/);
  });
});

Deno.test("probe with a token from the environment never prints it; a wrong token is unauthorized", async () => {
  await withServer(async (s, ca) => {
    let r = await runCli(["probe", "--api-server", s.url, "--ca-cert", ca], {
      HA_VIP_K8S_TOKEN: TOKEN,
    });
    assert.equal(r.status, 0, r.out + r.err);
    assert.match(r.out, /token: static token/);
    assert.ok(!r.out.includes(TOKEN) && !r.err.includes(TOKEN));
    const wrong = "wrong-token-0123456789abcdef";
    r = await runCli(["probe", "--api-server", s.url, "--ca-cert", ca], {
      HA_VIP_K8S_TOKEN: wrong,
    });
    assert.equal(r.status, 1);
    assert.match(r.out, /unauthorized \(HTTP 401/);
    assert.ok(!r.out.includes(wrong) && !r.err.includes(wrong));
  });
});

Deno.test("probe needs no --vip, but a missing CA file is a usage error naming it", async () => {
  const r = await runCli([
    "probe",
    "--api-server",
    "https://127.0.0.1:1",
    "--ca-cert",
    "/nonexistent/ca.crt",
  ]);
  assert.equal(r.status, 2);
  assert.match(r.err, /\/nonexistent\/ca\.crt/);
});
