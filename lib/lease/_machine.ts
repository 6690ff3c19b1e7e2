/**
 * Lease election as a pure state machine: `step(state, event)` returns the
 * next state, the actions to perform (API requests, VIP changes) and when
 * to call it again. No clock, no I/O, no randomness of its own (a seeded
 * generator lives in the state): the backend feeds real time and API
 * answers, tests a fake clock.
 *
 * The rules are client-go's leader election (`tryAcquireOrRenew`):
 * - acquire when the Lease does not exist (create), has an empty holder,
 *   or has expired: expiry is judged only by this node's monotonic clock,
 *   from the moment it saw the record change, plus the holder's advertised
 *   `leaseDurationSeconds`; `renewTime` is never compared with a clock;
 * - followers try every retry period × (1 + 1.2 × random) (client-go's
 *   JitterFactor); the holder renews every retry period, writing with the
 *   last resourceVersion; a 409 means another writer won (re-read to see
 *   who);
 * - the holder gives up (removes the VIP) once renew_deadline has passed
 *   since the last successful renewal was sent;
 * - `leaseTransitions` +1 whenever the holder changes; a release writes
 *   holder `""` and `leaseDurationSeconds: 1`.
 *
 * What ha-vip adds, each for a fault client-go does not have to care about:
 * - health gating: only an eligible node (stably ready, link up) writes a
 *   claim; a holder that stops being eligible releases;
 * - fencing by lifetime: the VIP's valid lifetime is set or refreshed only
 *   after a successful write, never beyond {@link lifetimeAfter}, so it has
 *   left the interface before any follower may take the lease; the machine
 *   also removes it itself when that lifetime ends;
 * - make-before-break release: the leaving holder keeps its VIP (refreshed
 *   once by the release write) until it sees another holder in the Lease or
 *   its lifetime ends;
 * - the taker's side of the same handover: after taking a lease that was
 *   released, or created where none existed, the new holder adds the VIP
 *   once an ARP probe finds it free (the previous holder has removed it),
 *   or when the previous holder's VIP must have expired anyway. So a
 *   planned handover has no two holders either, and its gap is one probe
 *   round;
 * - a follower also tries at the moment the observed lease expires (not
 *   only at its jittered period), which shortens a crash takeover by up to
 *   2.2 retry periods without changing who may take it;
 * - a planned handoff (`ha-vip handoff`): the node steps out of the
 *   election (not eligible) for a while; a holder releases make-before-break
 *   as on SIGTERM. If no successor holds the Lease by {@link takeBackAt}
 *   (every eligible follower has had its jittered try, and the VIP's fenced
 *   lifetime still leaves time for one write), the node takes the Lease
 *   back over the resourceVersion of its own release, keeps the VIP it
 *   never removed and cancels the handoff with a warning, as VRRP mode
 *   does: clients never lose the VIP to a handoff. The take-back is an
 *   ordinary optimistic write, so a successor that got there first wins it
 *   (409) and the handover completes instead: one holder, always.
 *
 * @module
 */
import type { Lease, LeaseRecord } from "./_codec.ts";
import { sameRecord } from "./_codec.ts";
import { fencingPlan, type LeaseTiming, lifetimeAfter } from "./_fencing.ts";

/** client-go's `JitterFactor`: followers wait retry × (1 + 1.2 × random). */
export const JITTER_FACTOR = 1.2;

/**
 * A releasing holder that sees its successor in the Lease keeps the VIP
 * this much longer: the successor adds it once its probe hears the old one
 * go, and by then its own claim has been answered, so clients see only
 * the probe's round (the successor's answer can trail our read of the
 * Lease by tens of ms on a busy API server).
 */
export const SUCCESSOR_GRACE_MS = 100;

/** Configuration of the machine. */
export interface LeaseMachineConfig extends LeaseTiming {
  /** This node's `holderIdentity` (the node name). */
  identity: string;
  /** Upper bound of the VIP lifetime, whole seconds (`announce.vip_lifetime`); default none. */
  vipLifetimeCapS?: number;
  /** How often a releasing holder polls for its successor (default retry/8, 50–250 ms). */
  handoverPollMs?: number;
  /** After a failed VIP add, how long this node stays out (default 5000 ms). */
  vipFaultHoldoffMs?: number;
  /** Seed of the jitter generator (default 1). */
  seed?: number;
}

/** A planned handoff in force: out of the election. */
export interface StepOut {
  /** When it ends by itself (monotonic ms); null: when cancelled. */
  readonly untilMs: number | null;
  /** Why, for the ineligible reason and logs. */
  readonly reason: string;
}

/**
 * A holder that stepped out for a planned handoff (the release may still
 * be in flight): it takes the Lease back, keeping its VIP, when no
 * successor shows by `takeBackAtMs` or the handoff is cancelled first.
 */
export interface HandoffRelease {
  /** Set once the release is written (null: not yet). */
  readonly takeBackAtMs: number | null;
  /** A take-back whose answer was lost was sent then (the earliest). */
  readonly reclaimSentMs: number | null;
}

/** Where the machine is. */
export type LeasePhase =
  /** Not holding the lease (observing, and claiming it when it may). */
  | "follower"
  /** Holding the lease, waiting for the previous holder's VIP to go. */
  | "claiming"
  /** Holding the lease and the VIP. */
  | "holder"
  /** Released the lease; keeping the VIP until a successor shows. */
  | "releasing"
  /** Done: the daemon has been told to exit. */
  | "stopped";

/** Why a request was sent, which decides what its answer means. */
export type Purpose =
  /** A follower's periodic try (GET, then create or update). */
  | "try"
  /** The holder's renewal (update; create if the Lease was deleted). */
  | "renew"
  /** Writing holder "" (update). */
  | "release"
  /** After a 409: who holds it now? (GET) */
  | "verify"
  /** A releasing holder looking for its successor (GET). */
  | "poll"
  /** A releasing holder taking its released Lease back (handoff). */
  | "reclaim"
  /** Best effort on a forced shutdown; the answer is not awaited. */
  | "final";

