import assert from "node:assert/strict";
import {
  anonymousTokenSource,
  CredentialsError,
  DEFAULT_SERVICE_ACCOUNT_DIR,
  externalCredentials,
  fileTokenSource,
  inClusterCredentials,
  loadCredentials,
  REDACTED,
  Secret,
  staticTokenSource,
} from "../../lib/k8s/mod.ts";
import { WatchedFile } from "../../lib/k8s/_watched_file.ts";
import {
  allRenderings,
  assertNoSecret,
  captureLogger,
  withTempDir,
} from "./_support.ts";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLXZhbHVl.c2lnbmF0dXJl";

Deno.test("Secret: every rendering is redacted, reveal() gives the value", () => {
  const s = new Secret(TOKEN);
  assert.equal(s.reveal(), TOKEN);
  assert.equal(String(s), REDACTED);
  assert.equal(`${s}`, REDACTED);
  assert.equal(JSON.stringify({ s }), `{"s":"${REDACTED}"}`);
  assertNoSecret(TOKEN, allRenderings(s), "Secret");
  assertNoSecret(
    TOKEN,
    allRenderings({ nested: { deeper: [s] } }),
    "nested Secret",
  );
});

Deno.test("staticTokenSource: trims, validates, never prints the token", async () => {
  const src = staticTokenSource(`  ${TOKEN}\n`);
  assert.equal(src.configured, true);
  assert.equal(src.description, "static token");
  assert.equal((await src.token())?.reveal(), TOKEN);
  assertNoSecret(TOKEN, allRenderings(src), "static token source");
  const bad = "abc def-not-a-header-value";
  assert.throws(
    () => staticTokenSource(bad),
    (err: Error) =>
      err instanceof CredentialsError && !err.message.includes("abc") &&
      /position 3/.test(err.message),
  );
  assert.throws(() => staticTokenSource("   "), CredentialsError);
});

Deno.test("anonymousTokenSource: no token", async () => {
  const src = anonymousTokenSource();
  assert.equal(src.configured, false);
  assert.equal(await src.token(), undefined);
});

Deno.test("fileTokenSource: a rewritten file is used on the next call (same size too)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/token`;
    const seen: string[] = [];
    const logger = captureLogger();
    const src = fileTokenSource(path, {
      logger,
      onSecret: (v) => seen.push(v),
    });
    await Deno.writeTextFile(path, "token-aaaa-1111\n");
    assert.equal((await src.token())?.reveal(), "token-aaaa-1111");
    assert.equal((await src.token())?.reveal(), "token-aaaa-1111");
    // Same length, written at once: timestamps alone could miss it.
    await Deno.writeTextFile(path, "token-bbbb-2222\n");
    assert.equal((await src.token())?.reveal(), "token-bbbb-2222");
    // Atomic replace (the kubelet's way): a new inode.
    await Deno.writeTextFile(`${dir}/token.new`, "token-cccc-3333-longer");
    await Deno.rename(`${dir}/token.new`, path);
    assert.equal((await src.token())?.reveal(), "token-cccc-3333-longer");
    assert.deepEqual(seen, [
      "token-aaaa-1111",
      "token-bbbb-2222",
      "token-cccc-3333-longer",
    ]);
    assert.ok(logger.lines.some((l) => l.includes("token file changed")));
    assertNoSecret("token-", logger.lines, "rotation logs");
    assertNoSecret("token-", allRenderings(src), "file token source");
  });
});

Deno.test("fileTokenSource: missing file is an error; later trouble keeps the last token", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/token`;
    const logger = captureLogger();
    const src = fileTokenSource(path, { logger });
    await assert.rejects(
      () => src.token(),
      (err: Error) =>
        err instanceof CredentialsError && err.message.includes(path),
    );
    await Deno.writeTextFile(path, TOKEN, { mode: 0o600 });
    assert.equal((await src.token())?.reveal(), TOKEN);
    await Deno.remove(path);
    assert.equal((await src.token())?.reveal(), TOKEN);
    assert.equal((await src.token())?.reveal(), TOKEN);
    assert.equal(
      logger.lines.filter((l) => l.startsWith("warn")).length,
      1,
      "warned once",
    );
    await Deno.writeTextFile(path, ""); // mid-rotation: empty
    assert.equal((await src.token())?.reveal(), TOKEN);
    await Deno.writeTextFile(path, "bad token with spaces");
    assert.equal((await src.token())?.reveal(), TOKEN);
    await Deno.writeTextFile(path, "good-again");
    assert.equal((await src.token())?.reveal(), "good-again");
    assertNoSecret(TOKEN, logger.lines, "logs");
    assertNoSecret("bad token", logger.lines, "logs");
  });
});

Deno.test("WatchedFile: a settled file is served from cache; a changed one is re-read", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/f`;
    await Deno.writeTextFile(path, "one");
    const old = new Date(Date.now() - 60_000);
    await Deno.utime(path, old, old);
    const f = new WatchedFile(path);
    const text = async () => {
      const r = await f.read();
      return { text: r.text, changed: r.changed, stale: r.stale };
    };
    assert.deepEqual(await text(), {
      text: "one",
      changed: false,
      stale: false,
    });
    assert.deepEqual(await text(), {
      text: "one",
      changed: false,
      stale: false,
    });
    await Deno.writeTextFile(path, "two");
    assert.deepEqual(await text(), {
      text: "two",
      changed: true,
      stale: false,
    });
  });
});

