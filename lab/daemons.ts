/**
 * The daemons on the lab's nodes: ha-vip (with a simulated API server per
 * node) or keepalived, behind one {@link Driver} the scenario runner uses,
 * plus the single-process helpers the lab tests use to start them by hand
 * ({@link spawnHaVip}, {@link spawnKeepalived}) and to ask the kernel and
 * ha-vip who holds the VIP ({@link kernelHolders}, {@link fetchStatus}).
 *
 * @module
 */

import type { LabHost, LabProcess, Topology } from "./topology.ts";
import { nowMs } from "./topology.ts";
import { hasAddress, type Interval, type VipWatcher } from "./vip_watch.ts";
import {
  daemonLineHandler,
  HA_VIP_INTERESTING,
  KEEPALIVED_INTERESTING,
  type Say,
} from "./narration.ts";
import { fmtS, within } from "./util.ts";

/** Where every lab ha-vip serves /status (each on its namespace's loopback). */
export const STATUS_PORT = 9480;

/** A node of the scenario: the model's view and its processes. */
export interface NodeState {
  host: LabHost;
  priority: number;
  running: boolean;
  ready: boolean;
  /** Its API server process runs. */
  apiUp: boolean;
  /** Its API server reaches the shared store. */
  storeUp: boolean;
  /** Out of the election by `ha-vip handoff` (a restart ends it). */
  steppedOut: boolean;
  linked: boolean;
  /** How it is cut off when not linked. */
  offline: "cut" | "partition" | null;
  linkDown: Interval[];
  daemon?: LabProcess;
  api?: LabProcess;
  watcher?: VipWatcher;
  controlFile: string;
  dir: string;
  /** Resolvers waiting for the API server's control acknowledgement. */
  controlAcks: (() => void)[];
  /**
   * When its API server's /readyz started (`reachable: false`) or stopped
   * failing etcd because the shared store was out of reach.
   */
  storeEvents: { at: number; reachable: boolean }[];
}

/** What an implementation must do on a node. */
export interface Driver {
  /** Whether the daemon gates on the API server (unready moves the VIP). */
  readonly healthGated: boolean;
  prepare(): Promise<void>;
  start(n: NodeState): Promise<void>;
  /** Crashes the daemon; `at` is the moment of the fatal signal. */
  crash(n: NodeState): Promise<{ label: string; at: number }>;
  /** SIGTERM and wait for the exit; `at` is the moment of the SIGTERM. */
  stop(n: NodeState): Promise<{ label: string; at: number }>;
  /** Switches the API server; resolves with the time it took effect. */
  setReady(n: NodeState, ready: boolean): Promise<number>;
  /** Kills (SIGKILL) or starts the node's API server process; resolves with when. */
  setApi(n: NodeState, up: boolean): Promise<number>;
  /** Cuts or restores the node's API server's link to the store; resolves with when. */
  setStore(n: NodeState, connected: boolean): Promise<number>;
  /** `ha-vip handoff ARGS` against the node's daemon (throws if it has none). */
  handoff(n: NodeState, args: string[]): Promise<HandoffResult>;
}

/** What `ha-vip handoff` answered. */
export interface HandoffResult {
  /** Its exit status. */
  code: number;
  /** stdout and stderr, trimmed. */
  out: string;
}

/**
 * `ha-vip handoff ARGS` as an operator runs it on the node (root, the root
 * namespace: the nodes share the file system, and each daemon listens on
 * {@link controlSocketPath} of its directory).
 */
export async function haVipHandoff(
  o: { repoRoot: string; entry?: string; nodeDir: string },
  args: string[],
): Promise<HandoffResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--cached-only",
      "--quiet",
      ...(o.entry === undefined ? [] : ["--no-lock"]),
      o.entry ?? `${o.repoRoot}/main.ts`,
      "handoff",
      "--control-socket",
      controlSocketPath(o.nodeDir),
      ...args,
    ],
    cwd: o.repoRoot,
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  return { code: out.code, out: text.trim() };
}

