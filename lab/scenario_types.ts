/**
 * The vocabulary of the failover scenario: events, bounds, options,
 * measurements and results. Shared by the runner (`scenario.ts`), the fault
 * drivers (`faults.ts`), the measurement (`measure.ts`) and the report.
 *
 * @module
 */

import type { ResourceUsage } from "./resources.ts";
import type { StressOptions } from "./stress.ts";
import type { Topology } from "./topology.ts";

/** Which VRRP implementation runs on the nodes. */
export type Implementation = "ha-vip" | "keepalived";

/** What happens at an event. */
export type EventKind =
  /** Wait for the first election, then watch the steady state. */
  | "steady"
  /** SIGKILL the daemon (keepalived: its VRRP process first, as a real crash). */
  | "crash"
  /** Start the daemon again after a crash. */
  | "restart"
  /** Make the node's API server unready (`/readyz` fails on etcd). */
  | "unready"
  /** Make it ready again. */
  | "ready"
  /** Planned shutdown: SIGTERM, wait for the exit. */
  | "stop"
  /** Start the daemon again after a stop. */
  | "start"
  /** Cut the node's cable (switch port down: carrier loss). */
  | "cut"
  /** Reconnect it (the cut link is repaired). */
  | "restore"
  /**
   * Partition the node off the switch with its carrier up (bridge port
   * disabled): it hears nobody, so it keeps (or takes) the VIP on its own
   * side while the client's side elects another holder.
   */
  | "partition"
  /**
   * Reconnect a partitioned node: two masters hear each other, the lower
   * one steps down, and the client must end up at the winner.
   */
  | "heal"
  /**
   * The node dies: SIGKILL of the daemon, then every address of its eth0
   * removed (the VIP with it), so its kernel no longer answers for the VIP
   * either: what clients see when a whole node goes away (issue 12).
   */
  | "die"
  /** Bring a dead node back: its address again, then its daemon. */
  | "revive"
  /** Kill the node's API server process (SIGKILL): connection refused. */
  | "apidown"
  /** Start it again. */
  | "apiup"
  /**
   * Cut the node's API server from the shared store (its "etcd" is
   * partitioned away): writes fail, `/readyz` fails etcd after 2 s.
   */
  | "storeloss"
  /** Reconnect it. */
  | "storeback"
  /**
   * `ha-vip handoff --for 10m` on the node (default: the holder): it gives
   * the VIP up make-before-break and stays out of the election. With no
   * other eligible node the handoff is cancelled (exit 1) and it keeps the
   * VIP; the lab expects exactly that.
   */
  | "handoff"
  /** `ha-vip handoff --cancel`: the node is back in the election. */
  | "handback";

/** How the ha-vip nodes elect the holder. */
export type ElectionMode = "vrrp" | "lease";

