/**
 * Helpers for lab tests that drive daemons by hand on a lab topology
 * (mixed ha-vip / keepalived groups): start either daemon in a node
 * namespace, follow the client prober, read the kernel's view of who holds
 * the VIP, wait for conditions. `runScenario` covers the scripted
 * all-ha-vip (or all-keepalived) case; this is for the rest.
 *
 * Needs root, like the lab itself.
 *
 * @module
 */

import {
  cacheForNamespaces as cacheLabEntries,
  keepalivedConfig,
  type LabHost,
  type LabProcess,
  nowMs,
  type ProbeLine,
  type Topology,
} from "../../lab/mod.ts";

/** The repository root (where main.ts is). */
export const REPO_ROOT = new URL("../..", import.meta.url).pathname.replace(
  /\/$/,
  "",
);

/**
 * `deno cache`s what runs inside the namespaces (they have no route to a
 * registry) exactly as the lab does; resolves the lock flag the namespaced
 * `deno run`s must use.
 */
export function cacheForNamespaces(): Promise<string> {
  return cacheLabEntries(REPO_ROOT, [
    `${REPO_ROOT}/main.ts`,
    `${REPO_ROOT}/lab/prober.ts`,
  ]);
}

/** Options of {@link spawnHaVip}. */
export interface HaVipOptions {
  priority: number;
  advertIntervalMs: number;
  /** From {@link cacheForNamespaces}. */
  lockFlag: string;
  /** More `ha-vip run` flags. */
  extraArgs?: string[];
  /** Called for every output line. */
  onLine?: (line: string, atMs: number) => void;
}

/** Where {@link spawnHaVip}'s daemons serve /status (each on its own loopback). */
export const STATUS_PORT = 9480;

/**
 * `ha-vip run --no-k8s` on `host` (plain VRRP: every node counts as
 * healthy), named after the host, logging to `<logDir>/<host>-ha-vip.log`,
 * serving /status on the namespace's loopback ({@link haVipStatus}).
 */
export function spawnHaVip(
  topo: Topology,
  host: LabHost,
  o: HaVipOptions,
): LabProcess {
  return topo.spawn(host.netns, `${host.name}-ha-vip`, [
    Deno.execPath(),
    "run",
    "-A",
    "--cached-only",
    o.lockFlag,
    `${REPO_ROOT}/main.ts`,
    "run",
    "--vip",
    topo.vipCidr,
    "--interface",
    host.ifname,
    "--priority",
    String(o.priority),
    "--advert-interval",
    `${o.advertIntervalMs}ms`,
    "--no-k8s",
    "--node-name",
    host.name,
    "--metrics-address",
    `127.0.0.1:${STATUS_PORT}`,
    ...(o.extraArgs ?? []),
  ], {
    cwd: REPO_ROOT,
    onLine: (line, _stream, at) => o.onLine?.(line, at),
  });
}

/** Options of {@link spawnKeepalived}. */
export interface KeepalivedOptions {
  priority: number;
  advertIntervalMs: number;
  /** Called for every output line. */
  onLine?: (line: string, atMs: number) => void;
}

/**
 * keepalived on `host` as the lab starts it (`-n -l -D`, VRRPv3, the lab's
 * {@link keepalivedConfig}: VRID 51 and exactly the VIP ha-vip carries),
 * its files under `<logDir>/<host>-keepalived/`. Stop it with
 * `LabProcess.stop()`: SIGTERM to the parent, whose VRRP child then sends
 * priority 0 and removes the VIP.
 */
export async function spawnKeepalived(
  topo: Topology,
  host: LabHost,
  o: KeepalivedOptions,
): Promise<LabProcess> {
  const dir = `${topo.logDir}/${host.name}-keepalived`;
  await Deno.mkdir(dir, { recursive: true });
  const conf = `${dir}/keepalived.conf`;
  await Deno.writeTextFile(
    conf,
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
    conf,
    "-p",
    `${dir}/keepalived.pid`,
    "-r",
    `${dir}/vrrp.pid`,
    "-c",
    `${dir}/checkers.pid`,
  ], { onLine: (line, _stream, at) => o.onLine?.(line, at) });
}

/** Whether keepalived 2.x is installed where the lab expects it. */
export function haveKeepalived(): boolean {
  try {
    return Deno.statSync("/usr/sbin/keepalived").isFile;
  } catch {
    return false;
  }
}

/**
 * The nodes whose `eth0` has the VIP right now, from the kernel itself
 * (`ip -j -4 addr` inside each node namespace).
 */
export async function kernelHolders(topo: Topology): Promise<string[]> {
  const out: string[] = [];
  for (const h of topo.nodes) {
    const r = await topo.exec(h.netns, [
      "ip",
      "-j",
      "-4",
      "addr",
      "show",
      "dev",
      h.ifname,
    ]);
    const links = JSON.parse(r.stdout || "[]") as {
      addr_info?: { local?: string }[];
    }[];
    if (
      links.some((l) => (l.addr_info ?? []).some((a) => a.local === topo.vip))
    ) {
      out.push(h.name);
    }
  }
  return out;
}

