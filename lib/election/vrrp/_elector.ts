/**
 * The VRRPv3 elector: the pure state machine of `lib/vrrp`, driven by the
 * clock, its raw socket and the daemon's events. All decisions are in
 * `step`; this file only moves events in and actions out.
 *
 * @module
 */
import type { Clock } from "../../clock/mod.ts";
import type { Config } from "../../config/mod.ts";
import {
  createVrrpState,
  DROP_REASONS,
  type DropReason,
  familyOf,
  HANDOFF_CAUSE,
  holdsVip,
  isSilentDrop,
  receiveDatagram,
  step,
  type StepResult,
  type ValidateOptions,
  type VrrpAction,
  type VrrpConfig,
  type VrrpDatagram,
  type VrrpEvent,
  type VrrpSocket,
  type VrrpSocketOptions,
  type VrrpState,
} from "../../vrrp/mod.ts";
import {
  type AuthConfig,
  EMPTY_REPLAY_STATE,
  type ReplayState,
} from "../../vrrp_auth/mod.ts";
import type {
  ElectionHost,
  ElectionStatusBase,
  Elector,
  HandoffRequest,
  LinkState,
  StartFields,
} from "../_contract.ts";

/** The VRRP backend's part of `/status`. */
export interface VrrpElectionStatus extends ElectionStatusBase {
  /** Always `"vrrp"`. */
  backend: "vrrp";
  /** The current master's address as far as this node knows. */
  master: string | null;
  /** Whether the VRRP interface is up. */
  interface_up: boolean;
  /** This node's configured priority. */
  priority: number;
  /** Master_Adver_Interval, learned from the master's adverts. */
  master_adver_interval_ms: number;
  /** The virtual router's family (dual stack: one router per family). */
  family?: 4 | 6;
  /** Our advertisement source (IPv6: link-local). */
  source?: string;
  /** Authentication: `off`, or the mode and the active key. */
  auth?: string;
  /** Dual stack: each family's virtual router. */
  routers?: VrrpElectionStatus[];
}

/** Options of {@link VrrpElector}. */
export interface VrrpElectorOptions {
  /** The state machine's configuration. */
  machine: VrrpConfig;
  /** Virtual router id. */
  vrid: number;
  /** The VIP address(es) carried in advertisements (no prefix length). */
  addresses: string[];
  /**
   * The VIP this router moves through the host (dual stack: its family's);
   * absent: all of them.
   */
  vip?: string;
  /** Authentication settings; absent: adverts are not authenticated. */
  auth?: AuthConfig;
  /**
   * Labels added to this router's per-router metrics (dual stack:
   * `{ family: "6" }`, so the two routers' states do not overwrite each
   * other); default none.
   */
  labels?: Readonly<Record<string, string>>;
  /** The open socket. */
  socket: VrrpSocket;
  /** How `socket` was opened: reopened like this on a recreated interface. */
  socketOptions: VrrpSocketOptions;
  /** The index of the interface `socket` is bound to. */
  ifindex: number;
  /** Opens a socket (the real one, or a fake network's). */
  openSocket: (options: VrrpSocketOptions) => VrrpSocket;
  /** The daemon's side. */
  host: ElectionHost;
  /** Time. */
  clock: Clock;
}

type Queued = VrrpEvent extends infer E
  ? E extends VrrpEvent ? Omit<E, "nowMs"> : never
  : never;

const PHASES = [
  "initialize",
  "backup",
  "master",
  "yielding",
  "leaving",
  "stopped",
] as const;

/** Longest wait for a packet when no timer is due (events still wake it). */
const IDLE_WAIT_MS = 1000;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** VRRPv3 election (RFC 5798), wire-compatible with keepalived. */
export class VrrpElector implements Elector<VrrpElectionStatus> {
  readonly #o: VrrpElectorOptions;
  readonly #validation: ValidateOptions;
  #state: VrrpState;
  #socket: VrrpSocket;
  #socketOptions: VrrpSocketOptions;
  #ifindex: number;
  #deadline: number | null = null;
  // Events wait here without a time: they are stamped when handled, so a
  // timer armed by one (the priority-0 resend) runs from when it was sent.
  #queue: Queued[] = [];
  #wake?: AbortController;
  #done = false;
  #sendFailing = false;
  #lastDropLog = new Map<string, number>();
  #replay: ReplayState = EMPTY_REPLAY_STATE;