/** A request in flight (at most one at a time). */
export interface Inflight {
  /** Matches the `response` event that answers it. */
  readonly id: number;
  /** GET, POST or PUT. */
  readonly op: "get" | "create" | "update";
  /** What the answer will mean. */
  readonly purpose: Purpose;
  /** Monotonic time it was sent (the fencing reference on success). */
  readonly sentMs: number;
  /** For writes: the record sent. */
  readonly record?: LeaseRecord;
  /** For a claim: what it replaces (`null`: created, none existed). */
  readonly replaces?: Observation | null;
}

/** A record as observed, with this node's monotonic time of the change. */
export interface Observation {
  /** The record. */
  readonly record: LeaseRecord;
  /** Who released it keeping a VIP (the Lease's annotation), if anyone. */
  readonly releasedBy?: string;
  /** When this node saw the record change (ms, monotonic). */
  readonly atMs: number;
}

/** The whole state; treat it as immutable. */
export interface LeaseState {
  /** The configuration, defaults applied. */
  readonly config: Readonly<Required<LeaseMachineConfig>>;
  /** Where the machine is. */
  readonly phase: LeasePhase;
  /** Whether `start` has happened. */
  readonly started: boolean;
  /** Stable health verdict. */
  readonly healthy: boolean;
  /** Why not healthy ("" when healthy). */
  readonly healthReason: string;
  /**
   * What the host forbids holding the VIP for, by cause (the daemon's
   * address conditions: no own address in the VIP's subnet, ...).
   */
  readonly holdBlocks: Readonly<Record<string, string>>;
  /** Link state of the VIP's interface. */
  readonly interfaceUp: boolean;
  /** A planned handoff keeps the node out of the election (null: none). */
  readonly stepOut: StepOut | null;
  /** Stepping out as the holder: when to take the Lease back. */
  readonly handoffRelease: HandoffRelease | null;
  /** A shutdown was asked for. */
  readonly shuttingDown: boolean;
  /** A failed VIP add keeps the node out until then. */
  readonly faultUntilMs: number | null;
  /** Why the VIP fault keeps the node out. */
  readonly faultReason: string;
  /** The Lease as last read or written (resourceVersion, metadata). */
  readonly lease: Lease | null;
  /** The last record seen and when it changed. */
  readonly observed: Observation | null;
  /** `leaseDurationSeconds` of the last record held by another node. */
  readonly othersDurationS: number | null;
  /** That node. */
  readonly othersIdentity: string | null;
  /** A claim whose answer never came (it may have been written). */
  readonly lostClaim: {
    readonly record: LeaseRecord;
    readonly replaces: Observation | null;
  } | null;
  /** The request awaiting its answer, if any. */
  readonly inflight: Inflight | null;
  /** The last request id handed out. */
  readonly seq: number;
  /** When to send the next request (when none is in flight). */
  readonly nextTryMs: number | null;
  /** When the last successful write with our identity was sent. */
  readonly lastWriteOkMs: number | null;
  /** We put the VIP on the interface and have not removed it. */
  readonly vipHeld: boolean;
  /** When the lifetime we set ends (monotonic ms). */
  readonly vipExpiresMs: number | null;
  /** The ARP probe is running. */
  readonly probing: boolean;
  /**
   * What the last probe found: the VIP unanswered on the link, and whether
   * it had been answered before (`null`: no result yet).
   */
  readonly probeResult: { seenAnswered: boolean } | null;
  /**
   * Claiming a released lease: add the VIP early only on proof that the
   * previous holder removed it (answered, then unanswered).
   */
  readonly claimStrict: boolean;
  /** Claiming: add the VIP at this time even without the probe's word. */
  readonly claimDeadlineMs: number | null;
  /** Releasing: the successor seen in the Lease, and when to let go. */
  readonly successor: { readonly name: string; readonly atMs: number } | null;
  /** mulberry32 state. */
  readonly rng: number;
}

/** Answers of the API, as the backend classifies them. */
export type ApiResult =
  /** 200/201 with a valid Lease. */
  | { kind: "lease"; lease: Lease }
  /** 404. */
  | { kind: "notFound" }
  /** 409 (Conflict on update, AlreadyExists on create). */
  | { kind: "conflict" }
  /** Anything else: transport failure, 401/403/5xx, a malformed answer. */
  | { kind: "error"; message: string };

/** Inputs of {@link step}; every event carries the time it is handled. */
export type LeaseEvent =
  | { type: "start"; nowMs: number }
  | { type: "tick"; nowMs: number }
  | { type: "eligibility"; nowMs: number; eligible: boolean; reason?: string }
  | { type: "interface"; nowMs: number; up: boolean }
  /**
   * The host forbids holding the VIP for `cause` (`reason`), or no longer
   * does (null). Unlike health, holding the VIP is then itself the harm:
   * a holder removes it at once (no make-before-break) and releases the
   * Lease, so a follower takes over on its next try.
   */
  | {
    type: "holdBlock";
    nowMs: number;
    cause: string;
    reason: string | null;
  }
  /** Leave; `force` (a second signal) removes the VIP and exits at once. */
  | { type: "shutdown"; nowMs: number; force?: boolean }
  /** The answer to request `id` (answers to other ids are ignored). */
  | { type: "response"; nowMs: number; id: number; result: ApiResult }
  /**
   * The ARP probe found the VIP unanswered (twice in a row) on the link;
   * `seenAnswered`: it had been answered earlier in this probe.
   */
  | { type: "vipFree"; nowMs: number; seenAnswered: boolean }
  /** Adding the VIP failed. */
  | { type: "vipAddFailed"; nowMs: number; reason: string }
  /**
   * A planned handoff: out of the election for `forMs` (null: until
   * cancelled); `request: null` cancels it (back in the election).
   */
  | {
    type: "handoff";
    nowMs: number;
    request: { forMs: number | null; reason: string } | null;
  };

