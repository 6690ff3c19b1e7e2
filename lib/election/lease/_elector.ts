/**
 * The Lease elector: `lib/lease`'s pure machine driven by the clock, this
 * node's API server and the daemon's events. All decisions are in `step`;
 * this file moves events in and actions out: requests run in the
 * background and come back as `response` events, the VIP moves through the
 * daemon's holder, and the ARP probe of a handover runs until it hears the
 * VIP go quiet.
 *
 * @module
 */
import {
  type VipProbe,
  type VipProbeFactory,
  waitUntilUnanswered,
} from "../../announce/mod.ts";
import type { Clock } from "../../clock/mod.ts";
import type { Config } from "../../config/mod.ts";
import {
  type ApiResult,
  createLeaseState,
  ineligibleReason,
  isEligible,
  type LeaseAction,
  type LeaseEvent,
  type LeaseMachineConfig,
  type LeasePhase,
  type LeaseState,
  step,
  steppedOut,
  type StepResult,
  wallMicros,
} from "../../lease/mod.ts";
import type {
  ElectionHost,
  ElectionStatusBase,
  Elector,
  HandoffRequest,
  LinkState,
  StartFields,
} from "../_contract.ts";
import type { LeaseApi } from "./_api.ts";

/** The Lease backend's part of `/status`. */
export interface LeaseElectionStatus extends ElectionStatusBase {
  /** Always `"lease"`. */
  backend: "lease";
  /** `namespace/name` of the Lease. */
  lease: string;
  /** The holder this node last saw in the Lease (`""`: nobody). */
  holder: string;
  /** `leaseTransitions` as last seen. */
  transitions: number | null;
  /** ms since this node's last successful renewal was sent (null: not holding). */
  last_renewal_ms: number | null;
  /** ms until the VIP's fenced lifetime ends (null: no VIP). */
  vip_lifetime_left_ms: number | null;
  /** Whether the VIP interface is up. */
  interface_up: boolean;
}

/** What the elector asks of the Lease (the real API, or a fake in tests). */
export interface LeaseRequests {
  /** `kube-system/ha-vip`, for messages. */
  readonly description: string;
  /** Performs a request action; never throws. */
  perform(
    action: Extract<LeaseAction, { type: "get" | "create" | "update" }>,
    signal?: AbortSignal,
  ): Promise<ApiResult>;
}

/** Options of {@link LeaseElector}. */
export interface LeaseElectorOptions {
  /** The machine's configuration. */
  machine: LeaseMachineConfig;
  /** The Lease. */
  api: LeaseRequests | LeaseApi;
  /** Opens the handover's ARP probe. */
  openProbe: VipProbeFactory;
  /** The VIP (address only) and the interface, for the probe. */
  vip: string;
  /** Index and MAC of the VIP interface. */
  link: { index: number; mac: string };
  /** The daemon's side. */
  host: ElectionHost;
  /** Time. */
  clock: Clock;
  /** Wall clock in µs for the Lease's timestamps (default the system's). */
  wall?: () => number;
}

type Queued = LeaseEvent extends infer E
  ? E extends LeaseEvent ? Omit<E, "nowMs"> : never
  : never;

const PHASES: LeasePhase[] = [
  "follower",
  "claiming",
  "holder",
  "releasing",
  "stopped",
];

/** Longest idle wait; queued events end it at once. */
const IDLE_WAIT_MS = 1000;