/** Options of {@link spawnHaVip}. */
export interface HaVipSpawnOptions {
  /** The repository root (where main.ts is). */
  repoRoot: string;
  /** From `cacheForNamespaces`. */
  lockFlag: string;
  /** What `deno run` runs (default `<repoRoot>/main.ts`; e.g. the release bundle). */
  entry?: string;
  /** More `deno run` flags (`--v8-flags=...`). */
  denoFlags?: string[];
  /** The `ha-vip` arguments (`run ...`). */
  args: string[];
  /** Called for every output line. */
  onLine?: (line: string, stream: "out" | "err", atMs: number) => void;
}

/** `ha-vip ARGS` in `host`'s namespace, as `<host>-ha-vip`. */
export function spawnHaVip(
  topo: Topology,
  host: LabHost,
  o: HaVipSpawnOptions,
): LabProcess {
  return topo.spawn(host.netns, `${host.name}-ha-vip`, [
    Deno.execPath(),
    "run",
    "-A",
    "--cached-only",
    ...(o.entry === undefined ? [o.lockFlag] : ["--no-lock"]),
    ...(o.denoFlags ?? []),
    o.entry ?? `${o.repoRoot}/main.ts`,
    ...o.args,
  ], {
    cwd: o.repoRoot,
    onLine: o.onLine,
    // The update check would touch the network (and the memory measured).
    env: { DENO_NO_UPDATE_CHECK: "1" },
  });
}

/** VRRP timers of `ha-vip run` on a lab node. */
export interface HaVipRunOptions {
  priority: number;
  advertIntervalMs: number;
  /** More `ha-vip run` flags. */
  extraArgs?: string[];
}

/** `run` arguments for `host`: the lab VIP on its interface, /status on loopback. */
export function haVipRunArgs(
  topo: Topology,
  host: LabHost,
  o: HaVipRunOptions,
): string[] {
  return [
    "run",
    "--vip",
    topo.vipCidr,
    "--interface",
    host.ifname,
    "--priority",
    String(o.priority),
    "--advert-interval",
    `${o.advertIntervalMs}ms`,
    ...(o.extraArgs ?? []),
  ];
}

/** Files of keepalived on a node. */
function keepalivedFiles(dir: string) {
  return {
    conf: `${dir}/keepalived.conf`,
    pid: `${dir}/keepalived.pid`,
    vrrpPid: `${dir}/vrrp.pid`,
    checkersPid: `${dir}/checkers.pid`,
  };
}

/** Options of {@link spawnKeepalived}. */
export interface KeepalivedOptions {
  priority: number;
  advertIntervalMs: number;
  /** Where its configuration and PID files go. Default `<logDir>/<host>-keepalived`. */
  dir?: string;
  /** Called for every output line. */
  onLine?: (line: string, stream: "out" | "err", atMs: number) => void;
}

/**
 * keepalived on `host` as the lab starts it (`-n -l -D`, VRRPv3, the lab's
 * {@link keepalivedConfig}: VRID 51 and exactly the VIP ha-vip carries).
 * Stop it with `LabProcess.stop()`: SIGTERM to the parent, whose VRRP child
 * then sends priority 0 and removes the VIP.
 */
export async function spawnKeepalived(
  topo: Topology,
  host: LabHost,
  o: KeepalivedOptions,
): Promise<LabProcess> {
  const dir = o.dir ?? `${topo.logDir}/${host.name}-keepalived`;
  await Deno.mkdir(dir, { recursive: true });
  const f = keepalivedFiles(dir);
  await Deno.writeTextFile(
    f.conf,
    keepalivedConfig({
      routerId: host.name,
      ifname: host.ifname,
      priority: o.priority,
      advertIntervalMs: o.advertIntervalMs,
      vipCidr: topo.vipCidr,
    }),
  );
  return topo.spawn(host.netns, `${host.name}-keepalived`, [
    "/usr/sbin/keepalived",
    "-n",
    "-l",
    "-D",
    "-f",
    f.conf,
    "-p",
    f.pid,
    "-r",
    f.vrrpPid,
    "-c",
    f.checkersPid,
  ], { onLine: o.onLine });
}

