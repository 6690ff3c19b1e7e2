/**
 * The election contract. A backend decides when this node holds the VIP
 * and tells the daemon through the {@link ElectionHost}; the daemon feeds it
 * health, link changes and shutdown. A backend owns its own sockets (and
 * reopens them when the interface is recreated). Backends are built by an
 * {@link ElectionBackend}'s factory from the configuration.
 *
 * @module
 */
import type { VipProbeFactory } from "../announce/mod.ts";
import type { Clock } from "../clock/mod.ts";
import type { Config } from "../config/mod.ts";
import type { Link, RouteClient } from "../netlink/mod.ts";
import type { Logger, Metrics } from "../observe/mod.ts";

/**
 * What an elector asks the daemon to do. With dual stack there are two
 * VIPs: `vip` (the address, no prefix length) names the one to act on;
 * without it, every VIP (a backend that moves them as one).
 */
export interface ElectionHost {
  /**
   * Put the VIP(s) on the interface. Throws on failure. Without
   * `lifetimeS` it gets `announce.vip_lifetime` and the holder refreshes it
   * every second; with `lifetimeS` it gets exactly that, and only
   * {@link refreshVip} renews it (the Lease backend: only after a
   * successful renewal).
   */
  addVip(vip?: string, options?: { lifetimeS?: number }): Promise<void>;
  /**
   * Resets the valid lifetime of VIP(s) added with `lifetimeS` to
   * `lifetimeS` seconds. Throws on failure (the old lifetime still runs).
   */
  refreshVip(lifetimeS: number, vip?: string): Promise<void>;
  /** Send the gratuitous ARP / NA burst for the VIP(s) now. */
  announce(vip?: string): void;
  /** Remove the VIP(s). */
  removeVip(vip?: string): Promise<void>;
  /**
   * The backend cannot work without `address` on the VIP interface (the
   * VRRP advertisement source): while it is missing the daemon blocks this
   * node with `reason` (see {@link Elector.setHoldBlock}), and the VIP
   * holder refuses to claim or refresh the VIP. Call it from the factory.
   * `vip` names the VIP whose holder depends on it (dual stack); without
   * it, the VIP of the address's family.
   */
  requireAddress(address: string, reason: string, vip?: string): void;
  /** Where the backend logs (component already set). */
  log: Logger;
  /** Where the backend counts. */
  metrics: Metrics;
}

/** The VIP interface as the daemon's link watcher sees it. */
export interface LinkState {
  /** The latest snapshot of the interface, or null while it is gone. */
  link: Link | null;
  /** Administratively up and with carrier. */
  up: boolean;
  /** Why not up ("no carrier", "administratively down", "gone: ..."). */
  reason: string;
  /** Its old index, when it was deleted and created again (up again now). */
  recreatedFrom?: number;
}

/** What every backend's `/status` part says; backends add their own fields. */
export interface ElectionStatusBase {
  /** The backend: `election.mode`. */
  backend: string;
  /** The backend's state, e.g. `"master"`, `"backup"`. */
  state: string;
  /** Whether the backend wants this node to hold the VIP. */
  holding: boolean;
  /** Whether this node may hold the VIP. */
  eligible: boolean;
  /** Why not, when not eligible. */
  ineligible_reason?: string;
  /** One line for people: `vrrp master, priority 150, master 10.0.0.11`. */
  summary: string;
  /**
   * In a planned handoff (`ha-vip handoff`): out of the election until it
   * ends or is cancelled.
   */
  stepped_out?: boolean;
}

/**
 * A planned handoff: give the VIP up make-before-break (a successor takes
 * it before this node lets go) and stay out of the election for `forMs`,
 * or until cancelled or restarted when null.
 */
export interface HandoffRequest {
  /** How long to stay out, or null: until cancelled. */
  forMs: number | null;
  /** For log lines (who asked, for how long). */
  reason: string;
}

/** Values of the daemon's start-up log line a backend contributes. */
export type StartFields = Readonly<Record<string, string | number>>;

