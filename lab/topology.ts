/**
 * The lab's network: one machine, several network namespaces.
 *
 * ```
 *   <prefix>-n1 (node1: eth0 10.254.S.11) ──┐
 *   <prefix>-n2 (node2: eth0 10.254.S.12) ──┤  <prefix>-sw: bridge <prefix>br
 *   <prefix>-n3 (node3: eth0 10.254.S.13) ──┤  (one veth port per host)
 *   <prefix>-c  (client: eth0 10.254.S.2) ──┘   bridge address 10.254.S.3:
 *   VIP 10.254.S.100/24                             the shared API store
 * ```
 *
 * With `family: 6` every host also has fd00:254:S::<octet>/64 and the VIP
 * is fd00:254:S::100/64 (VRRP then runs over IPv6 from each node's
 * link-local address; duplicate address detection is off in the lab, so
 * every address is usable at once).
 *
 * The bridge lives in its own "switch" namespace, so the root namespace is
 * never touched: every link is created inside a namespace of ours, and the
 * subnet exists only in them. Processes started here are tracked by PID and
 * their output goes, line by line and time-stamped, to one log file each.
 * A host can be cut off in two ways: {@link Topology.cutLink} (its port
 * down: the host sees carrier loss) and {@link Topology.partitionLink}
 * (its bridge port disabled: carrier stays, the host just hears nobody).
 * `teardown()` kills them all (and anything else left inside our
 * namespaces) and deletes the namespaces; it is idempotent and also runs on
 * SIGINT, SIGTERM and unload.
 *
 * Needs root (CAP_SYS_ADMIN for `ip netns`, CAP_NET_ADMIN for links).
 *
 * @module
 */

/** Options of {@link createTopology}. */
export interface TopologyOptions {
  /** Number of node namespaces (1-9). Default 3. */
  nodes?: number;
  /**
   * Unique prefix of every namespace and switch-side link. Default
   * `hvl<pid>`. At most 11 characters, so that link names fit IFNAMSIZ.
   */
  prefix?: string;
  /** Third octet of the lab subnet 10.254.X.0/24. Default random 1-254. */
  subnetOctet?: number;
  /** Directory for per-process logs. Default: a new temp dir. */
  logDir?: string;
  /** Remove the log dir on teardown. Default: only if we created it. */
  removeLogDir?: boolean;
  /** Tear down on SIGINT/SIGTERM (then exit 130/143). Default true. */
  handleSignals?: boolean;
  /** The VIP's family: 4 (default) or 6 (IPv6 addresses on every host). */
  family?: 4 | 6;
}

/** One namespace attached to the switch. */
export interface LabHost {
  /** `node1`, `node2`, ... or `client`. */
  name: string;
  /** Its network namespace. */
  netns: string;
  /** The interface inside the namespace (always `eth0`). */
  ifname: string;
  /** Its IPv4 address on the lab subnet. */
  address: string;
  /** Its IPv6 address on the lab subnet (used with `family: 6`). */
  address6: string;
  /** Its link-local address (EUI-64 of its MAC): its IPv6 VRRP source. */
  linkLocal: string;
  /** The MAC address of its `eth0` (fixed, so logs are readable). */
  mac: string;
  /**
   * The switch-side veth (in the switch namespace): down = cable cut
   * (carrier loss); bridge port disabled = partition (carrier stays).
   */
  port: string;
}

/** Result of {@link Topology.exec}. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link Topology.spawn}. */
export interface SpawnOptions {
  /** Extra environment variables (the rest is inherited). */
  env?: Record<string, string>;
  /** Working directory (default: ours). */
  cwd?: string;
  /** Called for every complete output line (after it is logged). */
  onLine?: (line: string, stream: "out" | "err", atMs: number) => void;
  /**
   * Keep stdin open as a pipe we never write: the child sees EOF when the
   * lab dies, which the prober uses to stop by itself. Default false.
   */
  stdinPipe?: boolean;
}

