/**
 * Kubernetes objects: the static pod, the DaemonSet and the RBAC, built as
 * plain objects from the configuration (validated against the official
 * schemas in tests/manifest/kubernetes_test.ts).
 */
// Types only (erased from the program): the official object shapes, so that
// a misspelt or misplaced field fails the type check.
import type { IDaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import type { IClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import type { IClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import type { IRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import type { IRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import type { ISubject } from "kubernetes-models/rbac.authorization.k8s.io/v1/Subject";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPod } from "kubernetes-models/v1/Pod";
import type { IServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import type { IVolume } from "kubernetes-models/v1/Volume";
import type { IVolumeMount } from "kubernetes-models/v1/VolumeMount";
import type { Config } from "../config/mod.ts";
import { VERSION } from "../build/mod.ts";
import { ManifestError } from "./_errors.ts";
import { type Setting, settingsAsFlags } from "./_settings.ts";
import { stopTimeoutSeconds } from "./_systemd.ts";

/** The namespace and names of ha-vip's objects. */
export const K8S_NAMES = {
  namespace: "kube-system",
  name: "ha-vip",
  healthRole: "ha-vip-health",
  leaseRole: "ha-vip-lease",
} as const;

/** The image's non-root user (distroless "nonroot"). */
export const IMAGE_UID = 65532;

/** A Kubernetes object ha-vip generates. */
export type K8sObject =
  | IPod
  | IDaemonSet
  | IServiceAccount
  | IClusterRole
  | IClusterRoleBinding
  | IRole
  | IRoleBinding;

const labels = {
  "app.kubernetes.io/name": "ha-vip",
  "app.kubernetes.io/version": VERSION,
};

/**
 * The container: `ha-vip run` with the operator's flags, as the image's
 * non-root user. The image's binary carries the file capabilities
 * cap_net_admin and cap_net_raw (Kubernetes has no ambient capabilities).
 * The exec grants them because `add` puts them in the container's bounding
 * set, and, under no_new_privs (allowPrivilegeEscalation: false), only
 * because the runtime (runc) hands the added capabilities over in the
 * permitted set: with no_new_privs the kernel grants a file capability
 * only if the process already had it. tests/manifest/unit_sandbox_test.ts
 * checks both. A runtime that did not would make ha-vip fail at once with
 * EPERM naming CAP_NET_ADMIN, never half-work.
 */
function container(
  image: string,
  args: string[],
  volumeMounts: IVolumeMount[],
): IContainer {
  return {
    name: "ha-vip",
    image,
    imagePullPolicy: "IfNotPresent",
    args: ["run", ...args],
    securityContext: {
      runAsUser: IMAGE_UID,
      runAsGroup: IMAGE_UID,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"], add: ["NET_ADMIN", "NET_RAW"] },
    },
    resources: { requests: { cpu: "20m", memory: "96Mi" } },
    ...(volumeMounts.length > 0 ? { volumeMounts } : {}),
  };
}

function parent(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/**
 * The control channel's folder (`/run/ha-vip`) as a small in-memory
 * volume: the root file system is read-only, and without it `ha-vip
 * handoff` could not reach the daemon. Run it in the pod (`kubectl exec`,
 * or `crictl exec` while the API server is down): the exec'd process is
 * the image's user, whom the daemon serves. Nothing without the channel.
 */
function controlVolume(
  config: Config,
): { volumes: IVolume[]; mounts: IVolumeMount[] } {
  if (config.control.socket === "off") return { volumes: [], mounts: [] };
  return {
    volumes: [{
      name: "run",
      emptyDir: { medium: "Memory", sizeLimit: "1Mi" },
    }],
    mounts: [{ name: "run", mountPath: parent(config.control.socket) }],
  };
}

/** The static pod for /etc/kubernetes/manifests/ha-vip.yaml. */
export function staticPod(
  config: Config,
  settings: Setting[],
  image: string,
): IPod {
  if (config.k8s.in_cluster) {
    throw new ManifestError("static-pod", [{
      path: "k8s.in_cluster",
      message:
        "a static pod has no service account (the kubelet runs it without the API server); leave in_cluster off: the pod checks its node's API server with the cluster CA and, by default, anonymously",
    }]);
  }
  const volumes: IVolume[] = [];
  const mounts: IVolumeMount[] = [];
  if (config.k8s.enabled && config.k8s.ca_cert !== undefined) {
    // The CA alone, not /etc/kubernetes/pki (which holds the private keys).
    // kubeadm writes it (phase "certs") before it starts the kubelet, so
    // type File never holds the pod back during kubeadm init.
    volumes.push({
      name: "ca-cert",
      hostPath: { path: config.k8s.ca_cert, type: "File" },
    });
    mounts.push({
      name: "ca-cert",
      mountPath: config.k8s.ca_cert,
      readOnly: true,
    });
  }
  if (config.k8s.enabled && config.k8s.token_file !== undefined) {
    // The token's folder, created empty if need be: the token usually comes
    // after the cluster (kubectl create token), and ha-vip probes
    // anonymously until the file appears, then re-reads it on rotation.
    const dir = parent(config.k8s.token_file);
    volumes.push({
      name: "token",
      hostPath: { path: dir, type: "DirectoryOrCreate" },
    });
    mounts.push({ name: "token", mountPath: dir, readOnly: true });
  }
  const control = controlVolume(config);
  volumes.push(...control.volumes);
  mounts.push(...control.mounts);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: K8S_NAMES.name, namespace: K8S_NAMES.namespace, labels },
    spec: {
      hostNetwork: true,
      // The node's resolver: cluster DNS may not exist yet, and ha-vip must not
      // depend on it (it resolves nothing by default: every address is an IP).
      dnsPolicy: "Default",
      priorityClassName: "system-node-critical",
      terminationGracePeriodSeconds: stopTimeoutSeconds(config),
      containers: [container(image, settingsAsFlags(settings), mounts)],
      ...(volumes.length > 0 ? { volumes } : {}),
    },
  };
}

/** The DaemonSet on control-plane nodes, with the service account's credentials. */
export function daemonSet(
  config: Config,
  settings: Setting[],
  image: string,
): IDaemonSet {
  // In-cluster credentials, whatever was given for a host: the external
  // ones would name files the pod does not have.
  const external = new Set([
    "k8s.in_cluster",
    "k8s.api_server",
    "k8s.token",
    "k8s.token_file",
    "k8s.ca_cert",
  ]);
  const args = settingsAsFlags(
    settings.filter((s) => !external.has(s.field.path)),
  );
  if (config.k8s.enabled) args.push("--in-cluster");
  const selector = { "app.kubernetes.io/name": "ha-vip" };
  const control = controlVolume(config);
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: K8S_NAMES.name, namespace: K8S_NAMES.namespace, labels },
    spec: {
      selector: { matchLabels: selector },
      updateStrategy: {
        type: "RollingUpdate",
        rollingUpdate: { maxUnavailable: 1 },
      },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: K8S_NAMES.name,
          automountServiceAccountToken: config.k8s.enabled,
          hostNetwork: true,
          dnsPolicy: "Default",
          priorityClassName: "system-node-critical",
          terminationGracePeriodSeconds: stopTimeoutSeconds(config),
          nodeSelector: { "node-role.kubernetes.io/control-plane": "" },
          tolerations: [
            {
              key: "node-role.kubernetes.io/control-plane",
              operator: "Exists",
              effect: "NoSchedule",
            },
            {
              key: "node-role.kubernetes.io/master",
              operator: "Exists",
              effect: "NoSchedule",
            },
          ],
          containers: [container(image, args, control.mounts)],
          ...(control.volumes.length > 0 ? { volumes: control.volumes } : {}),
        },
      },
    },
  };
}