/** What the backend must do, in order. */
export type LeaseAction =
  | { type: "get"; id: number }
  | { type: "create"; id: number; record: LeaseRecord }
  /** PUT `record` over `base` (its resourceVersion is the precondition). */
  /**
   * PUT `record` over `base` (its resourceVersion is the precondition);
   * `releasedBy`: a release that keeps the VIP (the `ha-vip.io/released-with-vip` annotation).
   */
  | {
    type: "update";
    id: number;
    record: LeaseRecord;
    base: Lease;
    releasedBy?: string;
  }
  /** Add the VIP with this valid lifetime and announce it. */
  | { type: "addVip"; lifetimeS: number }
  /** Reset the VIP's valid lifetime. */
  | { type: "refreshVip"; lifetimeS: number }
  | { type: "removeVip" }
  /**
   * Start probing whether anyone answers ARP for the VIP (replacing a probe
   * still running); report `vipFree` once it is unanswered.
   */
  | { type: "probeVip" }
  | { type: "cancelProbe" }
  /** The observed holder changed (`""`: nobody). */
  | { type: "leader"; identity: string }
  | { type: "stateChange"; from: LeasePhase; to: LeasePhase; reason: string }
  | { type: "log"; level: "debug" | "info" | "warn"; message: string }
  /** Everything is handed over: the process may exit. */
  | { type: "exit" };

/** The outcome of {@link step}. */
export interface StepResult {
  /** The next state. */
  state: LeaseState;
  /** Actions to perform now, in order. */
  actions: LeaseAction[];
  /** When to send the next `tick` (same clock as `nowMs`), or null. */
  nextDeadlineMs: number | null;
}

/** The wall clock in µs for acquireTime/renewTime (written, never compared). */
export type WallClock = () => number;

function defaultHandoverPoll(retryPeriodMs: number): number {
  return Math.min(250, Math.max(50, Math.round(retryPeriodMs / 8)));
}

/**
 * A fresh machine (not started). Throws a `RangeError` naming the field
 * for a timing client-go or the fencing bound would refuse.
 */
export function createLeaseState(config: LeaseMachineConfig): LeaseState {
  const { durationMs: d, renewDeadlineMs: r, retryPeriodMs: p } = config;
  if (config.identity === "") {
    throw new RangeError("identity must not be empty");
  }
  if (!(p > 0)) throw new RangeError(`retryPeriodMs must be > 0, got ${p}`);
  if (!(r > JITTER_FACTOR * p)) {
    throw new RangeError(
      `renewDeadlineMs (${r}) must be greater than ${JITTER_FACTOR} × retryPeriodMs (${p})`,
    );
  }
  if (!(d > r)) {
    throw new RangeError(
      `durationMs (${d}) must be greater than renewDeadlineMs (${r})`,
    );
  }
  if (d % 1000 !== 0) {
    throw new RangeError(`durationMs (${d}) must be whole seconds`);
  }
  const plan = fencingPlan(config);
  if ("error" in plan) throw new RangeError(`durationMs ${d}: ${plan.error}`);
  return {
    config: {
      vipLifetimeCapS: Infinity,
      handoverPollMs: defaultHandoverPoll(p),
      vipFaultHoldoffMs: 5000,
      seed: 1,
      ...config,
    },
    phase: "follower",
    started: false,
    healthy: false,
    healthReason: "health not yet known",
    holdBlocks: {},
    interfaceUp: true,
    stepOut: null,
    handoffRelease: null,
    shuttingDown: false,
    faultUntilMs: null,
    faultReason: "",
    lease: null,
    observed: null,
    othersDurationS: null,
    othersIdentity: null,
    lostClaim: null,
    inflight: null,
    seq: 0,
    nextTryMs: null,
    lastWriteOkMs: null,
    vipHeld: false,
    vipExpiresMs: null,
    probing: false,
    probeResult: null,
    claimStrict: false,
    claimDeadlineMs: null,
    successor: null,
    rng: (config.seed ?? 1) >>> 0,
  };
}

/** Whether the node holds the VIP (as far as the machine knows). */
export function holdsVip(state: LeaseState): boolean {
  return state.vipHeld;
}

/** Whether the node may claim: stably ready, link up, no VIP fault, not stepped out. */
export function isEligible(state: LeaseState, nowMs: number): boolean {
  return readyApartFromHandoff(state, nowMs) && !steppedOut(state, nowMs);
}

/** Whether a planned handoff keeps the node out of the election at `nowMs`. */
export function steppedOut(state: LeaseState, nowMs: number): boolean {
  const o = state.stepOut;
  return o !== null && (o.untilMs === null || nowMs < o.untilMs);
}

/** Eligible but for a planned handoff. */
function readyApartFromHandoff(state: LeaseState, nowMs: number): boolean {
  return state.healthy && state.interfaceUp &&
    Object.keys(state.holdBlocks).length === 0 &&
    (state.faultUntilMs === null || nowMs >= state.faultUntilMs);
}

/**
 * When a holder that released its Lease for a planned handoff, at
 * `releasedMs`, with its VIP's fenced lifetime ending at `vipExpiresMs`,
 * takes the Lease back if no successor holds it by then: once every
 * eligible follower has had a try ((1 + 1.2) retry periods, client-go's
 * jitter, plus half a period for its GET and PUT), but at the latest half a
 * period before the VIP's lifetime ends (time for the take-back's write:
 * the VIP never goes before it is answered). At 15/10/2: 5.4 s after the
 * release; at 5/3/1 (lifetime 3 s): 2.5 s.
 */