/** Thrown when a lab command fails; carries the command and its stderr. */
export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabError";
  }
}

const IP = "ip";
const RUNNING_MARKER = ".lab-running";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Epoch milliseconds with sub-millisecond precision. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A process started by the lab, tracked by PID. */
export class LabProcess {
  /** Name used in logs (`node1/ha-vip`). */
  readonly name: string;
  /** Namespace it runs in (null: the root namespace). */
  readonly netns: string | null;
  /** Its PID (`ip netns exec` execs in place, so this is the real program). */
  readonly pid: number;
  /** Its log file. */
  readonly logFile: string;
  /** Resolves when it has exited and its output is fully logged. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Epoch ms when it was started. */
  readonly startedAt: number;
  #child: Deno.ChildProcess;
  #exited = false;

  constructor(options: {
    name: string;
    netns: string | null;
    child: Deno.ChildProcess;
    logFile: string;
    drained: Promise<void>;
  }) {
    this.name = options.name;
    this.netns = options.netns;
    this.#child = options.child;
    this.pid = options.child.pid;
    this.logFile = options.logFile;
    this.startedAt = nowMs();
    const child = options.child;
    this.status = (async () => {
      const st = await child.status;
      this.#exited = true;
      await options.drained;
      return st;
    })();
  }

  /** True until the process has exited (and been reaped). */
  get running(): boolean {
    return !this.#exited;
  }

