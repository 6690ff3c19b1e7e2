/**
 * Issue 7 item 14: token and CA files that block (a FIFO; in real life a
 * hung NFS, FUSE or CSI mount) must not wedge a request, a probe or
 * `ha-vip probe`, and must not pile up blocked reads. Issue 7 item 9: an
 * exposed token file gets one WARN per change, with the mode and the fix.
 *
 * The `within` guards only tell a hang from an answer: they are ten times
 * the deadline under test, not speed bounds.
 */

import assert from "node:assert/strict";
import {
  ApiClient,
  CredentialsError,
  externalCredentials,
  type FileReader,
  fileTokenSource,
  isNotExist,
  type Secret,
  TimeoutError,
  type TokenSource,
  unsafeTokenMode,
} from "../../lib/k8s/mod.ts";
import { WatchedFile } from "../../lib/k8s/_watched_file.ts";
import { probeOnce, verdictFromError } from "../../lib/health/mod.ts";
import { runCli, SimApiServer, testPki } from "../../testing/mod.ts";
import { captureLogger, withTempDir } from "./_support.ts";

/** `p`, or a rejection naming `what` when it hangs past `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} hung`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(out.success, "mkfifo failed");
}

/** A file system whose reads hang until released, counting them. */
function hangingFs(text: string) {
  let release: (() => void) | undefined;
  const fs = {
    reads: 0,
    hang: true,
    stat: () =>
      Promise.resolve({
        isFile: true,
        size: text.length,
        mtime: new Date(0),
        ctime: new Date(0),
        dev: 1,
        ino: 1,
        mode: 0o100600,
      } as Deno.FileInfo),
    read(): Promise<string> {
      fs.reads++;
      if (!fs.hang) return Promise.resolve(text);
      return new Promise<string>((resolve) => {
        release = () => resolve(text);
      });
    },
    release() {
      fs.hang = false;
      release?.();
    },
  };
  return fs satisfies FileReader & Record<string, unknown>;
}

let fakeCounter = 0;
const fakePath = () => `/fake/${Deno.pid}/${fakeCounter++}/token`;

Deno.test("a FIFO as token or CA file is refused at once, with a clear reason", async () => {
  await withTempDir(async (dir) => {
    const fifo = `${dir}/token`;
    await mkfifo(fifo);
    const err = await within(
      externalCredentials({
        apiServer: "https://127.0.0.1:6443",
        tokenFile: fifo,
      }).catch((e) => e),
      10_000,
      "loading a FIFO token",
    );
    assert.ok(err instanceof CredentialsError, String(err));
    assert.equal(err.reason, "not_regular");
    assert.equal(err.path, fifo);
    assert.match(err.message, /is a FIFO \(named pipe\); .* regular file/);
    assert.equal(isNotExist(err), false);
    const ca = await within(
      externalCredentials({
        apiServer: "https://127.0.0.1:6443",
        caCertFile: fifo,
      }).catch((e) => e),
      10_000,
      "loading a FIFO CA",
    );
    assert.ok(ca instanceof CredentialsError && ca.reason === "not_regular");
    // A missing file is its own kind: the bootstrap waits for it.
    const missing = await externalCredentials({
      apiServer: "https://127.0.0.1:6443",
      tokenFile: `${dir}/nope`,
    }).catch((e) => e);
    assert.ok(isNotExist(missing, `${dir}/nope`));
    assert.ok(!isNotExist(missing, `${dir}/other`));
  });
});

Deno.test("a token read that hangs times the request out (phase credentials) and is never stacked", async () => {
  const fs = hangingFs("token-from-a-slow-mount");
  const path = fakePath();
  const tokenSource = fileTokenSource(path, { fs, checkMode: false });
  await using sim = await SimApiServer.start({
    plainHttp: true,
    tokens: { "token-from-a-slow-mount": { user: "u", allow: "*" } },
  });
  using client = new ApiClient({
    url: sim.url,
    tokenSource,
    timeoutMs: 100,
  });
  for (let i = 0; i < 3; i++) {
    const err = await within(
      client.request({ method: "GET", path: "/readyz" }).catch((e) => e),
      1000,
      "a request with a hanging token read",
    );
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.phase, "credentials");
    assert.match(err.message, /reading token file \/fake\//);
    const v = verdictFromError(err, "readyz");
    assert.ok(v.kind === "timeout" && v.stage === "credentials");
  }
  assert.equal(fs.reads, 1, "one outstanding read, however many requests");
  assert.equal(sim.requests.length, 0);
  // The read returns at last: the token is used from then on.
  fs.release();
  assert.equal(
    (await client.request({ method: "GET", path: "/readyz" })).status,
    200,
  );
  assert.equal(sim.requests[0].token, "token-from-a-slow-mount");
});