export function takeBackAt(
  releasedMs: number,
  vipExpiresMs: number,
  retryPeriodMs: number,
): number {
  const p = retryPeriodMs;
  return Math.min(
    releasedMs + (1 + JITTER_FACTOR) * p + p / 2,
    vipExpiresMs - p / 2,
  );
}

/** Why the node may not claim ("" when it may). */
export function ineligibleReason(state: LeaseState, nowMs: number): string {
  if (!state.interfaceUp) return "interface down";
  const block = Object.values(state.holdBlocks)[0];
  if (block !== undefined) return block;
  if (steppedOut(state, nowMs)) return state.stepOut!.reason;
  if (state.faultUntilMs !== null && nowMs < state.faultUntilMs) {
    return state.faultReason;
  }
  return state.healthy ? "" : state.healthReason;
}

/**
 * Whether the observed lease is held by a live holder at `nowMs`: a
 * non-empty holder and less than its `leaseDurationSeconds` since this
 * node saw the record change.
 */
export function leaseValid(
  observed: Observation | null,
  nowMs: number,
): boolean {
  return observed !== null && observed.record.holderIdentity !== "" &&
    observed.atMs + observed.record.leaseDurationSeconds * 1000 > nowMs;
}

/** The leaseTransitions a keeps-its-VIP mark (`identity@transitions`) names. */
function markTransitions(mark: string): number | null {
  const at = mark.lastIndexOf("@");
  const n = at < 0 ? NaN : Number(mark.slice(at + 1));
  return Number.isInteger(n) ? n : null;
}

/** A draft the step mutates; `step` copies the state first. */
class Draft {
  s: { -readonly [K in keyof LeaseState]: LeaseState[K] };
  actions: LeaseAction[] = [];
  constructor(state: LeaseState, readonly now: number, readonly wall: number) {
    this.s = { ...state };
  }

  get me(): string {
    return this.s.config.identity;
  }