/** A running election backend. */
export interface Elector<S extends ElectionStatusBase = ElectionStatusBase>
  extends AsyncDisposable {
  /** Runs until the backend has handed over after `shutdown` (or failed). */
  run(): Promise<void>;
  /** The stable health verdict: only an eligible node may hold the VIP. */
  setEligible(eligible: boolean, reason?: string): void;
  /**
   * A condition of the host forbids holding the VIP (`reason`), or no
   * longer does (null): one per `cause` (`"source"`, `"subnet"`). Unlike
   * health, holding the VIP is then itself the harm: a holder drops it at
   * once, without make-before-break. `vip` (dual stack) names the VIP the
   * condition is about; a backend that moves its VIPs as one ignores it.
   */
  setHoldBlock(cause: string, reason: string | null, vip?: string): void;
  /**
   * The VIP interface changed (or a resync re-read it): up, down, gone,
   * or recreated with a new index (reopen sockets bound to the old one).
   */
  linkChanged(state: LinkState): void;
  /** Leave; `force` (a second signal) releases at once. */
  shutdown(force?: boolean): void;
  /**
   * A configuration re-read (SIGHUP): apply what this backend can change
   * while running (VRRP: priority and preempt); the daemon has already
   * named the fields that need a restart.
   */
  reconfigure(config: Config): void;
  /**
   * Steps out of the election (a {@link HandoffRequest}), or back in with
   * null. A backend that cannot hand over without a gap (no other node
   * takes the VIP) keeps it, cancels the step-out and says so in its log;
   * `status().stepped_out` tells how it went.
   */
  handoff(request: HandoffRequest | null): void;
  /** This backend's part of `/status`. */
  status(): S;
  /** What the start-up line says about this backend (mode, transport, ...). */
  startFields(): StartFields;
}

/** What a factory gets to build an elector. */
export interface ElectorContext {
  /** The whole configuration: a backend maps its own section. */
  config: Config;
  /** The VIP interface at start. */
  link: Link;
  /** Reads of links and addresses (not the VIP holder's socket). */
  route: RouteClient;
  /** The daemon's side of the contract. */
  host: ElectionHost;
  /** Time for timers and deadlines. */
  clock: Clock;
  /** Opens an ARP probe for the VIP on the interface (a fake in tests). */
  openVipProbe: VipProbeFactory;
  /**
   * JSON requests to THIS node's API server (the health target, never the
   * VIP or the in-cluster service address: the VIP must not depend on
   * itself), with the configured credentials; undefined when
   * `k8s.enabled` is false.
   */
  localApi?: LocalApi;
}

/** Per-request options of {@link LocalApi}. */
export interface LocalApiOptions {
  /** Time limit of the request. */
  timeoutMs?: number;
  /** Aborts it. */
  signal?: AbortSignal;
}

/**
 * JSON requests to the local API server: a non-2xx answer throws lib/k8s's
 * `HttpStatusError`, a transport failure its `ApiError`.
 */
export interface LocalApi {
  /** GET `path`, parsed. */
  getJson<T = unknown>(path: string, options?: LocalApiOptions): Promise<T>;
  /** POST `body` as JSON. */
  postJson<T = unknown>(
    path: string,
    body: unknown,
    options?: LocalApiOptions,
  ): Promise<T>;
  /** PUT `body` as JSON. */
  putJson<T = unknown>(
    path: string,
    body: unknown,
    options?: LocalApiOptions,
  ): Promise<T>;
}

/**
 * A backend's factory: one per `election.mode`. `create` opens what the
 * backend needs (sockets, API clients) and throws an
 * {@link ElectionStartError} for conditions the operator must fix.
 */
export interface ElectionBackend<
  S extends ElectionStatusBase = ElectionStatusBase,
> {
  /** The `election.mode` it implements. */
  readonly mode: string;
  /** Builds a ready-to-run elector. */
  create(context: ElectorContext): Promise<Elector<S>>;
}

/** A condition that stops a backend from starting (exit 1, one line). */
export class ElectionStartError extends Error {
  /** `message` says what is wrong and how to fix it. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ElectionStartError";
  }
}