/**
 * What ha-vip may do in the API: `get` on the health endpoints (the
 * service account's own grant, for clusters without anonymous /readyz) and
 * the Lease of lease mode, in its namespace only (`create` cannot be
 * limited to a name; `get`/`update` are). Unlike the seed guide's role, no
 * access to nodes: ha-vip never reads them.
 */
export function rbac(
  config: Config,
): [IServiceAccount, IClusterRole, IClusterRoleBinding, IRole, IRoleBinding] {
  const sa: ISubject = {
    kind: "ServiceAccount",
    name: K8S_NAMES.name,
    namespace: K8S_NAMES.namespace,
  };
  const lease = config.election.lease;
  return [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name: K8S_NAMES.name,
        namespace: K8S_NAMES.namespace,
        labels,
      },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: K8S_NAMES.healthRole, labels },
      rules: [{
        nonResourceURLs: [
          "/readyz",
          "/readyz/*",
          "/livez",
          "/livez/*",
          "/healthz",
        ],
        verbs: ["get"],
      }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: K8S_NAMES.healthRole, labels },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: K8S_NAMES.healthRole,
      },
      subjects: [sa],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: {
        name: K8S_NAMES.leaseRole,
        namespace: lease.namespace,
        labels,
      },
      rules: [
        {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          verbs: ["create"],
        },
        {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          resourceNames: [lease.name],
          verbs: ["get", "update"],
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: {
        name: K8S_NAMES.leaseRole,
        namespace: lease.namespace,
        labels,
      },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: K8S_NAMES.leaseRole,
      },
      subjects: [sa],
    },
  ];
}
