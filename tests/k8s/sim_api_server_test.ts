/** The simulated API server as a standalone process (as the lab runs it). */

import assert from "node:assert/strict";
import { probeOnce } from "../../lib/health/mod.ts";
import { staticTokenSource } from "../../lib/k8s/mod.ts";
import { withTempDir } from "./_support.ts";

const SCRIPT =
  new URL("../../testing/api_server_main.ts", import.meta.url).pathname;

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text.split("\n")[0];
}

Deno.test("standalone simulated API server: listening line, control endpoint, control file", async () => {
  await withTempDir(async (dir) => {
    const controlFile = `${dir}/control.json`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        SCRIPT,
        "--port",
        "0",
        "--cert-dir",
        `${dir}/pki`,
        "--reader-token",
        "reader-abcdef123456",
        "--anonymous",
        "unauthorized",
        "--control-port",
        "0",
        "--control-file",
        controlFile,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      const info = JSON.parse(await firstLine(child.stdout));
      assert.equal(info.event, "listening");
      assert.match(info.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(info.caCertFile, `${dir}/pki/ca.crt`);
      const probe = (token?: string) =>
        probeOnce({
          url: info.url,
          timeoutMs: 3000,
          tlsServerName: info.tlsServerName,
          caCertFile: info.caCertFile,
          tokenSource: token ? staticTokenSource(token) : undefined,
        });
      assert.equal((await probe("reader-abcdef123456")).verdict.kind, "ready");
      assert.equal((await probe()).verdict.kind, "unauthorized");

      const post = async (path: string) => {
        const res = await fetch(`${info.control}${path}`, { method: "POST" });
        return await res.json();
      };
      assert.deepEqual(
        (await post("/unready?checks=etcd,informer-sync")).failing,
        ["etcd", "informer-sync"],
      );
      const nr = await probe("reader-abcdef123456");
      assert.ok(nr.verdict.kind === "not_ready");
      assert.deepEqual(nr.verdict.failingChecks, ["etcd", "informer-sync"]);
      await post("/ready");

      // The control file (works across network namespaces: a shared filesystem).
      await Deno.writeTextFile(
        controlFile,
        JSON.stringify({ listening: false }),
      );
      let state: { listening?: boolean } = {};
      while (state.listening !== false) {
        await new Promise((r) => setTimeout(r, 20));
        state = await (await fetch(`${info.control}/state`)).json();
      }
      assert.equal(
        (await probe("reader-abcdef123456")).verdict.kind,
        "connection_refused",
      );
      await post("/accept");
      assert.equal((await probe("reader-abcdef123456")).verdict.kind, "ready");

      await post("/shutdown");
      const status = await child.status;
      assert.equal(status.code, 0);
    } finally {
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
  });
});
