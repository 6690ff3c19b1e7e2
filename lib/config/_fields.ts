/**
 * Every configuration field, once. The validation, the flags, the
 * `HA_VIP_*` environment variables and the README reference are all derived
 * from this table, so the four cannot drift apart.
 */
import { formatDuration } from "./_duration.ts";

/** How a field's text (from a flag or the environment) is read. */
export type FieldKind =
  | "string"
  | "ifname"
  | "integer"
  | "boolean"
  | "duration"
  | "list"
  | "enum"
  | "cidr"
  | "cidr_list"
  | "ip"
  | "url"
  | "hostport";

/** One configuration field. */
export interface FieldSpec {
  /** Dotted path in the YAML file: `health.interval`. */
  path: string;
  /** How its value is read and checked. */
  kind: FieldKind;
  /** Long flag without dashes: `health-interval`. */
  flag: string;
  /** One or two sentences for `--help` and the README reference. */
  description: string;
  /** Default in the form the YAML file would hold; `undefined` = unset. */
  default?: unknown;
  /** Text shown in the reference when the default is computed at start. */
  defaultText?: string;
  /** The allowed values of an `enum`. */
  values?: readonly string[];
  /** Least value (integers; durations in ms; lists: fewest items). */
  min?: number;
  /**
   * Greatest value (integers; durations in ms; lists: most items). Every
   * duration has one: a timer holds at most {@link MAX_TIMER_MS}, and Deno
   * turns a longer delay into 1 ms.
   */
  max?: number;
  /** Secret values are redacted in `check` output, logs and errors. */
  secret?: boolean;
  /** Must be set (no default). */
  required?: boolean;
}

/** The longest delay a timer holds (2³¹−1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The environment variable of a field: `health.interval` -> `HA_VIP_HEALTH_INTERVAL`. */
export function envName(path: string): string {
  return "HA_VIP_" + path.replaceAll(".", "_").toUpperCase();
}