  /**
   * Sends `signal` if still running. Returns false if it had already exited.
   * Only ever this PID: never a name or a group.
   */
  kill(signal: Deno.Signal = "SIGTERM"): boolean {
    if (this.#exited) return false;
    try {
      this.#child.kill(signal);
      return true;
    } catch {
      return false; // exited between the check and the kill
    }
  }

  /**
   * SIGTERM, then SIGKILL if it is still running after `graceMs`. Resolves
   * with its exit status.
   */
  async stop(graceMs = 5000): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    try {
      return await this.status;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Active topologies, for the signal and unload handlers. */
const active = new Set<Topology>();
let signalsInstalled = false;
let unloadInstalled = false;

function onSignal(signal: "SIGINT" | "SIGTERM"): void {
  for (const t of [...active]) {
    t.markSignalled();
    t.teardownSync();
  }
  Deno.exit(signal === "SIGINT" ? 130 : 143);
}
const onSigint = () => onSignal("SIGINT");
const onSigterm = () => onSignal("SIGTERM");
function onUnload(): void {
  for (const t of [...active]) {
    t.markSignalled();
    t.teardownSync();
  }
}

function installHandlers(signals: boolean): void {
  if (!unloadInstalled) {
    globalThis.addEventListener("unload", onUnload);
    unloadInstalled = true;
  }
  if (signals && !signalsInstalled) {
    Deno.addSignalListener("SIGINT", onSigint);
    Deno.addSignalListener("SIGTERM", onSigterm);
    signalsInstalled = true;
  }
}

function removeHandlersIfIdle(): void {
  if (active.size > 0) return;
  if (signalsInstalled) {
    Deno.removeSignalListener("SIGINT", onSigint);
    Deno.removeSignalListener("SIGTERM", onSigterm);
    signalsInstalled = false;
  }
  if (unloadInstalled) {
    globalThis.removeEventListener("unload", onUnload);
    unloadInstalled = false;
  }
}

/** Fixed, readable MACs: 02:6c:61:62 ("lab", locally administered) + host. */
function macFor(hostOctet: number): string {
  return `02:6c:61:62:00:${hostOctet.toString(16).padStart(2, "0")}`;
}

/** The kernel's EUI-64 link-local address for `mac` (RFC 4291 App. A). */
export function linkLocalFor(mac: string): string {
  const b = mac.split(":").map((x) => parseInt(x, 16));
  b[0] ^= 0x02;
  const words = [
    (b[0] << 8) | b[1],
    (b[2] << 8) | 0xff,
    (0xfe << 8) | b[3],
    (b[4] << 8) | b[5],
  ];
  return `fe80::${words.map((w) => w.toString(16)).join(":")}`;
}

/** A created lab network; see the module docs. */
export class Topology {
  /** Prefix of every namespace and switch-side link. */
  readonly prefix: string;
  /** `10.254.X` (no trailing dot). */
  readonly subnet: string;
  /** Prefix length of the lab subnet. */
  readonly prefixLength = 24;
  /** The VIP's family. */
  readonly family: 4 | 6;
  /** `fd00:254:X::` (the IPv6 subnet, with `family: 6`). */
  readonly subnet6: string;
  /** The VIP address (`10.254.X.100`, or `fd00:254:X::100`). */
  readonly vip: string;
  /** The VIP with prefix length (`10.254.X.100/24`), as daemons take it. */
  readonly vipCidr: string;
  /** The namespace holding the bridge. */
  readonly switchNetns: string;
  /** The bridge's name (in the switch namespace). */
  readonly bridge: string;
  /**
   * The bridge's own address (`10.254.X.3`): processes in the switch
   * namespace (the one API store every node's API server shares, as every
   * kube-apiserver shares etcd) are reached through it, so a cut or
   * partitioned node loses them too.
   */
  readonly switchAddress: string;
  /** The node namespaces, in priority order (node1 first). */
  readonly nodes: LabHost[];
  /** The client namespace. */
  readonly client: LabHost;
  /** Per-process logs live here. */
  readonly logDir: string;
  /** Epoch ms when the topology was created: the "+0" of log stamps. */
  readonly t0: number;
  readonly #removeLogDir: boolean;
  readonly #processes = new Set<LabProcess>();
  readonly #netns: string[] = [];
  #torn = false;
  #signalled = false;
  #teardown: Promise<void> | undefined;

  constructor(options: {
    prefix: string;
    subnetOctet: number;
    nodes: number;
    logDir: string;
    removeLogDir: boolean;
    family?: 4 | 6;
  }) {
    this.prefix = options.prefix;
    this.family = options.family ?? 4;
    this.subnet = `10.254.${options.subnetOctet}`;
    this.subnet6 = `fd00:254:${options.subnetOctet}::`;
    this.vip = this.family === 4 ? `${this.subnet}.100` : `${this.subnet6}100`;
    this.vipCidr = `${this.vip}/${this.family === 4 ? this.prefixLength : 64}`;
    this.switchNetns = `${this.prefix}-sw`;
    this.bridge = `${this.prefix}br`;
    this.switchAddress = `${this.subnet}.3`;
    this.logDir = options.logDir;
    this.#removeLogDir = options.removeLogDir;
    this.t0 = nowMs();
    const host = (name: string, tag: string, octet: number): LabHost => ({
      name,
      netns: `${this.prefix}-${tag}`,
      ifname: "eth0",
      address: `${this.subnet}.${octet}`,
      address6: `${this.subnet6}${octet}`,
      linkLocal: linkLocalFor(macFor(octet)),
      mac: macFor(octet),
      port: `${this.prefix}${tag}`,
    });
    this.nodes = Array.from(
      { length: options.nodes },
      (_, i) => host(`node${i + 1}`, `n${i + 1}`, 11 + i),
    );
    this.client = host("client", "c", 2);
  }

  /** Every namespace of this lab (switch, nodes, client). */
  get namespaces(): string[] {
    return [...this.#netns];
  }

  /** All hosts: the nodes, then the client. */
  get hosts(): LabHost[] {
    return [...this.nodes, this.client];
  }

  /** The node called `name`; throws a `LabError` if there is none. */
  node(name: string): LabHost {
    const n = this.nodes.find((h) => h.name === name);
    if (!n) {
      throw new LabError(
        `no node ${JSON.stringify(name)} (have ${
          this.nodes.map((h) => h.name).join(", ")
        })`,
      );
    }
    return n;
  }

  /** The host (node or client) whose eth0 has `mac`, if any. */
  hostByMac(mac: string): LabHost | undefined {
    const m = mac.toLowerCase();
    return this.hosts.find((h) => h.mac === m);
  }

  /** Milliseconds since {@link t0} for an epoch-ms time (default now). */
  rel(atMs: number = nowMs()): number {
    return atMs - this.t0;
  }

  /** Builds the namespaces, bridge and links. Called by {@link createTopology}. */
  async build(): Promise<void> {
    const add = async (ns: string) => {
      await this.ip(["netns", "add", ns]);
      this.#netns.push(ns); // only what exists gets deleted
      await this.ip(["-n", ns, "link", "set", "lo", "up"]);
      if (this.family === 6) {
        // No DAD: every address (link-local ones too) is usable at once.
        await this.exec(ns, [
          "sysctl",
          "-qw",
          "net.ipv6.conf.all.accept_dad=0",
          "net.ipv6.conf.default.accept_dad=0",
        ]);
      }
    };
    await add(this.switchNetns);
    const sw = ["-n", this.switchNetns];
    // No STP and no multicast snooping: a dumb switch, ports forward at once.
    await this.ip([
      ...sw,
      "link",
      "add",
      this.bridge,
      "type",
      "bridge",
      "stp_state",
      "0",
      "forward_delay",
      "0",
      "mcast_snooping",
      "0",
    ]);
    await this.ip([...sw, "link", "set", this.bridge, "up"]);
    await this.ip([
      ...sw,
      "addr",
      "add",
      `${this.switchAddress}/${this.prefixLength}`,
      "dev",
      this.bridge,
    ]);
    for (const h of this.hosts) {
      await add(h.netns);
      // Created inside the switch namespace with the peer placed straight
      // into the host's: nothing ever appears in the root namespace.
      await this.ip([
        ...sw,
        "link",
        "add",
        h.port,
        "type",
        "veth",
        "peer",
        "name",
        h.ifname,
        "netns",
        h.netns,
      ]);
      await this.ip([...sw, "link", "set", h.port, "master", this.bridge]);
      await this.ip([...sw, "link", "set", h.port, "up"]);
      const n = ["-n", h.netns];
      await this.ip([...n, "link", "set", h.ifname, "address", h.mac]);
      await this.ip([
        ...n,
        "addr",
        "add",
        `${h.address}/${this.prefixLength}`,
        "dev",
        h.ifname,
      ]);
      if (this.family === 6) {
        await this.ip([
          ...n,
          "addr",
          "add",
          `${h.address6}/64`,
          "dev",
          h.ifname,
          "nodad",
        ]);
      }
      await this.ip([...n, "link", "set", h.ifname, "up"]);
    }
  }

  /** Runs `ip args...` in the root namespace (use `-n NS` to target one). */
  async ip(args: string[]): Promise<string> {
    const r = await this.#run(IP, args);
    if (r.code !== 0) {
      throw new LabError(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
    }
    return r.stdout;
  }

  /**
   * Runs a command inside `netns` (`ip netns exec`) and collects its output.
   * Throws a `LabError` on a non-zero exit unless `check` is false.
   */
  async exec(
    netns: string,
    cmd: string[],
    options: { check?: boolean } = {},
  ): Promise<ExecResult> {
    this.#assertOurs(netns);
    const r = await this.#run(IP, ["netns", "exec", netns, ...cmd]);
    if (r.code !== 0 && options.check !== false) {
      throw new LabError(
        `in ${netns}: ${cmd.join(" ")} exited ${r.code}: ${r.stderr.trim()}`,
      );
    }
    return r;
  }

  /**
   * Starts a long-running process inside `netns` (null: the root
   * namespace). Its stdout and stderr go line by line, prefixed with the
   * time since {@link t0} and the stream, to `<logDir>/<name>.log`
   * (appended, so a restarted process shares its file).
   */
  spawn(
    netns: string | null,
    name: string,
    cmd: string[],
    options: SpawnOptions = {},
  ): LabProcess {
    if (this.#torn) {
      throw new LabError(`lab is torn down; cannot start ${name}`);
    }
    if (netns !== null) this.#assertOurs(netns);
    const [program, ...args] = netns === null
      ? cmd
      : [IP, "netns", "exec", netns, ...cmd];
    const logFile = `${this.logDir}/${name.replaceAll("/", "_")}.log`;
    const log = Deno.openSync(logFile, {
      create: true,
      append: true,
      write: true,
    });
    const child = new Deno.Command(program, {
      args,
      env: { NO_COLOR: "1", ...options.env },
      cwd: options.cwd,
      stdin: options.stdinPipe ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stamp = () => `+${(this.rel() / 1000).toFixed(3)}`;
    log.writeSync(
      encoder.encode(
        `${stamp()} lab| started pid ${child.pid}: ${
          netns ? `[${netns}] ` : ""
        }${cmd.join(" ")}\n`,
      ),
    );
    let open = 2;
    const pump = async (
      stream: ReadableStream<Uint8Array>,
      tag: "out" | "err",
    ) => {
      let rest = "";
      const handle = (line: string) => {
        const at = nowMs();
        try {
          log.writeSync(encoder.encode(`${stamp()} ${tag}| ${line}\n`));
        } catch {
          // log closed during teardown: the line is only lost from the file
        }
        try {
          options.onLine?.(line, tag, at);
        } catch (err) {
          console.error(`lab: line handler of ${name} failed: ${err}`);
        }
      };
      try {
        for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
          rest += chunk;
          let i;
          while ((i = rest.indexOf("\n")) >= 0) {
            handle(rest.slice(0, i));
            rest = rest.slice(i + 1);
          }
        }
      } catch {
        // stream cut by a kill: keep what we have
      }
      if (rest !== "") handle(rest);
      if (--open === 0) {
        try {
          log.writeSync(encoder.encode(`${stamp()} lab| output closed\n`));
          log.close();
        } catch {
          // already closed
        }
      }
    };
    const drained = Promise.all([
      pump(child.stdout, "out"),
      pump(child.stderr, "err"),
    ]).then(() => {});
    const proc = new LabProcess({ name, netns, child, logFile, drained });
    this.#processes.add(proc);
    proc.status.then((st) => {
      try {
        Deno.writeTextFileSync(
          logFile,
          `${stamp()} lab| exited code ${st.code}${
            st.signal ? ` signal ${st.signal}` : ""
          }\n`,
          { append: true },
        );
      } catch {
        // log dir already removed
      }
    });
    return proc;
  }

  /** Processes started by {@link spawn} that are still running. */
  get running(): LabProcess[] {
    return [...this.#processes].filter((p) => p.running);
  }

  /**
   * Sends `signal` to a PID that lives in one of our namespaces (for
   * grandchildren such as keepalived's VRRP process). Refuses any other PID.
   */
  async killPid(pid: number, signal: Deno.Signal): Promise<void> {
    if (!await this.ownsPid(pid)) {
      throw new LabError(
        `refusing to signal pid ${pid}: not in a namespace of this lab`,
      );
    }
    Deno.kill(pid, signal);
  }

  /** True when `pid` runs inside one of this lab's namespaces. */
  async ownsPid(pid: number): Promise<boolean> {
    if (!Number.isInteger(pid) || pid <= 1) return false;
    const r = await this.#run(IP, ["netns", "identify", String(pid)]);
    return r.code === 0 && this.#netns.includes(r.stdout.trim());
  }

  /** PIDs of every process inside `netns`. */
  async pidsIn(netns: string): Promise<number[]> {
    this.#assertOurs(netns);
    const out = await this.ip(["netns", "pids", netns]);
    return out.split(/\s+/).filter(Boolean).map(Number);
  }

  /**
   * Cuts a host's cable: sets its switch-side veth down, so the host sees
   * carrier loss on eth0 (as when a switch port or cable fails).
   */
  async cutLink(host: LabHost | string): Promise<void> {
    const h = typeof host === "string" ? this.node(host) : host;
    await this.ip(["-n", this.switchNetns, "link", "set", h.port, "down"]);
  }

  /**
   * Removes every address of a host's eth0 (its own and any VIP): with
   * its daemon killed first, the node is dead to the network while its
   * link stays up.
   */
  async flushAddresses(host: LabHost | string): Promise<void> {
    const h = typeof host === "string" ? this.node(host) : host;
    await this.ip(["-n", h.netns, "addr", "flush", "dev", h.ifname]);
  }

  /** Gives a host its own address back after {@link flushAddresses}. */
  async restoreAddress(host: LabHost | string): Promise<void> {
    const h = typeof host === "string" ? this.node(host) : host;
    await this.ip([
      "-n",
      h.netns,
      "addr",
      "replace",
      `${h.address}/${this.prefixLength}`,
      "dev",
      h.ifname,
    ]);
  }

  /**
   * Random loss of `percent` % of the frames the switch forwards (0 removes
   * it): an nftables rule in the switch namespace's bridge `forward` hook,
   * `numgen random mod 100 < P drop`, evaluated for each frame on each
   * output port, so every copy of a flooded advert is lost on its own. (The
   * issue suggested `tc netem`; this kernel has no sch_netem, and nftables'
   * numgen gives the same independent random loss.) Needs `nft`.
   */
  async setLoss(percent: number): Promise<void> {
    const nft = (args: string[]) =>
      this.exec(this.switchNetns, ["nft", ...args], { check: false });
    await nft(["delete", "table", "bridge", "hvloss"]);
    if (percent <= 0) return;
    const script = `table bridge hvloss {
  chain forward {
    type filter hook forward priority 0; policy accept;
    numgen random mod 100 < ${Math.round(percent)} drop
  }
}
`;
    const file = `${this.logDir}/loss.nft`;
    await Deno.writeTextFile(file, script);
    const r = await nft(["-f", file]);
    if (r.code !== 0) {
      throw new LabError(`nft -f ${file}: ${r.stderr.trim()}`);
    }
  }

  /** Reconnects a host cut with {@link cutLink}. */
  async restoreLink(host: LabHost | string): Promise<void> {
    const h = typeof host === "string" ? this.node(host) : host;
    await this.ip(["-n", this.switchNetns, "link", "set", h.port, "up"]);
  }

  /**
   * Partitions a host off the switch WITHOUT carrier loss: its bridge port
   * is set to the `disabled` state (`bridge link set dev PORT state 0`), so the bridge
   * neither forwards to nor accepts frames from it, while both veth ends
   * stay up. The host keeps carrier on eth0 and so keeps (or takes) the VIP
   * on its own side, as behind a failed uplink. Verified: throws a
   * `LabError` if the port did not block or the host lost carrier.
   */
  async partitionLink(host: LabHost | string): Promise<void> {
    const h = typeof host === "string" ? this.node(host) : host;
    await this.#setPortState(h, 0, "disabled");
    if (!await this.hasCarrier(h)) {
      throw new LabError(`${h.name} lost carrier on a partition`);
    }
  }

  /** Reconnects a host partitioned with {@link partitionLink}. */
  async healLink(host: LabHost | string): Promise<void> {
    const h = typeof host === "string" ? this.node(host) : host;
    // 3 = forwarding: with STP off there is no listening/learning delay.
    await this.#setPortState(h, 3, "forwarding");
  }

  /** The bridge port state of a host's switch-side veth (`forwarding`, ...). */
  async portState(host: LabHost | string): Promise<string> {
    const h = typeof host === "string" ? this.node(host) : host;
    const out = await this.ip([
      "-n",
      this.switchNetns,
      "-j",
      "-d",
      "link",
      "show",
      "dev",
      h.port,
    ]);
    const [link] = JSON.parse(out) as {
      linkinfo?: { info_slave_data?: { state?: string } };
    }[];
    return link?.linkinfo?.info_slave_data?.state ?? "unknown";
  }

  /** Whether the host's eth0 has carrier (LOWER_UP) right now. */
  async hasCarrier(host: LabHost | string): Promise<boolean> {
    const h = typeof host === "string" ? this.node(host) : host;
    const out = await this.ip(["-n", h.netns, "-j", "link", "show", h.ifname]);
    const [link] = JSON.parse(out) as { flags?: string[] }[];
    return (link?.flags ?? []).includes("LOWER_UP");
  }

  async #setPortState(h: LabHost, state: number, name: string): Promise<void> {
    // `bridge link set`: `ip link set ... type bridge_slave state N` exits
    // 0 on iproute2 6.x and leaves the port forwarding.
    const r = await this.#run("bridge", [
      "-n",
      this.switchNetns,
      "link",
      "set",
      "dev",
      h.port,
      "state",
      String(state),
    ]);
    if (r.code !== 0) {
      throw new LabError(
        `bridge link set dev ${h.port} state ${state}: ${r.stderr.trim()}`,
      );
    }
    const now = await this.portState(h);
    if (now !== name) {
      throw new LabError(
        `bridge port ${h.port} of ${h.name} is ${now}, not ${name}`,
      );
    }
  }

  /**
   * Kills every process we started and anything else inside our
   * namespaces, then deletes the namespaces (which removes every link).
   * Idempotent; safe to call concurrently.
   */
  teardown(): Promise<void> {
    this.#teardown ??= (async () => {
      this.teardownSync();
      // Let the output pumps finish so log files are complete and no
      // resource outlives us (test sanitizers).
      const all = [...this.#processes].map((p) => p.status);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled(all),
        new Promise((r) => timer = setTimeout(r, 5000)),
      ]);
      clearTimeout(timer);
      if (this.#removeLogDir) {
        await Deno.remove(this.logDir, { recursive: true }).catch(() => {});
      }
    })();
    return this.#teardown;
  }

  /**
   * The synchronous core of {@link teardown}, usable from signal and
   * unload handlers: SIGKILL everything, delete the namespaces.
   */
  teardownSync(): void {
    if (this.#torn) return;
    this.#torn = true;
    active.delete(this);
    for (const p of this.#processes) p.kill("SIGKILL");
    for (const ns of this.#netns) {
      // Orphans (keepalived's children, a prober's `ip monitor`) live in
      // our namespaces too: anything in there is ours by construction.
      const pids = runSync(IP, ["netns", "pids", ns]).stdout.split(/\s+/)
        .filter(Boolean).map(Number);
      for (const pid of pids) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    for (const ns of [...this.#netns].reverse()) {
      runSync(IP, ["netns", "del", ns]);
    }
    this.#netns.length = 0;
    removeHandlersIfIdle();
    try {
      Deno.removeSync(`${this.logDir}/${RUNNING_MARKER}`);
    } catch {
      // never written, or the dir is gone
    }
    if (this.#removeLogDir && this.#signalled) {
      // Exiting on a signal: the async teardown will not get to it.
      try {
        Deno.removeSync(this.logDir, { recursive: true });
      } catch {
        // already gone
      }
    }
  }

  /** Marks that teardown runs because of SIGINT/SIGTERM. */
  markSignalled(): void {
    this.#signalled = true;
  }

  /** Same as {@link teardown}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.teardown();
  }

  #assertOurs(netns: string): void {
    if (!this.#netns.includes(netns)) {
      throw new LabError(`namespace ${netns} is not part of this lab`);
    }
  }

  async #run(program: string, args: string[]): Promise<ExecResult> {
    const out = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  }

  /** Registers this topology with the signal/unload handlers. */
  register(handleSignals: boolean): void {
    active.add(this);
    installHandlers(handleSignals);
  }
}

function runSync(program: string, args: string[]): ExecResult {
  try {
    const out = new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } catch (err) {
    return { code: -1, stdout: "", stderr: String(err) };
  }
}

/** True when running as root (namespaces and raw sockets need it). */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/**
 * Creates the lab network. On any failure everything built so far is
 * removed before the error propagates.
 */
export async function createTopology(
  options: TopologyOptions = {},
): Promise<Topology> {
  const nodes = options.nodes ?? 3;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) {
    throw new RangeError(`nodes must be 1-9, got ${nodes}`);
  }
  const prefix = options.prefix ?? `hvl${Deno.pid}`;
  // The longest link name is `<prefix>n9`/`<prefix>br`: IFNAMSIZ - 1 = 15.
  if (!/^[a-z][a-z0-9]{0,10}$/.test(prefix)) {
    throw new RangeError(
      `prefix must be 1-11 lowercase letters/digits, got ${
        JSON.stringify(prefix)
      }`,
    );
  }
  const octet = options.subnetOctet ?? 1 + Math.floor(Math.random() * 254);
  const ownDir = options.logDir === undefined;
  const logDir = options.logDir ??
    await Deno.makeTempDir({ prefix: `ha-vip-lab-${prefix}-` });
  await Deno.mkdir(logDir, { recursive: true });
  const topo = new Topology({
    prefix,
    subnetOctet: octet,
    nodes,
    logDir,
    removeLogDir: options.removeLogDir ?? ownDir,
    family: options.family,
  });
  topo.register(options.handleSignals ?? true);
  try {
    // Marks the log dir as in use until teardown (see cleanupStale).
    await Deno.writeTextFile(`${logDir}/${RUNNING_MARKER}`, `${Deno.pid}\n`);
    await topo.build();
  } catch (err) {
    await topo.teardown();
    throw err;
  }
  return topo;
}

/**
 * Deletes what labs killed outright (SIGKILL of the lab itself) left
 * behind: namespaces `hvl<pid>-*` whose PID no longer runs (and anything
 * still running inside them), and temp log dirs `ha-vip-lab-hvl<pid>-*` of
 * such labs that were still marked in use. Returns what was removed. Only
 * our own prefixes are ever touched.
 */
export async function cleanupStale(): Promise<string[]> {
  const out = await new Deno.Command(IP, {
    args: ["-j", "netns", "list"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const text = decoder.decode(out.stdout).trim();
  const list: { name: string }[] = text ? JSON.parse(text) : [];
  const removed: string[] = [];
  for (const { name } of list) {
    const m = /^hvl(\d+)-(sw|c|n\d)$/.exec(name);
    if (!m) continue;
    if (pidAlive(Number(m[1]))) continue;
    const pids = runSync(IP, ["netns", "pids", name]).stdout.split(/\s+/)
      .filter(Boolean).map(Number);
    for (const p of pids) {
      try {
        Deno.kill(p, "SIGKILL");
      } catch {
        // gone
      }
    }
    runSync(IP, ["netns", "del", name]);
    removed.push(name);
  }
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  for await (const e of Deno.readDir(tmp)) {
    const m = /^ha-vip-lab-hvl(\d+)-/.exec(e.name);
    if (!m || !e.isDirectory || pidAlive(Number(m[1]))) continue;
    const dir = `${tmp}/${e.name}`;
    try {
      await Deno.stat(`${dir}/${RUNNING_MARKER}`);
    } catch {
      continue; // finished normally: logs kept on purpose
    }
    await Deno.remove(dir, { recursive: true });
    removed.push(dir);
  }
  return removed;
}

/** Running (a zombie waiting to be reaped counts as dead). */
function pidAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) [ZX]/s.test(stat);
  } catch {
    return false;
  }
}
