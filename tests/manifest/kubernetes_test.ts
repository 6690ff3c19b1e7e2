/**
 * The Kubernetes manifests against the official object schemas (the
 * kubernetes-models package's validators, generated from Kubernetes'
 * OpenAPI), and the properties that make them work: what the static pod
 * mounts and may do, where the DaemonSet runs, what the RBAC grants, and
 * that the container's arguments mean exactly the flags they came from.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { DaemonSet } from "kubernetes-models/apps/v1";
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { Pod, ServiceAccount } from "kubernetes-models/v1";
import { IMAGE } from "../../lib/build/mod.ts";
import { runCli } from "../../testing/mod.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

const MODELS: Record<string, new (o: Obj) => { validate(): void }> = {
  Pod,
  DaemonSet,
  ServiceAccount,
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
};

const FLAGS = [
  "--vip",
  "192.168.1.100/24",
  "--interface",
  "eth0",
  "--priority",
  "150",
  "--unicast-peer",
  "192.168.1.12",
  "--unicast-peer",
  "192.168.1.13",
  "--advert-interval",
  "2s",
];

/** The control channel's folder in a pod (the root file system is read-only). */
const RUN_VOLUME = {
  name: "run",
  emptyDir: { medium: "Memory", sizeLimit: "1Mi" },
};
const RUN_MOUNT = { name: "run", mountPath: "/run/ha-vip" };

/** `ha-vip manifest kind flags`, parsed and validated against the schemas. */
async function objects(kind: string, flags: string[]): Promise<Obj[]> {
  const r = await runCli(["manifest", kind, ...flags]);
  assert.equal(r.status, 0, r.err);
  const docs = parseAllDocuments(r.out).map((d) => d.toJS());
  for (const o of docs) {
    const Model = MODELS[o.kind];
    assert.ok(Model, `unexpected kind ${o.kind}`);
    new Model(o).validate(); // throws with the path of the first violation
  }
  return docs;
}

async function effective(args: string[]): Promise<unknown> {
  const r = await runCli(["check", "--json", ...args]);
  assert.equal(r.status, 0, r.err);
  return JSON.parse(r.out);
}

Deno.test("the schema validators reject what the API server would", () => {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "x" },
    spec: {
      containers: [{
        name: "x",
        securityContext: { capabilities: { add: "NET_ADMIN" } },
      }],
    },
  };
  assert.throws(() => new Pod(pod as Obj).validate(), /capabilities\/add/);
});

Deno.test("static pod: host network, NET_ADMIN and NET_RAW only, the CA file read-only, arguments = the flags", async () => {
  const [pod] = await objects("static-pod", FLAGS);
  assert.equal(pod.metadata.namespace, "kube-system");
  assert.equal(pod.spec.hostNetwork, true);
  assert.equal(pod.spec.serviceAccountName, undefined);
  assert.equal(pod.spec.dnsPolicy, "Default");
  // 4 × 2 s adverts + 10 s for the make-before-break handover.
  assert.equal(pod.spec.terminationGracePeriodSeconds, 18);
  const [c] = pod.spec.containers;
  assert.equal(c.image, IMAGE);
  const [mirrored] = await objects("static-pod", [
    ...FLAGS,
    "--image",
    "registry.internal/ha-vip:v9",
  ]);
  assert.equal(
    mirrored.spec.containers[0].image,
    "registry.internal/ha-vip:v9",
  );
  assert.deepEqual(c.securityContext.capabilities, {
    drop: ["ALL"],
    add: ["NET_ADMIN", "NET_RAW"],
  });
  assert.equal(c.securityContext.runAsNonRoot, true);
  assert.notEqual(c.securityContext.runAsUser, 0);
  assert.equal(c.securityContext.privileged, undefined);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(pod.spec.volumes, [{
    name: "ca-cert",
    hostPath: { path: "/etc/kubernetes/pki/ca.crt", type: "File" },
  }, RUN_VOLUME]);
  assert.deepEqual(c.volumeMounts, [{
    name: "ca-cert",
    mountPath: "/etc/kubernetes/pki/ca.crt",
    readOnly: true,
  }, RUN_MOUNT]);
  // The container's arguments are the flags (plus kubeadm's CA): the
  // configuration they give is the one `check` gives for the flags.
  assert.equal(c.args[0], "run");
  assert.deepEqual(
    await effective(c.args.slice(1)),
    await effective([...FLAGS, "--ca-cert", "/etc/kubernetes/pki/ca.crt"]),
  );
});

Deno.test("static pod: a token file's folder is mounted (created if missing), never /etc/kubernetes/pki", async () => {
  const [pod] = await objects("static-pod", [
    ...FLAGS,
    "--token-file",
    "/etc/ha-vip/token",
    "--ca-cert",
    "/etc/kubernetes/pki/ca.crt",
  ]);
  const paths = pod.spec.volumes.map((v: Obj) => v.hostPath).filter(Boolean);
  assert.deepEqual(paths, [
    { path: "/etc/kubernetes/pki/ca.crt", type: "File" },
    { path: "/etc/ha-vip", type: "DirectoryOrCreate" },
  ]);
  // Only the control channel's in-memory folder is writable.
  assert.deepEqual(
    pod.spec.containers[0].volumeMounts.filter((m: Obj) => !m.readOnly),
    [RUN_MOUNT],
  );
});