/** Every configuration field: the one table flags, environment, YAML and docs come from. */
export const FIELDS: readonly FieldSpec[] = [
  {
    path: "vip",
    kind: "cidr_list",
    flag: "vip",
    required: true,
    max: 2,
    description:
      "The virtual IP with the subnet's prefix length, e.g. 192.168.1.100/24 (IPv6: fd00::100/64): a free unicast address of the nodes' subnet. Dual stack: one IPv4 and one IPv6 VIP (a YAML list, the flag twice, or comma-separated), moved together.",
  },
  {
    path: "interface",
    kind: "ifname",
    flag: "interface",
    required: true,
    description:
      "The interface that carries the VIP, e.g. eth0 (a Linux name: at most 15 bytes, no '/', ':' or white space).",
  },
  {
    path: "election.mode",
    kind: "enum",
    flag: "mode",
    values: ["vrrp", "lease"],
    default: "vrrp",
    description:
      "vrrp: VRRPv3 between the nodes, needs no API server (bootstrap). lease: a coordination.k8s.io/v1 Lease through the local API server.",
  },
  {
    path: "election.node_name",
    kind: "string",
    flag: "node-name",
    defaultText: "the host name",
    description:
      "This node's name in logs, status and the Lease holder identity.",
  },
  {
    path: "election.vrrp.vrid",
    kind: "integer",
    flag: "vrid",
    min: 1,
    max: 255,
    default: 51,
    description:
      "Virtual router ID, the same on every node of the group and unique on the network segment.",
  },
  {
    path: "election.vrrp.priority",
    kind: "integer",
    flag: "priority",
    min: 1,
    max: 254,
    default: 100,
    description:
      "Higher wins. Give each node a different priority; equal priorities tie-break on the higher address.",
  },
  {
    path: "election.vrrp.advert_interval",
    kind: "duration",
    flag: "advert-interval",
    min: 10,
    max: 40_950,
    default: "1s",
    description:
      "VRRP advertisement interval (VRRPv3 centiseconds: 10ms to 40.95s, multiples of 10ms). Failover after about 3 intervals.",
  },
  {
    path: "election.vrrp.preempt",
    kind: "boolean",
    flag: "preempt",
    default: true,
    description:
      "A healthy node with higher priority takes the VIP back from a lower one.",
  },
  {
    path: "election.vrrp.unicast_peers",
    kind: "list",
    flag: "unicast-peer",
    // A VRRP group is a handful of control-plane nodes; a master sends one
    // packet per peer per advert interval.
    max: 64,
    default: [],
    description:
      "Peers' addresses for unicast VRRP on networks without multicast (flag repeatable, env comma-separated): IPv4 addresses for an IPv4 VIP, link-local IPv6 addresses (fe80::...) for an IPv6 VIP. Empty: multicast 224.0.0.18 / ff02::12.",
  },
  {
    path: "election.vrrp.source_address",
    kind: "list",
    flag: "source-address",
    max: 2,
    default: [],
    defaultText:
      "the interface's first IPv4 address; for IPv6 its first link-local address",
    description:
      "Source address of advertisements (and the tie-break address), one per VIP family; an IPv6 one must be link-local (RFC 5798).",
  },
  {
    path: "election.vrrp.auth.keys",
    kind: "list",
    flag: "auth-key",
    // Rotation needs two; a few more leave room, 255 ids would be absurd.
    max: 8,
    default: [],
    description:
      "Authenticate adverts (keepalived 2.4's auth_hmac, HMAC-SHA256): ID:FILE, a key id 1-255 and a file holding 32-64 key bytes, raw or as hex:<digits> (flag repeatable: several keys for rotation). Authentication is on when at least one key is given. Keep the file mode 0600.",
  },
  {
    path: "election.vrrp.auth.active_key",
    kind: "integer",
    flag: "auth-active-key",
    min: 1,
    max: 255,
    defaultText: "the key, when only one is given",
    description:
      "Id of the key adverts are signed with; required with several keys (every node must know it before any node signs with it).",
  },
  {
    path: "election.vrrp.auth.anti_replay",
    kind: "enum",
    flag: "auth-anti-replay",
    values: ["time", "monotonic"],
    // No default in the table: setting it without a key is an error.
    defaultText: "time",
    description:
      "time: sequences must be within time_window of this node's clock (clocks in sync, e.g. NTP) and grow per sender. monotonic: they must only grow per sender (no clock sync needed; the marks are lost on restart).",
  },
  {
    path: "election.vrrp.auth.time_window",
    kind: "duration",
    flag: "auth-time-window",
    min: 1000,
    max: 300_000,
    defaultText: "max(3 × advert_interval, 5s)",
    description:
      "anti_replay time: how far a sequence's time may be from this node's clock.",
  },
  {
    path: "election.vrrp.auth.mode",
    kind: "enum",
    flag: "auth-mode",
    values: ["enforce", "permissive", "receive-only"],
    // No default in the table: setting it without a key is an error.
    defaultText: "enforce",
    description:
      "enforce: sign, accept only signed adverts. permissive: sign, also accept unsigned ones. receive-only: do not sign, verify signed ones. Turn authentication on hitlessly: receive-only on every node, then permissive, then enforce.",
  },
  {
    path: "election.lease.name",
    kind: "string",
    flag: "lease-name",
    default: "ha-vip",
    description: "Name of the Lease object.",
  },
  {
    path: "election.lease.namespace",
    kind: "string",
    flag: "lease-namespace",
    default: "kube-system",
    description: "Namespace of the Lease object.",
  },
  {
    path: "election.lease.duration",
    kind: "duration",
    flag: "lease-duration",
    min: 1000,
    max: 600_000,
    default: "15s",
    description:
      "How long a Lease holds without renewal before others may take it (leaseDurationSeconds: whole seconds). The holder's VIP lifetime is derived from it: 12s at 15s.",
  },
  {
    path: "election.lease.renew_deadline",
    kind: "duration",
    flag: "lease-renew-deadline",
    min: 1000,
    max: 600_000,
    default: "10s",
    description:
      "The holder gives the VIP up if it could not renew for this long (must be < duration and > 1.2 × retry_period).",
  },
  {
    path: "election.lease.retry_period",
    kind: "duration",
    flag: "lease-retry-period",
    min: 100,
    max: 60_000,
    default: "2s",
    description:
      "Time between renewals; followers try every 1–2.2 × this (client-go's jitter). Must be < renew_deadline / 1.2.",
  },
  {
    path: "health.url",
    kind: "url",
    flag: "health-url",
    defaultText:
      "k8s.api_server (external mode); https://127.0.0.1:6443 (in-cluster mode)",
    description:
      "The local API server to health-check. In-cluster mode never uses the discovered service address: that reaches some API server, not this node's.",
  },
  {
    path: "health.interval",
    kind: "duration",
    flag: "health-interval",
    min: 100,
    max: 600_000,
    default: "2s",
    description: "Time between health checks.",
  },
  {
    path: "health.timeout",
    kind: "duration",
    flag: "health-timeout",
    min: 50,
    max: 60_000,
    default: "1s",
    description:
      "Time limit of one check, TCP connect and /readyz together (must be <= interval).",
  },
  {
    path: "health.stability_window",
    kind: "duration",
    flag: "stability-window",
    min: 0,
    max: 3_600_000,
    default: "5s",
    description:
      "A new verdict (ready / not ready) counts only once it has held this long (anti-flapping).",
  },
  {
    path: "health.tls_server_name",
    kind: "string",
    flag: "tls-server-name",
    default: "kubernetes",
    description:
      "Name the API server certificate is verified against. kubeadm certificates have no 127.0.0.1 SAN but always 'kubernetes'.",
  },
  {
    path: "health.insecure_skip_tls_verify",
    kind: "boolean",
    flag: "insecure-skip-tls-verify",
    default: false,
    description:
      "Do not verify the API server certificate at all (logged as a warning; for labs only).",
  },
  {
    path: "k8s.enabled",
    kind: "boolean",
    flag: "k8s",
    default: true,
    description:
      "Gate the VIP on the API server's /readyz. false: every node counts as healthy (plain VRRP, no API server needed; lease mode needs true).",
  },
  {
    path: "k8s.in_cluster",
    kind: "boolean",
    flag: "in-cluster",
    default: false,
    description:
      "Use the pod's service account (token, ca.crt, namespace) instead of api_server/token/ca_cert, which are then ignored with a warning.",
  },
  {
    path: "k8s.api_server",
    kind: "url",
    flag: "api-server",
    default: "https://127.0.0.1:6443",
    description: "The API server in external mode: this node's local one.",
  },
  {
    path: "k8s.token",
    kind: "string",
    flag: "token",
    secret: true,
    description:
      "Bearer token (external mode). Prefer token_file: a flag is visible in the process list. Optional: /readyz is usually anonymous-readable.",
  },
  {
    path: "k8s.token_file",
    kind: "string",
    flag: "token-file",
    description:
      "File holding the bearer token; re-read when it changes (rotation without restart).",
  },
  {
    path: "k8s.ca_cert",
    kind: "string",
    flag: "ca-cert",
    description:
      "CA certificate file (PEM) for the API server, e.g. /etc/kubernetes/pki/ca.crt.",
  },
  {
    path: "announce.garp_count",
    kind: "integer",
    flag: "garp-count",
    min: 1,
    max: 100,
    default: 3,
    description:
      "Gratuitous ARPs (IPv6: unsolicited neighbour advertisements) sent at once on takeover.",
  },
  {
    path: "announce.garp_interval",
    kind: "duration",
    flag: "garp-interval",
    min: 0,
    max: 10_000,
    default: "100ms",
    description: "Spacing of the takeover burst.",
  },
  {
    path: "announce.refresh_interval",
    kind: "duration",
    flag: "announce-refresh-interval",
    min: 0,
    max: 3_600_000,
    default: "10s",
    description:
      "The holder re-announces the VIP this often (0: only on takeover and conflicts).",
  },
  {
    path: "announce.vip_lifetime",
    kind: "duration",
    flag: "vip-lifetime",
    min: 2000,
    max: 3_600_000,
    defaultText:
      "vrrp: 3 × advert_interval + 1s, rounded up to whole seconds (4s with 1s adverts; 2s at least); lease: the fenced lifetime of election.lease.duration (12s at 15s)",
    description:
      "Valid lifetime of the VIP address: if ha-vip dies or hangs, the kernel removes the VIP by itself. Whole seconds. vrrp: refreshed every second while master; the default ends a crashed node's VIP shortly after a backup has taken over. lease: refreshed only after a successful renewal and always gone before another node may take the lease; a value here can only shorten it.",
  },
  {
    path: "control.socket",
    kind: "string",
    flag: "control-socket",
    default: "/run/ha-vip/control.sock",
    description:
      "The local control channel (ha-vip handoff): a unix socket only root and ha-vip's own user may use (mode 0600, peer credentials checked). off: none. A second ha-vip on the same host needs its own path.",
  },
  {
    path: "process.realtime_priority",
    kind: "integer",
    flag: "realtime-priority",
    min: 0,
    max: 99,
    default: 1,
    description:
      "Realtime (SCHED_RR) priority of every thread of the daemon, so that adverts and VIP refreshes go out on time when other processes saturate the CPUs; 0: normal scheduling. Needs CAP_SYS_NICE: without it the daemon logs one warning and runs at normal priority.",
  },
  {
    path: "observe.log_format",
    kind: "enum",
    flag: "log-format",
    values: ["text", "json"],
    default: "text",
    description: "Log lines as text or one JSON object per line.",
  },
  {
    path: "observe.log_level",
    kind: "enum",
    flag: "log-level",
    values: ["debug", "info", "warn", "error"],
    default: "info",
    description: "Least severe level logged.",
  },
  {
    path: "observe.metrics_address",
    kind: "hostport",
    flag: "metrics-address",
    defaultText: "off",
    description:
      "host:port for /metrics (Prometheus text) and /status (JSON), e.g. 127.0.0.1:9480. There is no authentication: an address beyond loopback (`:9480` binds every interface) is warned about at start.",
  },
];

/** The field at a dotted path, if any. */
export function fieldAt(path: string): FieldSpec | undefined {
  return FIELDS.find((f) => f.path === path);
}

/**
 * The valid range of a number or duration field in words ("from 1s to
 * 10m", "at least 2"), or "" when it has none.
 */
export function describeRange(f: FieldSpec): string {
  const fmt = f.kind === "duration" ? formatDuration : String;
  if (f.min !== undefined && f.max !== undefined) {
    return `from ${fmt(f.min)} to ${fmt(f.max)}`;
  }
  if (f.min !== undefined) return `at least ${fmt(f.min)}`;
  if (f.max !== undefined) return `at most ${fmt(f.max)}`;
  return "";
}