/** Whether keepalived 2.x is installed where the lab expects it. */
export function haveKeepalived(): boolean {
  try {
    return Deno.statSync("/usr/sbin/keepalived").isFile;
  } catch {
    return false;
  }
}

/** A keepalived 2.2 configuration equivalent to the ha-vip flags. */
export function keepalivedConfig(o: {
  routerId: string;
  ifname: string;
  priority: number;
  advertIntervalMs: number;
  vipCidr: string;
  vrid?: number;
}): string {
  return `# ha-vip lab: the same VRRP group as ha-vip's defaults
global_defs {
  router_id ${o.routerId}
  vrrp_version 3
}

vrrp_instance VI_1 {
  state BACKUP
  interface ${o.ifname}
  virtual_router_id ${o.vrid ?? 51}
  priority ${o.priority}
  advert_int ${o.advertIntervalMs / 1000}
  virtual_ipaddress {
    ${o.vipCidr} dev ${o.ifname}
  }
}
`;
}

/**
 * The nodes whose interface has the VIP right now, from the kernel itself
 * (`ip -j -4 addr` inside each node namespace).
 */
export async function kernelHolders(topo: Topology): Promise<string[]> {
  const out: string[] = [];
  for (const h of topo.nodes) {
    if (await hasAddress(topo, h, topo.vip)) out.push(h.name);
  }
  return out;
}

/**
 * `GET /status` of the ha-vip on `host` (its loopback is only reachable
 * inside the namespace, so a `deno eval` fetches it there). An unreadable
 * answer is `{ error }`.
 */
export async function fetchStatus(
  topo: Topology,
  host: LabHost,
): Promise<Record<string, unknown>> {
  const code =
    `const r = await fetch("http://127.0.0.1:${STATUS_PORT}/status"); console.log(await r.text());`;
  const r = await topo.exec(host.netns, [
    Deno.execPath(),
    "eval",
    "--no-config",
    "--quiet",
    code,
  ], { check: false });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return { error: (r.stderr || r.stdout).trim().slice(0, 500) };
  }
}

/** SIGTERM and wait for the exit (the planned stop of either daemon). */
async function stopDaemon(
  n: NodeState,
): Promise<{ label: string; at: number }> {
  const at = nowMs();
  const st = await n.daemon!.stop(10000);
  return {
    label: `${n.host.name} stopped (SIGTERM; exited ${
      st.signal ? `by ${st.signal}` : `with ${st.code}`
    } after ${fmtS(nowMs() - at)})`,
    at,
  };
}

