/**
 * The lab's setup in small: one store process, two standalone API servers
 * sharing it, the ha-vip token limited to get/create/update on Leases, and
 * one server cut from the store by its control file.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../testing/", import.meta.url).pathname;
const PATH = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";

async function spawn(script: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}${script}`, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  // Keep draining so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return { child, info: JSON.parse(text.split("\n")[0]) };
}

async function stop(child: Deno.ChildProcess) {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  await child.status;
}

Deno.test("standalone: a shared store, the lease token's verbs, a server cut from the store", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ha-vip-store-" });
  const store = await spawn("api_store_main.ts", ["--port", "0"]);
  const servers: Awaited<ReturnType<typeof spawn>>[] = [];
  try {
    for (const name of ["a", "b"]) {
      servers.push(
        await spawn("api_server_main.ts", [
          "--port",
          "0",
          "--plain-http",
          "--store-url",
          store.info.url,
          "--lease-token",
          "lease-tok-5d2e",
          "--control-port",
          "-1",
          "--control-file",
          `${dir}/${name}.json`,
          "--store-fail-ms",
          "50",
          "--store-unready-ms",
          "100",
        ]),
      );
    }
    const [a, b] = servers.map((s) => s.info.url as string);
    const call = async (
      base: string,
      method: string,
      path: string,
      body?: unknown,
    ) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: "Bearer lease-tok-5d2e",
          "content-type": "application/json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    const lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "ha-vip", namespace: "kube-system" },
      spec: { holderIdentity: "cp-1", leaseDurationSeconds: 15 },
    };
    assert.equal((await call(a, "POST", PATH, lease)).status, 201);
    assert.equal(
      (await call(b, "GET", `${PATH}/ha-vip`)).body.spec.holderIdentity,
      "cp-1",
    );
    // RBAC of `ha-vip manifest rbac`: no delete.
    const del = await call(b, "DELETE", `${PATH}/ha-vip`);
    assert.equal(del.status, 403);
    assert.match(del.body.message, /cannot delete resource "leases"/);

    // a loses its store: its writes fail, its /readyz fails etcd; b is fine.
    await Deno.writeTextFile(`${dir}/a.json`, JSON.stringify({ store: false }));
    let ready = 200;
    while (ready === 200) {
      await new Promise((r) => setTimeout(r, 20));
      const res = await fetch(`${a}/readyz?verbose`);
      const text = await res.text();
      ready = res.status;
      if (ready !== 200) assert.match(text, /\[-\]etcd failed/);
    }
    assert.equal((await call(a, "PUT", `${PATH}/ha-vip`, lease)).status, 500);
    assert.equal((await call(b, "PUT", `${PATH}/ha-vip`, lease)).status, 200);
    assert.equal((await fetch(`${b}/readyz`)).status, 200);
    await Deno.writeTextFile(`${dir}/a.json`, JSON.stringify({ store: true }));
    while ((await fetch(`${a}/readyz`)).status !== 200) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await call(a, "GET", `${PATH}/ha-vip`)).status, 200);
  } finally {
    for (const s of servers) await stop(s.child);
    await stop(store.child);
    await Deno.remove(dir, { recursive: true });
  }
});