async function fakeServiceAccount(
  dir: string,
  opts: { ca?: boolean; namespace?: boolean } = {},
) {
  await Deno.writeTextFile(`${dir}/token`, `${TOKEN}\n`);
  if (opts.ca !== false) {
    await Deno.writeTextFile(
      `${dir}/ca.crt`,
      "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    );
  }
  if (opts.namespace !== false) {
    await Deno.writeTextFile(`${dir}/namespace`, "kube-system");
  }
}

Deno.test("inClusterCredentials: env address, service-account token/CA/namespace", async () => {
  await withTempDir(async (dir) => {
    await fakeServiceAccount(dir);
    const env = {
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
    } as Record<string, string>;
    const creds = await inClusterCredentials({
      serviceAccountDir: dir,
      env: (n) => env[n],
    });
    assert.equal(creds.mode, "in_cluster");
    assert.equal(creds.apiServer, "https://10.96.0.1:443");
    assert.equal(creds.caCertFile, `${dir}/ca.crt`);
    assert.equal(creds.namespace, "kube-system");
    assert.equal(creds.tokenSource.description, `token file ${dir}/token`);
    assert.equal((await creds.tokenSource.token())?.reveal(), TOKEN);
    assertNoSecret(TOKEN, allRenderings(creds), "in-cluster credentials");

    // The kubelet rotates the projected token: picked up without a restart.
    await Deno.writeTextFile(`${dir}/token`, "rotated-token-value");
    assert.equal(
      (await creds.tokenSource.token())?.reveal(),
      "rotated-token-value",
    );

    const v6 = {
      KUBERNETES_SERVICE_HOST: "fd00::1",
      KUBERNETES_SERVICE_PORT: "6443",
    } as Record<string, string>;
    const c6 = await loadCredentials({
      inCluster: true,
      serviceAccountDir: dir,
      env: (n) => v6[n],
    });
    assert.equal(c6.apiServer, "https://[fd00::1]:6443");
  });
});

Deno.test("inClusterCredentials: clear errors outside a pod or without files", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      () =>
        inClusterCredentials({ serviceAccountDir: dir, env: () => undefined }),
      (err: Error) =>
        err instanceof CredentialsError &&
        /KUBERNETES_SERVICE_HOST/.test(err.message),
    );
    const env = {
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "https",
    } as Record<string, string>;
    await assert.rejects(
      () =>
        inClusterCredentials({ serviceAccountDir: dir, env: (n) => env[n] }),
      /not a port/,
    );
    env.KUBERNETES_SERVICE_PORT = "443";
    await assert.rejects(
      () =>
        inClusterCredentials({ serviceAccountDir: dir, env: (n) => env[n] }),
      /ca\.crt/,
    );
    await fakeServiceAccount(dir, { namespace: false });
    const creds = await inClusterCredentials({
      serviceAccountDir: dir,
      env: (n) => env[n],
    });
    assert.equal(creds.namespace, undefined);
  });
  assert.equal(
    DEFAULT_SERVICE_ACCOUNT_DIR,
    "/var/run/secrets/kubernetes.io/serviceaccount",
  );
});

Deno.test("externalCredentials: modes, validation, no token in output", async () => {
  await withTempDir(async (dir) => {
    const anon = await externalCredentials({
      apiServer: "https://127.0.0.1:6443",
    });
    assert.equal(anon.tokenSource.configured, false);
    const stat = await externalCredentials({
      apiServer: "https://127.0.0.1:6443",
      token: TOKEN,
    });
    assert.equal((await stat.tokenSource.token())?.reveal(), TOKEN);
    assertNoSecret(TOKEN, allRenderings(stat), "external credentials");
    await assert.rejects(
      () =>
        externalCredentials({
          apiServer: "https://x:1",
          token: TOKEN,
          tokenFile: `${dir}/t`,
        }),
      /both set/,
    );
    await assert.rejects(
      () => externalCredentials({ apiServer: "127.0.0.1:6443" }),
      CredentialsError,
    );
    await assert.rejects(
      () => externalCredentials({ apiServer: "ftp://x" }),
      /https/,
    );
    await assert.rejects(
      () =>
        externalCredentials({
          apiServer: "https://x:1",
          tokenFile: `${dir}/missing`,
        }),
      (err: Error) =>
        err instanceof CredentialsError &&
        err.message.includes(`${dir}/missing`),
    );
    await assert.rejects(
      () =>
        externalCredentials({
          apiServer: "https://x:1",
          caCertFile: `${dir}/nope.crt`,
        }),
      /nope\.crt/,
    );
    await assert.rejects(() => loadCredentials({}), /api_server is required/);
    await assert.rejects(
      () =>
        externalCredentials({
          apiServer: "https://x:1",
          token: `${TOKEN} trailing`,
        }),
      (err: Error) => !err.message.includes(TOKEN),
    );
  });
});