/** Options of {@link haVipDriver}. */
export interface HaVipDriverOptions {
  /** `election.mode` (default vrrp). */
  election?: "vrrp" | "lease";
  /** Lease mode's timing, ms. */
  lease?: {
    durationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  lockFlag: string;
  advertIntervalMs: number;
  stabilityWindowMs: number;
  healthIntervalMs?: number;
  vipLifetimeMs?: number;
  extraArgs: string[];
  verbose: boolean;
  say: Say;
  /** See `ScenarioOptions.haVipEntry`. */
  entry?: string;
  /** See `ScenarioOptions.denoFlags`. */
  denoFlags?: string[];
  /** See `ScenarioOptions.statusEndpoint` (default true). */
  statusEndpoint?: boolean;
}

/** The lab's full-access token for the simulated API servers (kubectl). */
export const ADMIN_TOKEN_FILE = (topo: Topology): string =>
  `${topo.logDir}/admin-token`;

/** The cluster CA of the lab's simulated API servers. */
export const CA_FILE = (topo: Topology): string => `${topo.logDir}/pki/ca.crt`;

/**
 * A kubeconfig for any node's own API server (`https://127.0.0.1:6443`
 * inside its namespace), with the lab's CA and full-access token; the
 * serving certificate is verified as `kubernetes` (no 127.0.0.1 SAN).
 */
export async function labKubeconfig(topo: Topology): Promise<string> {
  const token = (await Deno.readTextFile(ADMIN_TOKEN_FILE(topo))).trim();
  const path = `${topo.logDir}/kubeconfig`;
  await Deno.writeTextFile(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ${CA_FILE(topo)}
    tls-server-name: kubernetes
users:
- name: admin
  user:
    token: ${token}
contexts:
- name: lab
  context: {cluster: lab, user: admin}
current-context: lab
`,
    { mode: 0o600 },
  );
  return path;
}

/** Where the lab's one API store (its "etcd") listens, in the switch namespace. */
export const STORE_PORT = 2379;

/**
 * Starts the one store every node's simulated API server shares
 * (`testing/api_store_main.ts`), on the bridge's address: a node cut off
 * the switch loses its "etcd" with everything else, as a kube-apiserver
 * on the minority side of a partition does.
 */
export async function startApiStore(
  topo: Topology,
  repoRoot: string,
  lockFlag: string,
): Promise<LabProcess> {
  const listening = Promise.withResolvers<void>();
  const store = topo.spawn(topo.switchNetns, "api-store", [
    Deno.execPath(),
    "run",
    "-A",
    "--cached-only",
    lockFlag,
    `${repoRoot}/testing/api_store_main.ts`,
    ...["--host", topo.switchAddress, "--port", String(STORE_PORT)],
  ], {
    cwd: repoRoot,
    onLine: (line, stream) => {
      if (stream === "out" && line.includes('"event":"listening"')) {
        listening.resolve();
      }
    },
  });
  const exited = store.status.then((st) =>
    `the API store exited (code ${st.code}); see ${store.logFile}`
  );
  const up = await within(
    Promise.race([listening.promise.then(() => null), exited]),
    20000,
    `the API store did not listen within 20 s; see ${store.logFile}`,
  );
  if (up !== null) throw new Error(up);
  return store;
}

/** Starts `n`'s simulated API server (the standalone fixture) and waits until it listens. */
async function startApiServer(
  topo: Topology,
  repoRoot: string,
  n: NodeState,
  o: {
    lockFlag: string;
    pkiDir: string;
    token: string;
    adminToken: string;
    say: Say;
  },
): Promise<void> {
  const say = o.say;
  await Deno.writeTextFile(n.controlFile, "");
  const listening = Promise.withResolvers<void>();
  n.api = topo.spawn(n.host.netns, `${n.host.name}-api-server`, [
    Deno.execPath(),
    "run",
    "-A",
    "--cached-only",
    o.lockFlag,
    `${repoRoot}/testing/api_server_main.ts`,
    ...["--host", "127.0.0.1", "--port", "6443", "--cert-dir", o.pkiDir],
    ...["--node-name", n.host.name, "--node-ip", n.host.address],
    ...["--lease-token", o.token, "--control-port", "-1"],
    // Full access, for kubectl and the lab's own looks at the Lease.
    ...["--token", o.adminToken],
    ...["--control-file", n.controlFile],
    ...["--store-url", `http://${topo.switchAddress}:${STORE_PORT}`],
  ], {
    cwd: repoRoot,
    onLine: (line, stream) => {
      if (stream !== "out") return;
      if (line.includes('"event":"listening"')) listening.resolve();
      if (line.includes('"event":"control"')) {
        for (const r of n.controlAcks.splice(0)) r();
      }
      if (line.includes('"event":"store"')) {
        n.storeEvents.push({
          at: nowMs(),
          reachable: line.includes('"reachable":true'),
        });
        say(
          n.host.name,
          line.includes('"reachable":true')
            ? "API server reaches its store again (etcd check passes)"
            : "API server lost its store: /readyz fails etcd",
        );
      }
    },
  });
  const api = n.api;
  const exited = api.status.then((s) =>
    `${n.host.name}'s API server exited (code ${s.code}); see ${api.logFile}`
  );
  const up = await within(
    Promise.race([listening.promise.then(() => null), exited]),
    20000,
    `${n.host.name}'s API server did not listen within 20 s; see ${api.logFile}`,
  );
  if (up !== null) throw new Error(up);
}