Deno.test("once a token was read, a later hang keeps the previous token and says so once", async () => {
  const fs = hangingFs("token-read-before-the-hang");
  fs.hang = false;
  const path = fakePath();
  const logger = captureLogger();
  let now = 0;
  const src = fileTokenSource(path, {
    fs,
    logger,
    now: () => now,
    checkMode: false,
  });
  assert.equal((await src.token())?.reveal(), "token-read-before-the-hang");
  fs.hang = true;
  // The fake file's mtime is never "well before" the fake clock, so the
  // racy rule refreshes on every call: the next refresh hangs.
  const first = src.token({ signal: AbortSignal.timeout(50) }).catch((e) => e);
  assert.ok((await within(first, 1000, "first token call")) instanceof Error);
  now = 5000;
  for (let i = 0; i < 3; i++) {
    const t = await within(src.token(), 1000, "token while the read hangs");
    assert.equal(t?.reveal(), "token-read-before-the-hang");
  }
  assert.equal(fs.reads, 2, "the stuck refresh is not repeated");
  const warns = logger.lines.filter((l) => l.includes("has not returned"));
  assert.equal(warns.length, 1);
  fs.release();
});

Deno.test("WatchedFile: one outstanding refresh per path, shared by every reader", async () => {
  const fs = hangingFs("ca-bundle");
  const path = fakePath();
  const a = new WatchedFile(path, "CA certificate file", { fs });
  const b = new WatchedFile(path, "CA certificate file", { fs });
  const results = await Promise.allSettled([
    a.read(AbortSignal.timeout(20)),
    b.read(AbortSignal.timeout(20)),
    a.read(AbortSignal.timeout(20)),
  ]);
  assert.ok(results.every((r) => r.status === "rejected"));
  assert.equal(fs.reads, 1);
  fs.release();
  assert.equal((await b.read()).text, "ca-bundle");
});

Deno.test("ha-vip probe with a FIFO token file ends with a usage error, not a hang", async () => {
  const pki = await testPki();
  await using sim = await SimApiServer.start();
  await withTempDir(async (dir) => {
    const fifo = `${dir}/token`;
    await mkfifo(fifo);
    const r = await within(
      runCli([
        "probe",
        "--api-server",
        sim.url,
        "--ca-cert",
        pki.caCertFile,
        "--token-file",
        fifo,
        "--health-timeout",
        "500ms",
      ]),
      10_000,
      "ha-vip probe",
    );
    assert.equal(r.status, 2, r.err);
    assert.match(r.err, /is a FIFO/);
  });
});

Deno.test("a token that hangs during ha-vip probe's own read is a timeout verdict", async () => {
  // The probe helper, given a token source whose read never returns.
  const hanging: TokenSource = {
    configured: true,
    description: "token file /hung/mount/token",
    token: ({ signal } = {}) =>
      new Promise<Secret | undefined>((_, reject) =>
        signal?.addEventListener("abort", () => reject(signal.reason))
      ),
  };
  await using sim = await SimApiServer.start({ plainHttp: true });
  const r = await within(
    probeOnce({ url: sim.url, timeoutMs: 200, tokenSource: hanging }),
    2000,
    "probeOnce",
  );
  assert.ok(r.verdict.kind === "timeout", JSON.stringify(r.verdict));
  assert.equal(r.verdict.stage, "credentials");
  assert.match(r.verdict.detail, /reading token file \/hung\/mount\/token/);
});

Deno.test("token file mode: world-readable or group/other-writable is a WARN with the fix, once per change", async () => {
  assert.equal(unsafeTokenMode(0o600), null);
  assert.equal(unsafeTokenMode(0o640), null);
  assert.equal(unsafeTokenMode(0o644), "readable by every user");
  assert.equal(unsafeTokenMode(0o660), "writable by its group");
  assert.equal(
    unsafeTokenMode(0o666),
    "readable by every user and writable by every user",
  );
  await withTempDir(async (dir) => {
    const path = `${dir}/token`;
    const token = "mode-test-token-4f2a9c";
    await Deno.writeTextFile(path, token, { mode: 0o600 });
    await Deno.chmod(path, 0o644);
    const logger = captureLogger();
    const src = fileTokenSource(path, { logger });
    for (let i = 0; i < 3; i++) await src.token();
    let warns = logger.lines.filter((l) => l.startsWith("warn"));
    assert.equal(warns.length, 1, warns.join("\n"));
    assert.match(warns[0], /readable by every user \(mode 0644\)/);
    assert.ok(warns[0].includes(`chmod 600 ${path}`));
    assert.ok(!warns[0].includes(token));
    // Fixed: no more warnings; exposed again: one more.
    await Deno.chmod(path, 0o600);
    for (let i = 0; i < 3; i++) await src.token();
    await Deno.chmod(path, 0o664);
    for (let i = 0; i < 3; i++) await src.token();
    warns = logger.lines.filter((l) => l.startsWith("warn"));
    assert.equal(warns.length, 2, warns.join("\n"));
    assert.match(warns[1], /readable by every user and writable by its group/);
    // In-cluster tokens (the kubelet's own 0644) are not checked.
    const quiet = captureLogger();
    await fileTokenSource(path, { logger: quiet, checkMode: false }).token();
    assert.equal(quiet.lines.filter((l) => l.startsWith("warn")).length, 0);
  });
});