Deno.test("static pod and daemonset: the control channel's folder is an in-memory volume (ha-vip handoff by exec); none when off", async () => {
  const [pod] = await objects("static-pod", FLAGS);
  assert.deepEqual(pod.spec.volumes.at(-1), RUN_VOLUME);
  assert.deepEqual(pod.spec.containers[0].volumeMounts.at(-1), RUN_MOUNT);
  const [ds] = await objects("daemonset", FLAGS.slice(0, 4));
  assert.deepEqual(ds.spec.template.spec.volumes, [RUN_VOLUME]);
  assert.deepEqual(ds.spec.template.spec.containers[0].volumeMounts, [
    RUN_MOUNT,
  ]);
  const [moved] = await objects("static-pod", [
    ...FLAGS,
    "--control-socket",
    "/run/ha-vip-2/ctl.sock",
  ]);
  assert.equal(
    moved.spec.containers[0].volumeMounts.at(-1).mountPath,
    "/run/ha-vip-2",
  );
  for (const kind of ["static-pod", "daemonset"]) {
    const [o] = await objects(kind, [
      ...FLAGS.slice(0, 4),
      "--control-socket",
      "off",
    ]);
    const spec = o.spec.template?.spec ?? o.spec;
    assert.ok(
      !(spec.volumes ?? []).some((v: Obj) => v.name === "run"),
      kind,
    );
  }
});

Deno.test("daemonset: control-plane nodes, service account, in-cluster credentials, says it cannot bootstrap", async () => {
  const r = await runCli(["manifest", "daemonset", ...FLAGS.slice(0, 4)]);
  assert.match(r.out, /A DaemonSet cannot serve bootstrap/);
  const [ds] = await objects("daemonset", [
    ...FLAGS.slice(0, 4),
    "--token-file",
    "/etc/ha-vip/token",
  ]);
  const spec = ds.spec.template.spec;
  assert.equal(spec.containers[0].image, IMAGE);
  assert.equal(spec.serviceAccountName, "ha-vip");
  assert.equal(spec.hostNetwork, true);
  assert.deepEqual(spec.nodeSelector, {
    "node-role.kubernetes.io/control-plane": "",
  });
  assert.ok(
    spec.tolerations.some((t: Obj) =>
      t.key === "node-role.kubernetes.io/control-plane" &&
      t.effect === "NoSchedule"
    ),
  );
  assert.deepEqual(
    ds.spec.selector.matchLabels,
    { "app.kubernetes.io/name": "ha-vip" },
  );
  const args: string[] = spec.containers[0].args;
  // Host credentials are replaced by the pod's service account.
  assert.ok(args.includes("--in-cluster"));
  assert.ok(!args.includes("--token-file"));
  const shown = await effective(args.slice(1)) as Obj;
  assert.equal(shown.k8s.in_cluster, true);
  assert.equal(shown.health.url, "https://127.0.0.1:6443");
});

Deno.test("rbac: /readyz for the service account, the configured Lease in its namespace, nothing on nodes", async () => {
  const docs = await objects("rbac", [
    "--lease-name",
    "vip-lock",
    "--lease-namespace",
    "ha-system",
  ]);
  assert.deepEqual(docs.map((d) => d.kind), [
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
  ]);
  const [sa, health, healthBinding, lease, leaseBinding] = docs;
  assert.ok(health.rules[0].nonResourceURLs.includes("/readyz"));
  assert.deepEqual(health.rules[0].verbs, ["get"]);
  assert.ok(
    !JSON.stringify(docs).includes('"nodes"'),
    "ha-vip reads no nodes (the seed guide's role did)",
  );
  for (const b of [healthBinding, leaseBinding]) {
    assert.deepEqual(b.subjects, [{
      kind: "ServiceAccount",
      name: sa.metadata.name,
      namespace: sa.metadata.namespace,
    }]);
  }
  assert.equal(lease.metadata.namespace, "ha-system");
  assert.equal(leaseBinding.metadata.namespace, "ha-system");
  const named = lease.rules.find((r: Obj) => r.resourceNames);
  assert.deepEqual(named, {
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    resourceNames: ["vip-lock"],
    verbs: ["get", "update"],
  });
});

Deno.test("manifest refuses what it cannot carry, with exit 2 and the field: a lease timing fencing refuses as check does, a token, a static pod in-cluster", async () => {
  const lease = [
    "--vip",
    "10.0.0.100/24",
    "--interface",
    "eth0",
    "--mode",
    "lease",
    "--lease-duration",
    "3s",
    "--lease-renew-deadline",
    "2s",
    "--lease-retry-period",
    "1s",
  ];
  const check = await runCli(["check", ...lease]);
  assert.equal(check.status, 2);
  for (
    const kind of ["static-pod", "daemonset", "systemd", "cloud-init", "config"]
  ) {
    const r = await runCli(["manifest", kind, ...lease]);
    assert.equal(r.status, 2, kind);
    assert.equal(r.err, check.err, kind);
    assert.equal(r.out, "", kind);
  }
  const token = await runCli(["manifest", "static-pod", ...FLAGS], {
    HA_VIP_K8S_TOKEN: "abc.def-secret",
  });
  assert.equal(token.status, 2);
  assert.match(token.err, /k8s\.token: a manifest is a file/);
  assert.ok(!token.err.includes("abc.def-secret"));
  const inCluster = await runCli([
    "manifest",
    "static-pod",
    ...FLAGS,
    "--in-cluster",
  ]);
  assert.equal(inCluster.status, 2);
  assert.match(
    inCluster.err,
    /k8s\.in_cluster: a static pod has no service account/,
  );
  const unknown = await runCli(["manifest", "helm-chart", ...FLAGS]);
  assert.equal(unknown.status, 2);
  assert.match(
    unknown.err,
    /Allowed choices are static-pod, daemonset, rbac, systemd, cloud-init, config/,
  );
});