/** The control socket of the ha-vip on a lab node (`ha-vip handoff`). */
export function controlSocketPath(nodeDir: string): string {
  return `${nodeDir}/control.sock`;
}

/** ha-vip's health and status flags on a lab node. */
function haVipHealthArgs(
  n: NodeState,
  o: HaVipDriverOptions,
  files: { caCert: string; tokenFile: string },
): string[] {
  return [
    ...["--api-server", "https://127.0.0.1:6443", "--ca-cert", files.caCert],
    ...["--token-file", files.tokenFile],
    ...["--stability-window", `${o.stabilityWindowMs}ms`],
    ...["--node-name", n.host.name],
    ...(o.statusEndpoint === false
      ? []
      : ["--metrics-address", `127.0.0.1:${STATUS_PORT}`]),
    // The nodes share one file system: each its own control channel.
    ...["--control-socket", controlSocketPath(n.dir)],
    ...(o.healthIntervalMs !== undefined
      ? ["--health-interval", `${o.healthIntervalMs}ms`]
      : []),
    ...(o.vipLifetimeMs !== undefined
      ? ["--vip-lifetime", `${Math.round(o.vipLifetimeMs / 1000)}s`]
      : []),
  ];
}

/** `--mode lease` and its timing, in lease mode. */
function leaseArgs(o: HaVipDriverOptions): string[] {
  if (o.election !== "lease" || !o.lease) return [];
  return [
    ...["--mode", "lease"],
    ...["--lease-duration", `${o.lease.durationMs}ms`],
    ...["--lease-renew-deadline", `${o.lease.renewDeadlineMs}ms`],
    ...["--lease-retry-period", `${o.lease.retryPeriodMs}ms`],
  ];
}

/** ha-vip on every node, each checking its own simulated API server. */
export function haVipDriver(
  topo: Topology,
  repoRoot: string,
  o: HaVipDriverOptions,
): Driver {
  const pkiDir = `${topo.logDir}/pki`;
  const tokenFile = `${topo.logDir}/token`;
  const adminToken = crypto.randomUUID().replaceAll("-", "");
  let token = "";
  let caCert = "";
  return {
    healthGated: true,
    async prepare() {
      // One cluster CA and a kubeadm-shaped serving certificate (no
      // 127.0.0.1 SAN), made once in the root namespace.
      const { loadOrGeneratePki } = await import("../testing/pki.ts");
      const pki = await loadOrGeneratePki(pkiDir);
      caCert = pki.caCertFile;
      token = crypto.randomUUID().replaceAll("-", "");
      await Deno.writeTextFile(tokenFile, token + "\n", { mode: 0o600 });
      await Deno.writeTextFile(ADMIN_TOKEN_FILE(topo), adminToken + "\n", {
        mode: 0o600,
      });
      await startApiStore(topo, repoRoot, o.lockFlag);
    },
    async start(n) {
      if (!n.api?.running) {
        await startApiServer(topo, repoRoot, n, {
          lockFlag: o.lockFlag,
          pkiDir,
          token,
          adminToken,
          say: o.say,
        });
      }
      const args = haVipRunArgs(topo, n.host, {
        priority: n.priority,
        advertIntervalMs: o.advertIntervalMs,
        extraArgs: [
          ...haVipHealthArgs(n, o, { caCert, tokenFile }),
          ...leaseArgs(o),
          ...o.extraArgs,
        ],
      });
      n.daemon = spawnHaVip(topo, n.host, {
        repoRoot,
        lockFlag: o.lockFlag,
        entry: o.entry,
        denoFlags: o.denoFlags,
        args,
        onLine: daemonLineHandler(
          n.host.name,
          o.verbose,
          o.say,
          HA_VIP_INTERESTING,
        ),
      });
    },
    async crash(n) {
      const at = nowMs();
      n.daemon!.kill("SIGKILL");
      await n.daemon!.status;
      return { label: `${n.host.name} crashed (SIGKILL)`, at };
    },
    stop: stopDaemon,
    setReady: (n, ready) => control(n, { failing: ready ? [] : ["etcd"] }),
    async setApi(n, up) {
      if (!up) {
        const at = nowMs();
        n.api?.kill("SIGKILL");
        await n.api?.status;
        return at;
      }
      const at = nowMs();
      await startApiServer(topo, repoRoot, n, {
        lockFlag: o.lockFlag,
        pkiDir,
        token,
        adminToken,
        say: o.say,
      });
      return at;
    },
    setStore: (n, connected) => control(n, { store: connected }),
    handoff: (n, args) =>
      haVipHandoff({ repoRoot, entry: o.entry, nodeDir: n.dir }, args),
  };
}

