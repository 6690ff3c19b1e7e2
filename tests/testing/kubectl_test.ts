/**
 * A real kubectl (Debian's `kubernetes-client`, or whatever `kubectl` the
 * machine has) works against the simulated API server: discovery, `apply`
 * (create, then a strategic-merge PATCH) and `get -o yaml`.
 */
import assert from "node:assert/strict";
import {
  discoveryRoutes,
  kubeconfig,
  kubectl,
  leaseRoutes,
  MemoryStore,
  SimApiServer,
  skipUnlessInstalled,
} from "../../testing/mod.ts";

const ignore = skipUnlessInstalled("kubectl against the simulated API server", [
  "kubectl",
]);

Deno.test({
  name:
    "kubectl apply -f lease.yaml creates and then patches; kubectl get lease -o yaml reads it",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ha-vip-kubectl-" });
    const store = new MemoryStore();
    await using server = await SimApiServer.start({
      tokens: { "admin-tok-31f0": { user: "admin", allow: "*" } },
      routes: [leaseRoutes({ store }), discoveryRoutes()],
    });
    try {
      const config = await kubeconfig(dir, server.url, "admin-tok-31f0");
      const manifest = (holder: string) =>
        `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: ha-vip
  namespace: kube-system
spec:
  holderIdentity: ${holder}
  leaseDurationSeconds: 15
  renewTime: "2026-11-30T12:00:00.123456Z"
  leaseTransitions: 0
`;
      await Deno.writeTextFile(`${dir}/lease.yaml`, manifest("cp-9"));
      const created = await kubectl(
        config,
        dir,
        "apply",
        "-f",
        `${dir}/lease.yaml`,
      );
      assert.equal(created.code, 0, created.stderr);
      assert.match(
        created.stdout,
        /lease\.coordination\.k8s\.io\/ha-vip created/,
      );

      const got = await kubectl(
        config,
        dir,
        "get",
        "lease",
        "-n",
        "kube-system",
        "ha-vip",
        "-o",
        "yaml",
      );
      assert.equal(got.code, 0, got.stderr);
      assert.match(got.stdout, /^kind: Lease$/m);
      assert.match(got.stdout, /^ {2}holderIdentity: cp-9$/m);
      assert.match(
        got.stdout,
        /^ {2}renewTime: "2026-11-30T12:00:00\.123456Z"$/m,
      );

      await Deno.writeTextFile(`${dir}/lease.yaml`, manifest("cp-8"));
      const patched = await kubectl(
        config,
        dir,
        "apply",
        "-f",
        `${dir}/lease.yaml`,
      );
      assert.equal(patched.code, 0, patched.stderr);
      assert.match(patched.stdout, /configured/);
      assert.ok(
        server.requests.some((r) => r.method === "PATCH" && r.status === 200),
      );
      const holder = await kubectl(
        config,
        dir,
        "get",
        "lease",
        "-n",
        "kube-system",
        "ha-vip",
        "-o",
        "jsonpath={.spec.holderIdentity}",
      );
      assert.equal(holder.stdout, "cp-8");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
