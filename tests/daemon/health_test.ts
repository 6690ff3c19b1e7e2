import assert from "node:assert/strict";
import { loadConfig } from "../../lib/config/mod.ts";
import { resilientProbe, verdictReason } from "../../lib/daemon/mod.ts";
import { createLogger } from "../../lib/observe/mod.ts";
import { SimApiServer, testPki } from "../../testing/mod.ts";

const TOKEN = "rotated-in-later-token-1b2c3d4e";

Deno.test("bootstrap: missing CA, then missing token file are 'not ready' verdicts, never a crash", async () => {
  const pki = await testPki();
  const dir = await Deno.makeTempDir();
  const ca = `${dir}/ca.crt`;
  const tokenFile = `${dir}/token`;
  const server = await SimApiServer.start({
    anonymous: "allow",
    tokens: {
      [TOKEN]: {
        user: "system:serviceaccount:kube-system:ha-vip",
        allow: ["/readyz"],
      },
    },
  });
  const lines: string[] = [];
  try {
    const { config } = await loadConfig({
      env: {},
      flags: {
        vip: "10.0.0.1/24",
        interface: "eth0",
        "k8s.api_server": server.url,
        "k8s.ca_cert": ca,
        "k8s.token_file": tokenFile,
      },
    });
    const probe = resilientProbe(
      config,
      createLogger({ sink: (l) => lines.push(l) }),
      {},
    );
    const signal = new AbortController().signal;

    // Before kubeadm wrote the CA: not ready, and the verdict names the file.
    let r = await probe(signal);
    assert.equal(r.verdict.kind, "error");
    assert.match(r.verdict.detail, /ca\.crt/);

    // CA present, token not yet: probe anonymously (/readyz is public by default).
    await Deno.copyFile(pki.caCertFile, ca);
    r = await probe(signal);
    assert.equal(r.verdict.kind, "ready", r.verdict.detail);
    assert.equal(server.requests.at(-1)?.token, undefined);

    // The token appears: it is used from the next check on.
    await Deno.writeTextFile(tokenFile, TOKEN + "\n");
    r = await probe(signal);
    assert.equal(r.verdict.kind, "ready");
    assert.equal(server.requests.at(-1)?.token, TOKEN);
    assert.ok(lines.some((l) => l.includes("credentials are readable now")));
    assert.ok(lines.every((l) => !l.includes(TOKEN)));
    probe.close?.();
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("eligibility reasons name the failing checks or the verdict", () => {
  assert.equal(
    verdictReason({
      kind: "not_ready",
      detail: "x",
      status: 500,
      failingChecks: ["etcd", "informer-sync"],
    }),
    "etcd, informer-sync failing",
  );
  assert.equal(
    verdictReason({ kind: "connection_refused", detail: "refused" }),
    "connection refused: refused",
  );
});