/** The parts of ha-vip's `GET /status` the tests look at. */
export interface HaVipStatus {
  holding?: boolean;
  election?: {
    state?: string;
    master?: string | null;
    holding?: boolean;
    eligible?: boolean;
  };
  /** Set when /status could not be read. */
  error?: string;
}

/**
 * `GET /status` of the ha-vip on `host` (its loopback is only reachable
 * inside the namespace, so a `deno eval` fetches it there).
 */
export async function haVipStatus(
  topo: Topology,
  host: LabHost,
): Promise<HaVipStatus> {
  const code = `const r = await fetch("http://127.0.0.1:${STATUS_PORT}/status");
console.log(await r.text());`;
  const r = await topo.exec(host.netns, [
    Deno.execPath(),
    "eval",
    "--no-config",
    "--quiet",
    code,
  ], { check: false });
  try {
    return JSON.parse(r.stdout) as HaVipStatus;
  } catch {
    return { error: (r.stderr || r.stdout).trim().slice(0, 300) };
  }
}

/** `p`, or a rejection with `message` after `ms`; the timer never outlives it. */
export async function within<T>(
  p: Promise<T>,
  ms: number,
  message: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A gap in the client's replies, epoch ms. */
export interface ClientGap {
  from: number;
  to: number;
  ms: number;
  /** Still open at the time asked for. */
  open: boolean;
}

/**
 * The client's view, built from prober lines: its neighbour entry for the
 * VIP, whether replies flow, and the outages (runs of lost ICMP requests;
 * late replies caused only by a stall of the prober itself do not count).
 */
export class ClientTracker {
  /** The MAC the neighbour entry points at now (null: none). */
  neighMac: string | null = null;
  /** Every line, for diagnostics. */
  readonly lines: ProbeLine[] = [];
  #neigh: { t: number; mac: string | null }[] = [];
  #gaps: { from: number; to: number; lost: number }[] = [];
  #stalls: { from: number; to: number }[] = [];
  #downSince: number | null = null;
  #everReplied = false;
  #started = Promise.withResolvers<void>();

  /** Feed it every prober line. */
  add(l: ProbeLine): void {
    this.lines.push(l);
    switch (l.type) {
      case "start":
        this.#started.resolve();
        break;
      case "neigh":
        this.neighMac = l.mac;
        this.#neigh.push({ t: l.t, mac: l.mac });
        break;
      case "reach":
        if (l.up) {
          this.#downSince = null;
          this.#everReplied = true;
        } else this.#downSince = l.t;
        break;
      case "gap":
        this.#gaps.push({ from: l.start, to: l.end, lost: l.lost });
        break;
      case "stall":
        this.#stalls.push({ from: l.t, to: l.t + l.ms });
        break;
    }
  }

  /** Resolves on the prober's first line. */
  started(): Promise<void> {
    return this.#started.promise;
  }

  /** Replies flow: the VIP answered and no outage is open. */
  get reachable(): boolean {
    return this.#everReplied && this.#downSince === null;
  }

  /** Outages overlapping `[from, to]` (an open one ends at `to`). */
  gapsIn(from: number, to: number = nowMs()): ClientGap[] {
    const artifact = (g: { from: number; to: number; lost: number }) =>
      g.lost === 0 &&
      this.#stalls.some((s) => s.from <= g.to && s.to >= g.from);
    const out = this.#gaps
      .filter((g) => g.to >= from && g.from <= to && !artifact(g))
      .map((g) => ({ from: g.from, to: g.to, ms: g.to - g.from, open: false }));
    if (this.#downSince !== null && this.#downSince <= to) {
      out.push({
        from: this.#downSince,
        to,
        ms: to - this.#downSince,
        open: true,
      });
    }
    return out;
  }

  /** Longest outage overlapping `[from, to]`, ms (0: none). */
  longestGapIn(from: number, to: number = nowMs()): number {
    return this.gapsIn(from, to).reduce((m, g) => Math.max(m, g.ms), 0);
  }

  /** First time at or after `from` the neighbour entry pointed at `mac`. */
  neighSwitchAt(mac: string, from: number): number | null {
    let current: string | null = null;
    for (const e of this.#neigh) {
      if (e.t < from) {
        current = e.mac;
        continue;
      }
      if (current === mac) return from;
      if (e.mac === mac) return e.t;
      current = e.mac;
    }
    return current === mac ? from : null;
  }
}

/**
 * Polls `pred` every `everyMs` until it holds; rejects after `timeoutMs`
 * with `what()` (evaluated then, so it can describe the state).
 */
export async function waitUntil(
  pred: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: () => string | Promise<string>,
  everyMs = 20,
): Promise<number> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    if (await pred()) return nowMs();
    if (nowMs() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms: ${await what()}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Skew_Time (RFC 5798): (256 − priority) / 256 of the interval, ms. */
export function skewMs(priority: number, advertIntervalMs: number): number {
  return ((256 - priority) * advertIntervalMs) / 256;
}

/** Master_Down_Interval (RFC 5798): 3 intervals + Skew_Time, ms. */
export function masterDownMs(
  priority: number,
  advertIntervalMs: number,
): number {
  return 3 * advertIntervalMs + skewMs(priority, advertIntervalMs);
}