/** ha-vip's lease timing in lease mode, ms. */
export interface LeaseTiming {
  durationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** One step of the script. */
export interface ScenarioEvent {
  kind: EventKind;
  /**
   * `node2`, `holder` (whoever holds the VIP then), `backup` (the node
   * that would take over from the holder: the highest-priority other
   * connected, running node) or `previous` (the node of the event before).
   * Default: `holder` for crash, die, unready, stop, cut and partition;
   * `previous` for the others.
   */
  node?: string;
  /**
   * How long to keep watching once the event has settled (steady: the
   * length of the steady-state observation). Default 1000 ms (steady 3000).
   */
  holdMs?: number;
}

/** Upper bounds an event must stay within; absent = not checked. */
export interface Bounds {
  /** Longest client outage (ICMP silence) around the event, ms. */
  maxGapMs?: number;
  /** Time from the event until the new holder has the VIP, ms. */
  maxTakeoverMs?: number;
  /** Time with two reachable holders at once, ms. */
  maxDualMs?: number;
  /** Crash: time until the dead node's VIP is gone by itself, ms. */
  maxExpiryMs?: number;
  /** How often a node may gain the VIP in the window (steady: never). */
  maxVipGains?: number;
}

/** A line of the live timeline. */
export interface TimelineEntry {
  /** Milliseconds since the lab started. */
  atMs: number;
  /** `lab`, `node2`, `client`, ... */
  source: string;
  text: string;
}

/** Options of {@link runScenario}. */
export interface ScenarioOptions {
  /** Default `ha-vip`. */
  implementation?: Implementation;
  /** ha-vip's `election.mode` (default vrrp; keepalived is always VRRP). */
  election?: ElectionMode;
  /** Lease mode's timing (default 15 s / 10 s / 2 s). */
  lease?: LeaseTiming;
  /** Default 3. */
  nodes?: number;
  /**
   * The VIP's family (default 4). 6: an IPv6 VIP, VRRP over IPv6 from the
   * nodes' link-local addresses, the client probing by ICMPv6 (its
   * neighbour entry is NDP's).
   */
  family?: 4 | 6;
  /** VRRP advertisement interval, ms (multiple of 10). Default 1000. */
  advertIntervalMs?: number;
  /** Default {@link defaultEvents}. */
  events?: ScenarioEvent[];
  /** ha-vip `--stability-window`, ms. Default 2000. */
  stabilityWindowMs?: number;
  /** ha-vip `--health-interval`, ms; passed only when set (daemon default 2000). */
  healthIntervalMs?: number;
  /**
   * ha-vip `--vip-lifetime`, ms (whole seconds); passed only when set.
   * Daemon default: 3 × advert interval + 1 s rounded up (4 s at 1 s).
   */
  vipLifetimeMs?: number;
  /** More `ha-vip run` arguments (e.g. `--log-level debug`). */
  extraArgs?: string[];
  /** Client ICMP interval, ms. Default 5. */
  probeIntervalMs?: number;
  /** Client ARP probe interval, ms (0 = off). Default 50. */
  arpIntervalMs?: number;
  /** The repository root (where main.ts is). Default: this file's parent. */
  repoRoot?: string;
  /** Where logs go (kept). Default: a temp dir, removed unless `keepLogs`. */
  logDir?: string;
  /** Keep the temp log dir. Default false. */
  keepLogs?: boolean;
  /** Called for every timeline line as it happens. */
  onTimeline?: (e: TimelineEntry) => void;
  /** Called with each event's measurement as soon as it is complete. */
  onEvent?: (m: EventMeasurement) => void;
  /** Put every daemon log line on the timeline. Default: state changes only. */
  verbose?: boolean;
  /** Override bounds per event kind. */
  bounds?: Partial<Record<EventKind, Bounds>>;
  /**
   * A partition's hold gets a random extra of 0 to one advert interval, so
   * the heal falls at a random phase of the advertisement timers and which
   * master hears the other first is left to chance, as in a real network.
   * (Without it the lab's own rhythm decides: node2's timer runs exactly
   * its skew time after node1's, and the same master is heard first in
   * every run.) Default true.
   */
  randomHealPhase?: boolean;
  /** Aborts between steps (everything is still removed). */
  signal?: AbortSignal;
  /**
   * What runs ha-vip: a JavaScript or TypeScript entry point run with
   * `deno run` (default: the repository's `main.ts`; the release bundle
   * `dist/ha-vip-<version>.js` measures what users run).
   */
  haVipEntry?: string;
  /** More `deno run` flags for ha-vip (e.g. `--v8-flags=...`). */
  denoFlags?: string[];
  /**
   * Adverse conditions for the steady state (the soak): applied once the
   * first election has settled, for the rest of the run. See `lab/stress.ts`.
   */
  stress?: StressOptions;
  /**
   * Serve `/status` and `/metrics` on each node's loopback (default true;
   * the end-of-run cross-check of `/status` against the kernel needs it).
   * Off measures the daemon as deployed by default, without that server.
   */
  statusEndpoint?: boolean;
  /**
   * Runs after the last event, before everything is removed (tests look
   * at the lab then, e.g. read the Lease with kubectl in a node's
   * namespace). `holder`: the single connected holder, if any.
   */
  beforeTeardown?: (lab: {
    topo: Topology;
    holder: string | null;
  }) => Promise<void>;
}

/** A gap in client reachability, ms since the lab started. */
export interface Gap {
  startMs: number;
  endMs: number;
  ms: number;
  /** Still open when the window ended. */
  open: boolean;
  /** Requests never answered (the others came late); -1: still open. */
  lost: number;
}

/** What one event did. */
export interface EventMeasurement {
  index: number;
  kind: EventKind;
  /** The node acted on (steady: the initial holder). */
  node: string;
  /** `node1 crashed (SIGKILL)` and the like. */
  label: string;
  /** When it happened, ms since the lab started. */
  atMs: number;
  /** The single reachable holder before the event (null: none or several). */
  holderBefore: string | null;
  /** Every reachable holder before the event. */
  holdersBefore: string[];
  /** The holder the lab expected afterwards (null: none eligible). */
  expectedHolder: string | null;
  /** Reachable nodes holding the VIP at the end of the window. */
  holdersAfter: string[];
  /** The event settled: the expected holder has the VIP, alone, and the client reaches it. */
  settled: boolean;
  /** From the event until that settled state began, ms. */
  settleMs: number | null;
  /** From the event until the expected new holder added the VIP, ms (null: no change of holder). */
  takeoverMs: number | null;
  /** From the event until the client's neighbour entry pointed at the expected holder, ms. */
  clientSwitchMs: number | null;
  /** Longest ICMP silence overlapping the window, ms (0: none beyond the gap threshold). */
  longestGapMs: number;
  gaps: Gap[];
  /** Time with two or more connected nodes holding the VIP, ms. */
  dualHolderMs: number;
  /** Same, counting cut-off nodes too, ms. */
  dualHolderAnyMs: number;
  /** Time during which two or more MACs answered the client's ARP probes, ms. */
  arpMultiMs: number;
  /**
   * Crash of the holder: ms from the crash until its VIP was removed
   * without it (lifetime expiry); null: still there at the window end.
   */
  vipExpiredMs?: number | null;
  /**
   * Partition: ms from the partition until the isolated node held the VIP
   * on its own side (0: it held it already; null: it never did, e.g. not
   * running or not ready).
   */
  isolatedHoldMs?: number | null;
  /** Partition: the isolated node still had carrier on eth0 (checked twice). */
  isolatedCarrier?: boolean;
  /**
   * Partition (ha-vip): ms from the partition until the isolated node's API
   * server failed its etcd check, its store being on the other side (null:
   * not within the window).
   */
  isolatedStoreLostMs?: number | null;
  /**
   * Partition (ha-vip): ms from the partition until the isolated node
   * removed the VIP on its side because its API server turned unready
   * (null: it still held it when the window ended).
   */
  isolatedStepDownMs?: number | null;
  /**
   * Heal and partition: ms from the event until the client saw the first
   * gratuitous ARP from the expected holder (null: none in the window).
   */
  garpMs?: number | null;
  /**
   * Steady: each running daemon's resident memory and CPU over the
   * steady-state hold (process tree: keepalived's parent and children).
   */
  resources?: ResourceUsage[];
  /**
   * Times a node gained the VIP within the window (all nodes together): a
   * steady state has none, so each one there is a spurious failover.
   */
  vipGains: number;
  /** End of the measurement window, ms since the lab started. */
  windowEndMs: number;
  /** Failed expectations (any makes `ok` false). */
  problems: string[];
  /** Observations that are expected for this implementation. */
  notes: string[];
  ok: boolean;
}

/** The whole run. */
export interface ScenarioResult {
  implementation: Implementation;
  /** How the holder was elected (keepalived: vrrp). */
  election: ElectionMode;
  /** Lease mode's timing. */
  lease?: LeaseTiming;
  nodes: number;
  advertIntervalMs: number;
  vip: string;
  events: EventMeasurement[];
  ok: boolean;
  /** Log directory, if kept. */
  logDir: string | null;
  timeline: TimelineEntry[];
  durationMs: number;
  /** ha-vip: each running node's `/status` document at the end. */
  statuses: Record<string, unknown>;
  /** Failed end-of-run checks (e.g. `/status` disagreeing with the kernel). */
  problems: string[];
}