  random(): number {
    // mulberry32
    const a = (this.s.rng + 0x6d2b79f5) >>> 0;
    this.s.rng = a;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  go(to: LeasePhase, reason: string): void {
    const from = this.s.phase;
    if (from === to) return;
    this.s.phase = to;
    this.actions.push({ type: "stateChange", from, to, reason });
  }

  log(level: "debug" | "info" | "warn", message: string): void {
    this.actions.push({ type: "log", level, message });
  }

  send(
    op: Inflight["op"],
    purpose: Purpose,
    record?: LeaseRecord,
    replaces?: Observation | null,
  ): void {
    const id = ++this.s.seq;
    this.s.inflight = { id, op, purpose, sentMs: this.now, record, replaces };
    this.s.nextTryMs = null;
    if (op === "get") this.actions.push({ type: "get", id });
    else if (op === "create") {
      this.actions.push({ type: "create", id, record: record! });
    } else {
      // A release that keeps the VIP says so (the taker waits for it).
      const keeps = purpose === "release" && this.s.vipHeld;
      this.actions.push({
        type: "update",
        id,
        record: record!,
        base: this.s.lease!,
        ...(keeps
          ? { releasedBy: `${this.me}@${record!.leaseTransitions}` }
          : {}),
      });
    }
  }

  /** Records what a read or a write showed; notes the local time of a change. */
  observe(lease: Lease): void {
    this.s.lease = lease;
    const prev = this.s.observed;
    if (prev === null || !sameRecord(prev.record, lease.record)) {
      this.s.observed = {
        record: lease.record,
        atMs: this.now,
        ...(lease.releasedBy ? { releasedBy: lease.releasedBy } : {}),
      };
      const holder = lease.record.holderIdentity;
      if (holder !== "" && holder !== this.me) {
        this.s.othersDurationS = lease.record.leaseDurationSeconds;
        this.s.othersIdentity = holder;
      }
      if (prev?.record.holderIdentity !== holder) {
        this.actions.push({ type: "leader", identity: holder });
      }
    }
  }

  // --- records -------------------------------------------------------------

  claimRecord(old: LeaseRecord | null): LeaseRecord {
    const mine = old !== null && old.holderIdentity === this.me;
    return {
      holderIdentity: this.me,
      leaseDurationSeconds: this.s.config.durationMs / 1000,
      acquireTime: mine && old.acquireTime !== undefined
        ? old.acquireTime
        : this.wall,
      renewTime: this.wall,
      leaseTransitions: old === null
        ? 0
        : old.leaseTransitions + (mine ? 0 : 1),
    };
  }

  releaseRecord(): LeaseRecord {
    return {
      holderIdentity: "",
      leaseDurationSeconds: 1,
      acquireTime: this.wall,
      renewTime: this.wall,
      leaseTransitions: this.s.observed?.record.leaseTransitions ?? 0,
    };
  }

  // --- the VIP -------------------------------------------------------------

  lifetime(): number {
    if (this.s.lastWriteOkMs === null) return 0;
    return lifetimeAfter(
      this.s.config.durationMs,
      this.now - this.s.lastWriteOkMs,
      this.s.config.vipLifetimeCapS,
    );
  }

  addVip(): void {
    // A hold block forbids the VIP itself (a holder is releasing meanwhile).
    if (Object.keys(this.s.holdBlocks).length > 0) return;
    const l = this.lifetime();
    if (l < 1) {
      this.log(
        "warn",
        "the lease write was too slow to give the VIP a fenced lifetime; adding it after the next renewal",
      );
      return;
    }
    this.s.vipHeld = true;
    this.s.vipExpiresMs = this.now + l * 1000;
    this.actions.push({ type: "addVip", lifetimeS: l });
  }

  refreshVip(): void {
    const l = this.lifetime();
    if (l < 1) return; // the earlier, still fenced expiry stands
    const expires = this.now + l * 1000;
    if (this.s.vipExpiresMs !== null && expires <= this.s.vipExpiresMs) return;
    this.s.vipExpiresMs = expires;
    this.actions.push({ type: "refreshVip", lifetimeS: l });
  }

  removeVip(): void {
    if (!this.s.vipHeld) return;
    this.s.vipHeld = false;
    this.s.vipExpiresMs = null;
    this.actions.push({ type: "removeVip" });
  }

  startProbe(): void {
    this.s.probing = true;
    this.s.probeResult = null;
    this.actions.push({ type: "probeVip" });
  }

  stopProbe(): void {
    this.s.probeResult = null;
    if (!this.s.probing) return;
    this.s.probing = false;
    this.actions.push({ type: "cancelProbe" });
  }

  /**
   * Claims `old` (null: create). Taking a released lease or creating one,
   * the ARP probe starts now, before the write: the previous holder keeps
   * its VIP until it sees this claim, so the probe hears it first.
   */
  claim(old: Observation | null, replaces: Observation | null = old): void {
    const h = replaces?.record.holderIdentity;
    if (replaces === null || h === "" || h === this.me) this.startProbe();
    if (old === null) this.send("create", "try", this.claimRecord(null), null);
    else this.send("update", "try", this.claimRecord(old.record), replaces);
  }

  // --- transitions ---------------------------------------------------------

  followerTry(): void {
    this.stopProbe();
    const p = this.s.config.retryPeriodMs;
    let next = this.now + p * (1 + JITTER_FACTOR * this.random());
    const o = this.s.observed;
    if (leaseValid(o, this.now) && o!.record.holderIdentity !== this.me) {
      next = Math.min(next, o!.atMs + o!.record.leaseDurationSeconds * 1000);
    }
    this.s.nextTryMs = next;
  }

  /** Leaves holding (lost or gave up): the VIP goes at once. */
  drop(reason: string): void {
    this.s.handoffRelease = null;
    this.removeVip();
    this.stopProbe();
    this.s.claimDeadlineMs = null;
    this.s.lastWriteOkMs = null;
    if (this.s.shuttingDown) return this.stop(reason);
    this.go("follower", reason);
    this.followerTry();
  }

  stop(reason: string): void {
    this.removeVip();
    this.stopProbe();
    this.s.inflight = null;
    this.s.nextTryMs = null;
    this.go("stopped", reason);
    this.actions.push({ type: "exit" });
  }

  /** A claim (create or update) succeeded. */
  becomeHolder(sentMs: number, replaces: Observation | null): void {
    this.s.lastWriteOkMs = sentMs;
    this.s.nextTryMs = this.now + this.s.config.retryPeriodMs;
    // When may the VIP be added without the probe's word? At once after an
    // expired holder (its fenced VIP is gone); after a release, a create or
    // finding the Lease ours (a restart, or a claim whose answer was lost:
    // it may have replaced a release whose VIP is still up), when any
    // earlier holder's VIP must have expired anyway.
    let safeAt = this.now;
    let why = "took the lease";
    if (replaces === null) {
      safeAt = this.now + this.s.config.durationMs;
      why = "created the lease";
    } else {
      const h = replaces.record.holderIdentity;
      if (h === this.me) {
        safeAt = replaces.atMs + replaces.record.leaseDurationSeconds * 1000;
        why = "holds its lease again";
      } else if (h !== "") why = `took the lease from ${h} (expired)`;
      else {
        const d = this.s.othersDurationS ?? this.s.config.durationMs / 1000;
        safeAt = replaces.atMs + d * 1000;
        why = "took the released lease";
      }
    }
    if (this.s.shuttingDown || !isEligible(this.s, this.now)) {
      // Not eligible any more while the claim was in flight: the release
      // follows at once, without ever adding the VIP.
      this.go("holder", `${why}, but is leaving`);
      return;
    }
    if (safeAt <= this.now) {
      this.stopProbe();
      this.go("holder", why);
      this.addVip();
      return;
    }
    this.go(
      "claiming",
      `${why}; adding the VIP once the previous holder's is gone`,
    );
    this.s.claimDeadlineMs = safeAt;
    // Strict when this release says its releaser keeps its VIP: then a
    // silent link means the releaser is cut off from us, not gone. The mark
    // names the releaser's leaseTransitions, so a mark an earlier holder
    // left and another writer (kube-vip) carried along does not count.
    const mark = replaces?.releasedBy;
    this.s.claimStrict = replaces !== null &&
      replaces.record.holderIdentity === "" && mark !== undefined &&
      markTransitions(mark) === replaces.record.leaseTransitions;
    if (this.s.probeResult !== null) this.probed();
    else if (!this.s.probing) this.startProbe();
  }

  /** Claiming and the probe has a result: add the VIP if it proves enough. */
  probed(): void {
    const r = this.s.probeResult!;
    if (!this.s.claimStrict || r.seenAnswered) return this.claimVip(false);
    // A released lease whose VIP nobody answered for: the releaser may be
    // cut off from this link and still hold it. Only its lifetime is proof.
    this.log(
      "info",
      "nobody answered ARP for the VIP after the release (the previous holder may be cut off from this link); adding it when the previous holder's lifetime must have ended",
    );
  }

  claimVip(byDeadline: boolean): void {
    const stillAnswered = this.s.probing;
    this.stopProbe();
    this.s.claimDeadlineMs = null;
    if (byDeadline && stillAnswered) {
      this.log(
        "warn",
        "the VIP was still answered on the link when the previous holder's lifetime must have ended; adding it anyway (a holder that does not fence itself, e.g. kube-vip after a crash?)",
      );
    }
    this.go(
      "holder",
      byDeadline
        ? "previous holder's VIP lifetime over"
        : "the VIP is free on the link",
    );
    this.addVip();
  }

  /** A renewal (or re-create) succeeded. */
  renewed(sentMs: number): void {
    // Still the holder, no longer stepping out: a handoff cancelled before
    // its release went out.
    if (this.s.phase !== "releasing" && !steppedOut(this.s, this.now)) {
      this.s.handoffRelease = null;
    }
    this.s.lastWriteOkMs = sentMs;
    this.s.nextTryMs = this.now + this.s.config.retryPeriodMs;
    if (this.s.vipHeld) this.refreshVip();
    else if (this.s.phase === "holder") this.addVip();
  }

  /** The release is written: hand over make-before-break. */
  released(sentMs: number): void {
    this.s.claimDeadlineMs = null;
    this.stopProbe();
    if (!this.s.vipHeld) {
      this.s.handoffRelease = null;
      this.s.lastWriteOkMs = null;
      if (this.s.shuttingDown) return this.stop("released the lease");
      this.go("follower", "released the lease");
      this.followerTry();
      return;
    }
    // The release is a successful write too: refresh once, so the VIP
    // outlives a follower's jittered wait (still fenced: a follower that
    // takes a released lease waits for this VIP to go, probe or lifetime).
    this.s.lastWriteOkMs = sentMs;
    this.refreshVip();
    this.s.lastWriteOkMs = null;
    this.go(
      "releasing",
      "released the lease; keeping the VIP until a successor holds it",
    );
    this.s.nextTryMs = this.now + this.s.config.handoverPollMs;
    if (this.s.handoffRelease !== null) {
      if (this.s.shuttingDown) this.s.handoffRelease = null;
      else {
        this.s.handoffRelease = {
          takeBackAtMs: takeBackAt(
            this.now,
            this.s.vipExpiresMs ?? this.now,
            this.s.config.retryPeriodMs,
          ),
          reclaimSentMs: null,
        };
      }
    }
  }

  /**
   * Releasing for a planned handoff and nobody took over in time, or the
   * handoff was cancelled: write the Lease as ours again (over our own
   * release's resourceVersion; create it if it was deleted).
   */
  reclaim(): void {
    if (this.s.lease === null) {
      this.send("create", "reclaim", {
        ...this.claimRecord(null),
        leaseTransitions: this.s.observed?.record.leaseTransitions ?? 0,
      });
    } else {
      this.send(
        "update",
        "reclaim",
        this.claimRecord(this.s.observed?.record ?? null),
      );
    }
  }

  /** The take-back went through (sent at `sentMs`): holder again, VIP kept. */
  tookBack(sentMs: number): void {
    const timedOut = steppedOut(this.s, this.now);
    this.s.handoffRelease = null;
    this.s.successor = null;
    this.s.lastWriteOkMs = sentMs;
    this.s.nextTryMs = this.now + this.s.config.retryPeriodMs;
    if (timedOut) {
      this.s.stepOut = null;
      this.log(
        "warn",
        "planned handoff cancelled: no other node took the lease over, so this node took it back and keeps the VIP (is another node ready and in the election?)",
      );
    }
    this.go(
      "holder",
      timedOut
        ? "took the lease back: no successor"
        : "took the lease back: the handoff ended before a successor showed",
    );
    this.refreshVip();
  }

  /**
   * The host forbids the VIP for `cause` (or no longer does): a held VIP
   * goes at once; `drive` then releases the Lease (no VIP: no mark).
   */
  holdBlock(cause: string, reason: string | null): void {
    const blocks = { ...this.s.holdBlocks };
    if (reason === null) delete blocks[cause];
    else blocks[cause] = reason;
    this.s.holdBlocks = blocks;
    if (reason === null || !this.s.vipHeld) return;
    this.log("warn", `removing the VIP at once: ${reason}`);
    this.removeVip();
    if (this.s.phase === "releasing") this.finishHandover(reason);
  }

  /** Leave; `force` (a second signal) releases at once. */
  shutdown(force: boolean): void {
    const s = this.s;
    if (s.phase === "stopped") return;
    s.shuttingDown = true;
    if (force) {
      const holding = s.phase === "holder" || s.phase === "claiming";
      this.removeVip();
      if (holding && s.lease !== null) {
        const id = ++s.seq;
        this.actions.push({
          type: "update",
          id,
          record: this.releaseRecord(),
          base: s.lease,
        });
      }
      this.stop("second signal: released at once");
    } else if (s.phase === "follower") {
      this.stop("shutdown (not holding)");
    }
  }

  /** `ha-vip handoff` (or its cancel: null). */
  handoff(request: { forMs: number | null; reason: string } | null): void {
    const s = this.s;
    if (request === null) {
      s.stepOut = null;
      // Releasing for it: take the Lease back at once (see drive).
      if (s.phase === "releasing" && s.nextTryMs !== null) {
        s.nextTryMs = Math.min(s.nextTryMs, this.now);
      }
      return;
    }
    if (s.shuttingDown || s.phase === "stopped") return;
    s.stepOut = {
      untilMs: request.forMs === null ? null : this.now + request.forMs,
      reason: request.reason,
    };
    const holding = s.phase === "holder" || s.phase === "claiming";
    if (holding && s.vipHeld && s.handoffRelease === null) {
      s.handoffRelease = { takeBackAtMs: null, reclaimSentMs: null };
    }
  }

  finishHandover(reason: string): void {
    this.s.successor = null;
    this.s.handoffRelease = null;
    this.removeVip();
    if (this.s.shuttingDown) return this.stop(reason);
    this.go("follower", reason);
    this.followerTry();
  }
}

/** A follower's GET: claim, hand our own stale lease back, or wait. */
function onTryRead(d: Draft, result: ApiResult): void {
  const s = d.s;
  const may = isEligible(s, d.now) && !s.shuttingDown;
  if (result.kind === "notFound") {
    s.lease = null;
    return may ? d.claim(null) : d.followerTry();
  }
  if (result.kind !== "lease") return d.followerTry();
  d.observe(result.lease);
  const o = s.observed!;
  if (o.record.holderIdentity === d.me) {
    // Ours (a restart, or after giving up): renew it, or hand it back at
    // once rather than make everyone wait for it to expire. Ours because a
    // claim whose answer was lost went through: then what it replaced (a
    // release, maybe with the releaser's VIP still up) decides the VIP.
    const lost = s.lostClaim;
    s.lostClaim = null;
    const replaced = lost !== null &&
        lost.record.acquireTime === o.record.acquireTime
      ? lost.replaces
      : o;
    if (!may) return d.send("update", "release", d.releaseRecord());
    return d.claim(o, replaced);
  }
  s.lostClaim = null;
  if (leaseValid(o, d.now) || !may) return d.followerTry();
  return d.claim(o);
}

/** The answer to a claim (create or update). */
function onClaim(d: Draft, inflight: Inflight, result: ApiResult): void {
  const s = d.s;
  if (result.kind === "lease") {
    d.observe(result.lease);
    return d.becomeHolder(inflight.sentMs, inflight.replaces ?? null);
  }
  if (result.kind === "conflict") {
    d.log("info", "another node took the lease first (409)");
  }
  if (result.kind === "error") {
    // It may have gone through: the next read tells.
    s.lostClaim = {
      record: inflight.record!,
      replaces: inflight.replaces ?? null,
    };
  }
  if (result.kind === "notFound") {
    d.stopProbe();
    s.lease = null;
    s.nextTryMs = d.now; // deleted meanwhile: read again at once
    return;
  }
  d.followerTry();
}

/** The holder's renewal. */
function onRenew(d: Draft, inflight: Inflight, result: ApiResult): void {
  const s = d.s;
  if (result.kind === "lease") {
    d.observe(result.lease);
    return d.renewed(inflight.sentMs);
  }
  if (result.kind === "conflict") return d.send("get", "verify");
  if (result.kind === "notFound") {
    // Deleted under us (kubectl delete): create it again as ours.
    s.lease = null;
    return d.send("create", "renew", {
      ...d.claimRecord(null),
      leaseTransitions: s.observed?.record.leaseTransitions ?? 0,
    });
  }
  s.nextTryMs = d.now + s.config.retryPeriodMs;
}

/** After a 409: still ours (write again), or lost. */
function onVerify(d: Draft, result: ApiResult): void {
  const s = d.s;
  if (result.kind === "lease") {
    d.observe(result.lease);
    const holder = s.observed!.record.holderIdentity;
    // Only metadata changed: write again with the new resourceVersion.
    if (holder === d.me) return void (s.nextTryMs = d.now);
    return d.drop(
      holder === ""
        ? "the lease was released by another writer"
        : `lost the lease: ${holder} holds it`,
    );
  }
  if (result.kind === "notFound") s.lease = null;
  s.nextTryMs = result.kind === "notFound"
    ? d.now
    : d.now + s.config.retryPeriodMs;
}

/** The release (or the hand-back of a stale lease of ours by a follower). */
function onRelease(d: Draft, inflight: Inflight, result: ApiResult): void {
  const s = d.s;
  if (result.kind === "lease") d.observe(result.lease);
  if (result.kind === "notFound") s.lease = null;
  if (result.kind === "conflict") return d.send("get", "verify");
  if (s.phase === "follower") return d.followerTry();
  if (result.kind === "lease" || result.kind === "notFound") {
    return d.released(inflight.sentMs);
  }
  s.nextTryMs = d.now + s.config.retryPeriodMs;
}

/** A releasing holder looking for its successor. */
function onPoll(d: Draft, result: ApiResult): void {
  const s = d.s;
  if (result.kind === "lease") {
    d.observe(result.lease);
    const holder = s.observed!.record.holderIdentity;
    if (holder !== "" && holder !== d.me) {
      s.successor = { name: holder, atMs: d.now + SUCCESSOR_GRACE_MS };
      s.nextTryMs = null;
      return;
    }
    // Ours: a take-back whose answer was lost went through.
    const lost = s.handoffRelease?.reclaimSentMs ?? null;
    if (holder === d.me && lost !== null) return d.tookBack(lost);
  }
  s.nextTryMs = d.now + s.config.handoverPollMs;
}

/** The answer to a take-back. */
function onReclaim(d: Draft, inflight: Inflight, result: ApiResult): void {
  const s = d.s;
  if (s.phase !== "releasing") return; // the handover ended meanwhile
  if (result.kind === "lease") {
    d.observe(result.lease);
    if (s.observed!.record.holderIdentity === d.me) {
      return d.tookBack(inflight.sentMs);
    }
  } else if (result.kind === "conflict") {
    // Someone wrote first: a successor, most likely. Read who.
    return d.send("get", "poll");
  } else if (result.kind === "notFound") {
    s.lease = null;
  } else if (s.handoffRelease !== null) {
    // It may have gone through: the next read tells (the earliest send is
    // the fencing reference, in case an earlier one did).
    const h = s.handoffRelease;
    s.handoffRelease = {
      ...h,
      reclaimSentMs: h.reclaimSentMs ?? inflight.sentMs,
    };
    return d.send("get", "poll");
  }
  s.nextTryMs = d.now + s.config.handoverPollMs;
}

/** Releasing for a planned handoff: take the Lease back now? */
function wantsLeaseBack(s: LeaseState, nowMs: number): boolean {
  const h = s.handoffRelease;
  if (h === null || h.takeBackAtMs === null) return false;
  if (s.successor !== null || !s.vipHeld || s.shuttingDown) return false;
  if (!readyApartFromHandoff(s, nowMs)) return false;
  return !steppedOut(s, nowMs) || nowMs >= h.takeBackAtMs;
}

function onResponse(d: Draft, inflight: Inflight, result: ApiResult): void {
  switch (inflight.purpose) {
    case "try":
      return inflight.op === "get"
        ? onTryRead(d, result)
        : onClaim(d, inflight, result);
    case "renew":
      return onRenew(d, inflight, result);
    case "verify":
      return onVerify(d, result);
    case "release":
      return onRelease(d, inflight, result);
    case "poll":
      return onPoll(d, result);
    case "reclaim":
      return onReclaim(d, inflight, result);
    case "final":
      return;
  }
}

/** Sends what is due and applies deadlines. */
function drive(d: Draft): void {
  const s = d.s;
  const now = d.now;
  if (!s.started || s.phase === "stopped") return;
  const { renewDeadlineMs } = s.config;
  // Our own expiry of the VIP: remove it ourselves, never rely on the kernel.
  if (s.vipHeld && s.vipExpiresMs !== null && now >= s.vipExpiresMs) {
    d.removeVip();
    if (s.phase === "releasing") {
      d.finishHandover("the VIP's lifetime ended before a successor showed");
    } else {
      d.log(
        "warn",
        "the VIP's fenced lifetime ended without a renewal; it is off the interface until the next one",
      );
    }
  }
  if (
    s.phase === "releasing" && s.successor !== null &&
    now >= s.successor.atMs
  ) {
    d.finishHandover(`${s.successor.name} holds the lease`);
  }
  const holding = s.phase === "holder" || s.phase === "claiming";
  if (
    holding && s.lastWriteOkMs !== null &&
    now >= s.lastWriteOkMs + renewDeadlineMs
  ) {
    d.drop(
      `could not renew the lease for ${
        renewDeadlineMs / 1000
      }s (renew_deadline)`,
    );
  }
  if (
    s.phase === "claiming" && s.claimDeadlineMs !== null &&
    now >= s.claimDeadlineMs
  ) {
    d.claimVip(true);
  }
  if ((s.phase as LeasePhase) === "stopped" || s.inflight !== null) return;
  const leaving = s.shuttingDown || !isEligible(s, now);
  if ((s.phase === "holder" || s.phase === "claiming") && leaving) {
    return d.send("update", "release", d.releaseRecord());
  }
  if (s.nextTryMs === null || now < s.nextTryMs) return;
  switch (s.phase) {
    case "follower":
      return d.send("get", "try");
    case "holder":
    case "claiming":
      return d.send(
        "update",
        "renew",
        d.claimRecord(s.observed?.record ?? null),
      );
    case "releasing":
      return wantsLeaseBack(s, now) ? d.reclaim() : d.send("get", "poll");
  }
}

function nextDeadline(s: LeaseState): number | null {
  const times: number[] = [];
  if (s.phase === "stopped" || !s.started) return null;
  if (s.inflight === null && s.nextTryMs !== null) times.push(s.nextTryMs);
  if (s.vipHeld && s.vipExpiresMs !== null) times.push(s.vipExpiresMs);
  if (
    (s.phase === "holder" || s.phase === "claiming") && s.lastWriteOkMs !== null
  ) {
    times.push(s.lastWriteOkMs + s.config.renewDeadlineMs);
  }
  if (s.phase === "releasing" && s.successor !== null) {
    times.push(s.successor.atMs);
  }
  if (s.phase === "claiming" && s.claimDeadlineMs !== null) {
    times.push(s.claimDeadlineMs);
  }
  if (s.faultUntilMs !== null && s.faultUntilMs > 0) times.push(s.faultUntilMs);
  if (s.stepOut !== null && s.stepOut.untilMs !== null) {
    times.push(s.stepOut.untilMs);
  }
  return times.length === 0 ? null : Math.min(...times);
}

/**
 * Advances the machine. `wallMicros` is the wall clock (µs since the
 * epoch) for the timestamps written into the Lease; decisions use only
 * `event.nowMs`.
 */
export function step(
  state: LeaseState,
  event: LeaseEvent,
  wallMicros: number,
): StepResult {
  const d = new Draft(state, event.nowMs, Math.round(wallMicros));
  const s = d.s;
  switch (event.type) {
    case "start":
      if (!s.started) {
        s.started = true;
        s.nextTryMs = event.nowMs;
      }
      break;
    case "tick":
      break;
    case "eligibility":
      s.healthy = event.eligible;
      s.healthReason = event.eligible ? "" : event.reason ?? "not ready";
      break;
    case "holdBlock":
      d.holdBlock(event.cause, event.reason);
      break;
    case "interface":
      s.interfaceUp = event.up;
      if (!event.up && s.vipHeld) {
        // Nobody reaches the VIP through a dead link: no point keeping it.
        d.removeVip();
        if (s.phase === "releasing") d.finishHandover("interface down");
      }
      break;
    case "shutdown":
      d.shutdown(event.force ?? false);
      break;
    case "response": {
      const f = s.inflight;
      if (f === null || f.id !== event.id || s.phase === "stopped") break;
      s.inflight = null;
      onResponse(d, f, event.result);
      break;
    }
    case "vipFree":
      if (!s.probing) break;
      s.probing = false;
      s.probeResult = { seenAnswered: event.seenAnswered };
      if (s.phase === "claiming") d.probed();
      break;
    case "handoff":
      d.handoff(event.request);
      break;
    case "vipAddFailed":
      s.vipHeld = false;
      s.vipExpiresMs = null;
      s.faultUntilMs = event.nowMs + s.config.vipFaultHoldoffMs;
      s.faultReason = `cannot add the VIP: ${event.reason}`;
      d.log(
        "warn",
        `${s.faultReason}; releasing the lease and staying out for ${
          s.config.vipFaultHoldoffMs / 1000
        }s`,
      );
      break;
  }
  if (s.faultUntilMs !== null && event.nowMs >= s.faultUntilMs) {
    s.faultUntilMs = null;
  }
  if (s.stepOut !== null && !steppedOut(s, event.nowMs)) s.stepOut = null;
  drive(d);
  return { state: d.s, actions: d.actions, nextDeadlineMs: nextDeadline(d.s) };
}