  /** A stopped elector; {@link run} starts it. */
  constructor(options: VrrpElectorOptions) {
    this.#o = options;
    this.#socket = options.socket;
    this.#socketOptions = options.socketOptions;
    this.#ifindex = options.ifindex;
    this.#state = createVrrpState(options.machine, {
      eligible: false,
      interfaceUp: true,
    });
    this.#validation = {
      vrid: options.vrid,
      addresses: options.addresses,
      primaryIp: options.machine.primaryIp,
      allowedSources: options.socketOptions.peers?.length
        ? [...options.socketOptions.peers]
        : undefined,
    };
    this.#declareMetrics();
    this.#setStateGauge();
  }

  /** The current state (tests, status). */
  get state(): VrrpState {
    return this.#state;
  }

  /** The VIP this router moves (dual stack), or undefined: all of them. */
  get vip(): string | undefined {
    return this.#o.vip;
  }

  #enqueue(event: Queued): void {
    this.#queue.push(event);
    this.#wake?.abort();
  }

  setEligible(eligible: boolean, reason?: string): void {
    this.#enqueue({ type: "eligibility", eligible, reason });
  }

  setHoldBlock(cause: string, reason: string | null): void {
    this.#enqueue({
      type: "eligibility",
      cause,
      eligible: reason === null,
      reason: reason ?? undefined,
      immediate: true,
    });
  }

  linkChanged(s: LinkState): void {
    const link = s.link;
    if (
      s.up && link !== null && link.index !== (this.#ifindex ??= link.index)
    ) {
      // Recreated: the socket is bound to the old interface.
      this.#enqueue({ type: "interface", up: false });
      if (!this.#reopen(link.name, link.index)) return;
    }
    this.#enqueue({ type: "interface", up: s.up });
  }

  #reopen(name: string, index: number): boolean {
    const options = { ...this.#socketOptions, interface: name };
    try {
      const fresh = this.#o.openSocket(options);
      this.#socket.close();
      this.#socket = fresh;
      this.#socketOptions = options;
      this.#ifindex = index;
      this.#wake?.abort();
      this.#o.host.log.info(`reopened the VRRP socket on ${name} (#${index})`);
      return true;
    } catch (err) {
      // Stay down; the next link event (or resync) tries again.
      this.#o.host.log.error(`cannot reopen the VRRP socket on ${name}`, {
        error: errorText(err),
      });
      return false;
    }
  }

  shutdown(force = false): void {
    this.#enqueue({ type: "shutdown", force });
  }

  reconfigure(config: Config): void {
    const { priority, preempt } = config.election.vrrp;
    this.#enqueue({ type: "settings", priority, preempt });
  }

  handoff(request: HandoffRequest | null): void {
    if (request === null) {
      this.#enqueue({
        type: "eligibility",
        cause: HANDOFF_CAUSE,
        eligible: true,
      });
      return;
    }
    this.#enqueue({
      type: "eligibility",
      cause: HANDOFF_CAUSE,
      eligible: false,
      reason: request.reason,
      forMs: request.forMs ?? undefined,
    });
  }

  status(): VrrpElectionStatus {
    const s = this.#state;
    const summary = `vrrp ${s.phase}, priority ${s.config.priority}, master ${
      s.master ?? "unknown"
    }`;
    return {
      backend: "vrrp",
      state: s.phase,
      master: s.master,
      holding: holdsVip(s),
      eligible: s.eligible,
      ineligible_reason: s.eligible ? undefined : s.ineligibleReason,
      interface_up: s.interfaceUp,
      priority: s.config.priority,
      master_adver_interval_ms: s.masterAdverIntervalMs,
      stepped_out: s.blocks.some((b) => b.cause === HANDOFF_CAUSE),
      family: familyOf(s.config.primaryIp),
      source: s.config.primaryIp,
      auth: this.#authText(),
      summary,
    };
  }

  #authText(): string {
    const a = this.#o.auth;
    if (a === undefined) return "off";
    return `${a.mode}, key ${a.activeKeyId} (of ${a.keys.size}), anti-replay ${a.antiReplay}`;
  }

  startFields(): StartFields {
    return {
      mode: "vrrp",
      vrid: this.#o.vrid,
      priority: this.#state.config.priority,
      source: this.#state.config.primaryIp,
      transport: this.#socket.mode,
      auth: this.#authText(),
    };
  }

  /** Closes the socket (at the end of the daemon). */
  [Symbol.asyncDispose](): Promise<void> {
    this.#socket.close();
    return Promise.resolve();
  }

  async run(): Promise<void> {
    // What is already known (health off: eligible) counts from the start.
    while (this.#queue.length > 0 && !this.#done) await this.#handleQueued();
    await this.#apply(
      step(this.#state, { type: "startup", nowMs: this.#o.clock.now() }),
    );
    while (!this.#done) {
      if (this.#queue.length > 0) {
        await this.#handleQueued();
        continue;
      }
      const now = this.#o.clock.now();
      if (this.#deadline !== null && this.#deadline <= now) {
        await this.#apply(step(this.#state, { type: "tick", nowMs: now }));
        continue;
      }
      const wait = this.#deadline === null
        ? IDLE_WAIT_MS
        : Math.min(IDLE_WAIT_MS, this.#deadline - now);
      const datagram = await this.#receive(wait);
      if (datagram !== null) await this.#received(datagram);
    }
  }

  async #handleQueued(): Promise<void> {
    const event = this.#queue.shift()!;
    const nowMs = this.#o.clock.now();
    await this.#apply(step(this.#state, { ...event, nowMs } as VrrpEvent));
  }

  /** Waits for a datagram; a queued event ends the wait early (null). */
  async #receive(waitMs: number): Promise<VrrpDatagram | null> {
    const wake = new AbortController();
    this.#wake = wake;
    try {
      return await this.#socket.recv({
        timeoutMs: Math.max(1, Math.ceil(waitMs)),
        signal: wake.signal,
      });
    } catch (err) {
      this.#o.host.log.error("VRRP receive failed", { error: errorText(err) });
      await this.#o.clock.sleep(100);
      return null;
    } finally {
      this.#wake = undefined;
    }
  }

  async #received(datagram: VrrpDatagram): Promise<void> {
    const auth = this.#o.auth;
    const r = receiveDatagram(this.#state, {
      datagram,
      nowMs: this.#o.clock.now(),
      validation: this.#validation,
      auth: auth === undefined ? undefined : {
        config: auth,
        replay: this.#replay,
        wallMs: this.#o.clock.wallNow?.() ?? Date.now(),
      },
    });
    // Moves only with an accepted signed advert (same object otherwise).
    if (r.replay !== undefined) this.#replay = r.replay;
    if (r.drop !== null) {
      const p = r.packet as { detail?: string; src?: string };
      this.#countDrop(r.drop, p.detail ?? "", p.src);
      return;
    }
    this.#o.host.metrics.inc(
      "havip_vrrp_adverts_received_total",
      "Valid VRRP advertisements received.",
    );
    await this.#apply(r);
  }

  async #apply(result: StepResult): Promise<void> {
    this.#state = result.state;
    this.#deadline = result.nextDeadlineMs;
    for (const action of result.actions) await this.#perform(action);
  }

  async #perform(action: VrrpAction): Promise<void> {
    const { host } = this.#o;
    switch (action.type) {
      case "send":
        return this.#send(action.priority);
      case "addVip":
        return await this.#addVip();
      case "announce":
        return host.announce(this.#o.vip);
      case "removeVip":
        return await this.#removeVip();
      case "exit":
        this.#done = true;
        return;
      case "stateChange":
        host.log.info(`VRRP ${action.from} -> ${action.to}: ${action.reason}`, {
          state: action.to,
          reason: action.reason,
        });
        host.metrics.inc("havip_state_changes_total", "VRRP state changes.", {
          ...this.#o.labels,
          to: action.to,
        });
        return this.#setStateGauge();
      case "log":
        return host.log[action.level](action.message);
    }
  }

  #send(priority: number): void {
    const addresses = this.#o.addresses;
    const failures = this.#socket.send({
      vrid: this.#o.vrid,
      priority,
      maxAdvertIntervalCs: this.#state.config.advertIntervalCs,
      addresses,
    });
    const m = this.#o.host.metrics;
    // Only what went out counts as sent.
    const destinations = this.#socketOptions.peers?.length || 1;
    if (failures.length < destinations) {
      m.inc("havip_vrrp_adverts_sent_total", "VRRP advertisements sent.");
    }
    for (const _ of failures) {
      m.inc(
        "havip_vrrp_send_errors_total",
        "VRRP advertisements that could not be sent, per destination.",
      );
    }
    if (failures.length > 0 && !this.#sendFailing) {
      this.#o.host.log.warn("cannot send VRRP advertisement", {
        failures: failures.map((f) => `${f.dst}: ${f.error.message}`)
          .join("; "),
      });
    }
    this.#sendFailing = failures.length > 0;
    if (failures.length >= destinations && priority > 0) {
      // Nobody hears this node: it must not hold the VIP (its peers take
      // over by their timers). Held off for a while, then it tries again.
      this.#enqueue({
        type: "eligibility",
        cause: "send",
        eligible: false,
        immediate: true,
        forMs: this.#state.config.vipFaultHoldoffMs,
        reason: `cannot advertise from ${this.#state.config.primaryIp}: ${
          failures[0].error.message
        }`,
      });
    }
  }

  async #addVip(): Promise<void> {
    try {
      await this.#o.host.addVip(this.#o.vip);
    } catch (err) {
      // Without the VIP this node must not stay master: the machine holds
      // it off for a while (priority 0 lets a peer take over at once).
      const reason = `cannot add the VIP: ${errorText(err)}`;
      this.#o.host.log.error(reason);
      this.#enqueue({ type: "vipFault", reason });
    }
  }

  async #removeVip(): Promise<void> {
    try {
      await this.#o.host.removeVip(this.#o.vip);
    } catch (err) {
      // The lifetime still removes it by itself; say so.
      this.#o.host.log.error(
        "cannot remove the VIP; it expires by its lifetime",
        { error: errorText(err) },
      );
    }
  }

  #declareMetrics(): void {
    const m = this.#o.host.metrics;
    for (const reason of DROP_REASONS) {
      m.declare(
        "havip_vrrp_dropped_total",
        "VRRP packets dropped, by reason.",
        "counter",
        { reason },
      );
    }
    m.declare(
      "havip_vrrp_adverts_sent_total",
      "VRRP advertisements sent.",
      "counter",
    );
    m.declare(
      "havip_vrrp_send_errors_total",
      "VRRP advertisements that could not be sent, per destination.",
      "counter",
    );
    m.declare(
      "havip_vrrp_adverts_received_total",
      "Valid VRRP advertisements received.",
      "counter",
    );
  }

  #setStateGauge(): void {
    for (const phase of PHASES) {
      this.#o.host.metrics.set(
        "havip_vrrp_state",
        "1 for the current VRRP state.",
        phase === this.#state.phase ? 1 : 0,
        { ...this.#o.labels, state: phase },
      );
    }
  }

  #countDrop(reason: DropReason, detail: string, src?: string): void {
    this.#o.host.metrics.inc(
      "havip_vrrp_dropped_total",
      "VRRP packets dropped, by reason.",
      { reason },
    );
    if (isSilentDrop(reason)) return;
    // One line per reason per 10 s: a hostile flood must not flood the log.
    const now = this.#o.clock.now();
    const last = this.#lastDropLog.get(reason) ?? -Infinity;
    if (now - last >= 10_000) {
      this.#lastDropLog.set(reason, now);
      this.#o.host.log.warn("dropped VRRP packet", { reason, detail, src });
    }
  }
}
