/**
 * The state of one scenario run, shared by the runner, the fault drivers
 * and the measurement: the timing parameters, the topology, the nodes as
 * the lab models them, the client's view, the daemon driver, and the model
 * questions (who is eligible, who should hold the VIP, who does).
 *
 * @module
 */

import type { ClientView } from "./client_view.ts";
import type { Driver, NodeState } from "./daemons.ts";
import type { Say } from "./narration.ts";
import type {
  ElectionMode,
  EventKind,
  Implementation,
  ScenarioOptions,
} from "./scenario_types.ts";
import type { Topology } from "./topology.ts";

/** The timing parameters of a run, ms. */
export interface Timing {
  /** VRRP advertisement interval. */
  A: number;
  /** ha-vip stability window (0 for keepalived). */
  W: number;
  /** ha-vip health interval (0 for keepalived). */
  H: number;
  /** ha-vip VIP lifetime (0 for keepalived; lease mode: the fenced one). */
  L: number;
  /** How the holder is elected. */
  election: ElectionMode;
  /** Lease mode: duration, renew deadline, retry period (0 in VRRP mode). */
  D: number;
  R: number;
  P: number;
}

/** One run of the scenario. */
export interface Run extends Timing {
  impl: Implementation;
  options: ScenarioOptions;
  topo: Topology;
  nodes: NodeState[];
  client: ClientView;
  driver: Driver;
  say: Say;
  /** When each node gained / lost the VIP (epoch ms). */
  vipGained: Map<string, number[]>;
  vipLost: Map<string, number[]>;
  /** A daemon that died on its own; fails the run at the next check. */
  fatal: Error | null;
  /** From here on every exit is expected. */
  closing: boolean;
  /** The soak's adverse conditions are on (`options.stress`). */
  stressed: boolean;
  /** Lease mode: the node the lab last saw holding the Lease's VIP. */
  leaseHolder?: NodeState;
}

/** Holding the VIP alone, stable this long, settles an event. */
export const SETTLE_STABLE_MS = 1000;

/**
 * How long an event may take to settle: Deno start-up, the stability
 * window, health checks, failover, expiry. A heal may leave the client
 * pointing at the loser until its neighbour entry re-resolves: up to 1.5 ×
 * base_reachable_time (30 s) + the 5 s DELAY + 3 unicast probes. Waiting
 * that long measures the whole outage.
 */
export function settleTimeout(t: Timing, kind?: EventKind): number {
  return 10000 + t.W + 2 * t.H + 6 * t.A + t.L + t.D + 3 * t.P +
    (kind === "heal" ? 50000 : 0);
}

/** How long an extra holder may linger once the expected one holds the VIP. */
export function leftoverTimeout(run: Run): number {
  return run.impl === "ha-vip" ? run.L + 2000 : 4 * run.A + 2000;
}

/** The node called `name`. */
export function byName(run: Run, name: string): NodeState {
  const n = run.nodes.find((x) => x.host.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

/** `node2` for a node's MAC (`nobody` for null). */
export function nameOfMac(run: Run, mac: string | null): string {
  return mac === null ? "nobody" : run.topo.hostByMac(mac)?.name ?? mac;
}

/** Throws the error of a daemon that died on its own. */
export function checkFatal(run: Run): void {
  if (run.fatal) throw run.fatal;
}

/** May `n` hold the VIP, as the lab models it? */
export function eligible(run: Run, n: NodeState): boolean {
  const healthy = n.ready && n.apiUp && n.storeUp;
  return n.running && n.linked && !n.steppedOut &&
    (healthy || !run.driver.healthGated);
}

/**
 * The node that should hold the VIP. VRRP: the eligible one with the
 * highest priority. Lease mode has no priorities: the holder keeps the
 * Lease while it is eligible, and when it is not, any eligible node may
 * win it; `undefined` means "one of them, not decided yet".
 */
export function expectedHolder(run: Run): NodeState | null | undefined {
  const c = run.nodes.filter((n) => eligible(run, n))
    .sort((a, b) => b.priority - a.priority);
  if (run.election !== "lease") return c[0] ?? null;
  const holding = connectedHolders(run).filter((n) => eligible(run, n));
  if (holding.length === 1) run.leaseHolder = holding[0];
  const h = run.leaseHolder;
  if (h && eligible(run, h)) return h;
  return c.length === 0 ? null : undefined;
}

/** Connected nodes holding the VIP now. */
export function connectedHolders(run: Run): NodeState[] {
  return run.nodes.filter((n) => n.linked && n.watcher!.holding);
}

/** The single connected holder (null: none or several). */
export function currentHolder(run: Run): NodeState | null {
  const h = connectedHolders(run);
  return h.length === 1 ? h[0] : null;
}