/** Writes a control command to `n`'s API server; resolves when it applied it. */
async function control(
  n: NodeState,
  command: Record<string, unknown>,
): Promise<number> {
  const ack = new Promise<number>((r) => n.controlAcks.push(() => r(nowMs())));
  await Deno.writeTextFile(n.controlFile, JSON.stringify(command));
  // The server polls its control file every 100 ms and logs each change.
  return await within(
    ack,
    3000,
    `${n.host.name}'s API server ignored its control file`,
  );
}

/**
 * A real crash of keepalived. A plain SIGKILL of the parent is not one: its
 * VRRP child gets SIGTERM (PDEATHSIG) and hands over cleanly. Freeze the
 * parent so it cannot respawn the child, kill the child, then the parent.
 */
async function crashKeepalived(
  topo: Topology,
  n: NodeState,
): Promise<{ label: string; at: number }> {
  const parent = n.daemon!;
  let child: number | null = null;
  try {
    child = Number(
      (await Deno.readTextFile(keepalivedFiles(n.dir).vrrpPid)).trim(),
    ) || null;
  } catch {
    child = null; // no VRRP process (yet): the parent is all there is
  }
  // Both PIDs are checked first so the signals follow each other at once.
  if (child !== null && !await topo.ownsPid(child)) child = null;
  if (!await topo.ownsPid(parent.pid)) {
    throw new Error(`keepalived ${parent.pid} is not in our namespaces`);
  }
  const at = nowMs();
  if (child !== null) {
    Deno.kill(parent.pid, "SIGSTOP");
    Deno.kill(child, "SIGKILL");
  }
  parent.kill("SIGKILL");
  await parent.status;
  return {
    label: `${n.host.name} crashed (SIGKILL of keepalived's VRRP process ${
      child ?? "?"
    }, then of its frozen parent ${parent.pid})`,
    at,
  };
}

/** keepalived on every node (no API server check: no track_script). */
export function keepalivedDriver(
  topo: Topology,
  o: { advertIntervalMs: number; verbose: boolean; say: Say },
): Driver {
  return {
    healthGated: false,
    async prepare() {},
    async start(n) {
      n.daemon = await spawnKeepalived(topo, n.host, {
        priority: n.priority,
        advertIntervalMs: o.advertIntervalMs,
        dir: n.dir,
        onLine: daemonLineHandler(
          n.host.name,
          o.verbose,
          o.say,
          KEEPALIVED_INTERESTING,
        ),
      });
    },
    crash: (n) => crashKeepalived(topo, n),
    stop: stopDaemon,
    setReady() {
      // keepalived has no API server check in this lab (no track_script).
      return Promise.resolve(nowMs());
    },
    // keepalived's nodes run no API server here.
    setApi: () => Promise.resolve(nowMs()),
    setStore: () => Promise.resolve(nowMs()),
    handoff: () =>
      Promise.reject(new Error("keepalived has no planned handoff")),
  };
}