/** How long requests still running at the end may take (a forced release). */
const FINAL_REQUEST_MS = 1000;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Lease election (client-go's rules), fenced by the VIP's lifetime. */
export class LeaseElector implements Elector<LeaseElectionStatus> {
  readonly #o: LeaseElectorOptions;
  readonly #wall: () => number;
  #state: LeaseState;
  #deadline: number | null = null;
  #queue: Queued[] = [];
  #wake?: AbortController;
  #done = false;
  #link: { index: number; mac: string };
  #probe?: { abort: AbortController; socket?: VipProbe };
  /** Requests still running (awaited at the end). */
  readonly #inflight = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  #apiProblem = "";

  /** A stopped elector; {@link run} starts it. Throws a RangeError for a bad timing. */
  constructor(options: LeaseElectorOptions) {
    this.#o = options;
    this.#wall = options.wall ?? wallMicros;
    this.#link = options.link;
    this.#state = createLeaseState(options.machine);
    this.#setStateGauge();
  }

  /** The machine's state (tests, status). */
  get state(): LeaseState {
    return this.#state;
  }

  #enqueue(event: Queued): void {
    this.#queue.push(event);
    this.#wake?.abort();
  }

  setEligible(eligible: boolean, reason?: string): void {
    this.#enqueue({ type: "eligibility", eligible, reason });
  }

  setHoldBlock(cause: string, reason: string | null): void {
    this.#enqueue({ type: "holdBlock", cause, reason });
  }

  /**
   * Nothing of `election.lease` can change while running: the timing is
   * part of the fencing plan the VIP's lifetimes were derived from, and
   * the Lease's name is what the peers watch. The daemon names those
   * fields as needing a restart; this says so for the backend.
   */
  reconfigure(_config: Config): void {
    this.#o.host.log.debug(
      "lease backend: no election setting applies while running",
    );
  }

  linkChanged(s: LinkState): void {
    if (s.up && s.link !== null) {
      this.#link = { index: s.link.index, mac: s.link.mac };
    }
    this.#enqueue({ type: "interface", up: s.up });
  }

  shutdown(force = false): void {
    this.#enqueue({ type: "shutdown", force });
  }

  /**
   * Steps out (the machine releases make-before-break, and takes the Lease
   * back, keeping the VIP, when no other node takes it over), or back in.
   */
  handoff(request: HandoffRequest | null): void {
    this.#enqueue({
      type: "handoff",
      request: request === null
        ? null
        : { forMs: request.forMs, reason: request.reason },
    });
  }

  status(): LeaseElectionStatus {
    const s = this.#state;
    const now = this.#o.clock.now();
    const holder = s.observed?.record.holderIdentity ?? "";
    const reason = ineligibleReason(s, now);
    return {
      backend: "lease",
      state: s.phase,
      holding: s.vipHeld,
      eligible: isEligible(s, now),
      ineligible_reason: reason === "" ? undefined : reason,
      summary: `lease ${s.phase}, ${this.#o.api.description} held by ${
        holder === "" ? "nobody" : holder
      }`,
      lease: this.#o.api.description,
      holder,
      transitions: s.observed?.record.leaseTransitions ?? null,
      last_renewal_ms: s.lastWriteOkMs === null
        ? null
        : Math.round(now - s.lastWriteOkMs),
      vip_lifetime_left_ms: s.vipExpiresMs === null
        ? null
        : Math.max(0, Math.round(s.vipExpiresMs - now)),
      interface_up: s.interfaceUp,
      stepped_out: steppedOut(s, now),
    };
  }

  startFields(): StartFields {
    const c = this.#state.config;
    return {
      mode: "lease",
      lease: this.#o.api.description,
      identity: c.identity,
      timing: `${c.durationMs / 1000}s/${c.renewDeadlineMs / 1000}s/${
        c.retryPeriodMs / 1000
      }s`,
    };
  }

  /** Stops the probe and waits for requests still running. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stopProbe();
    this.#stop.abort();
    await Promise.allSettled([...this.#inflight]);
  }

  async run(): Promise<void> {
    // What is already known (health off: eligible) counts from the start.
    while (this.#queue.length > 0 && !this.#done) await this.#handleQueued();
    await this.#apply(this.#step({ type: "start" }));
    while (!this.#done) {
      if (this.#queue.length > 0) {
        await this.#handleQueued();
        continue;
      }
      const now = this.#o.clock.now();
      if (this.#deadline !== null && this.#deadline <= now) {
        await this.#apply(this.#step({ type: "tick" }));
        continue;
      }
      const wait = this.#deadline === null
        ? IDLE_WAIT_MS
        : Math.min(IDLE_WAIT_MS, this.#deadline - now);
      const wake = new AbortController();
      this.#wake = wake;
      await this.#o.clock.sleep(Math.max(1, Math.ceil(wait)), wake.signal);
      this.#wake = undefined;
    }
    this.#stopProbe();
    // A forced release (second signal) gets a moment to reach the API
    // server; anything else still running is cut off.
    await Promise.race([
      Promise.allSettled([...this.#inflight]),
      this.#o.clock.sleep(FINAL_REQUEST_MS),
    ]);
    this.#stop.abort();
  }

  #step(event: Queued): StepResult {
    const nowMs = this.#o.clock.now();
    return step(this.#state, { ...event, nowMs } as LeaseEvent, this.#wall());
  }

  async #handleQueued(): Promise<void> {
    await this.#apply(this.#step(this.#queue.shift()!));
  }

  async #apply(result: StepResult): Promise<void> {
    this.#state = result.state;
    this.#deadline = result.nextDeadlineMs;
    for (const action of result.actions) await this.#perform(action);
  }

  async #perform(action: LeaseAction): Promise<void> {
    const { host } = this.#o;
    switch (action.type) {
      case "get":
      case "create":
      case "update":
        return this.#request(action);
      case "addVip":
        return await this.#addVip(action.lifetimeS);
      case "refreshVip":
        return await this.#refreshVip(action.lifetimeS);
      case "removeVip":
        return await this.#removeVip();
      case "probeVip":
        return this.#startProbe();
      case "cancelProbe":
        return this.#stopProbe();
      case "leader":
        host.log.info(
          action.identity === ""
            ? `lease ${this.#o.api.description} has no holder`
            : `lease ${this.#o.api.description} is held by ${action.identity}`,
          { holder: action.identity },
        );
        return;
      case "stateChange":
        host.log.info(
          `lease ${action.from} -> ${action.to}: ${action.reason}`,
          { state: action.to, reason: action.reason },
        );
        host.metrics.inc(
          "havip_state_changes_total",
          "Election state changes.",
          { to: action.to },
        );
        return this.#setStateGauge();
      case "log":
        return host.log[action.level](action.message);
      case "exit":
        this.#done = true;
        return;
    }
  }

  /** Starts a request; its answer comes back as a `response` event. */
  #request(
    action: Extract<LeaseAction, { type: "get" | "create" | "update" }>,
  ): void {
    const p = this.#o.api.perform(action, this.#stop.signal).then(
      (result) => {
        this.#countRequest(action.type, result);
        if (!this.#done) {
          this.#enqueue({ type: "response", id: action.id, result });
        }
      },
    );
    this.#inflight.add(p);
    p.finally(() => this.#inflight.delete(p));
  }

  #countRequest(verb: string, result: ApiResult): void {
    this.#o.host.metrics.inc(
      "havip_lease_requests_total",
      "Lease requests to the local API server, by verb and result.",
      { verb, result: result.kind },
    );
    const log = this.#o.host.log;
    if (result.kind === "error") {
      // One line per distinct problem: a dead API server would fill the log.
      if (result.message !== this.#apiProblem) log.warn(result.message);
      this.#apiProblem = result.message;
    } else if (this.#apiProblem !== "") {
      log.info(`lease requests work again (${verb})`);
      this.#apiProblem = "";
    }
  }

  async #addVip(lifetimeS: number): Promise<void> {
    try {
      await this.#o.host.addVip(undefined, { lifetimeS });
      this.#o.host.announce();
    } catch (err) {
      const reason = errorText(err);
      this.#o.host.log.error(`cannot add the VIP: ${reason}`);
      this.#enqueue({ type: "vipAddFailed", reason });
    }
  }

  async #refreshVip(lifetimeS: number): Promise<void> {
    try {
      await this.#o.host.refreshVip(lifetimeS);
    } catch (err) {
      // The earlier lifetime still runs (and is still fenced).
      this.#o.host.log.error("cannot refresh the VIP lifetime", {
        error: errorText(err),
      });
    }
  }

  async #removeVip(): Promise<void> {
    try {
      await this.#o.host.removeVip();
    } catch (err) {
      this.#o.host.log.error(
        "cannot remove the VIP; it expires by its lifetime",
        { error: errorText(err) },
      );
    }
  }

  #startProbe(): void {
    this.#stopProbe();
    const abort = new AbortController();
    const probe: { abort: AbortController; socket?: VipProbe } = { abort };
    this.#probe = probe;
    try {
      probe.socket = this.#o.openProbe({
        ifindex: this.#link.index,
        mac: this.#link.mac,
        ip: this.#o.vip,
      });
    } catch (err) {
      // Without a probe nobody can be heard: the machine then waits for the
      // previous holder's lifetime (a released lease) or adds at once.
      this.#o.host.log.warn("cannot open the ARP probe for the VIP", {
        error: errorText(err),
      });
      this.#enqueue({ type: "vipFree", seenAnswered: false });
      return;
    }
    const socket = probe.socket;
    waitUntilUnanswered(socket, { clock: this.#o.clock, signal: abort.signal })
      .then((r) => {
        if (r === null || this.#probe !== probe) return;
        if (r.lastAnsweredBy) {
          this.#o.host.log.info(
            `the previous holder (${r.lastAnsweredBy}) no longer answers for the VIP`,
          );
        }
        this.#enqueue({ type: "vipFree", seenAnswered: r.seenAnswered });
      })
      .finally(() => void socket.close());
  }

  #stopProbe(): void {
    this.#probe?.abort.abort();
    this.#probe = undefined;
  }

  #setStateGauge(): void {
    for (const phase of PHASES) {
      this.#o.host.metrics.set(
        "havip_lease_state",
        "1 for the current Lease election state.",
        phase === this.#state.phase ? 1 : 0,
        { state: phase },
      );
    }
  }
}
