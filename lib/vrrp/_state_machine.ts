/**
 * The VRRPv3 state machine (RFC 5798 §6.4) as a pure function of time and
 * events: `step(state, event)` returns the next state, the actions the
 * daemon must perform, and when to call it again. No clock, no I/O: the
 * daemon feeds real time, tests feed a fake one.
 *
 * Beyond the RFC (each marked where it happens):
 * - eligibility (health) is an input: an ineligible node never becomes
 *   master, and a master turning ineligible sends priority 0 and steps
 *   down;
 * - a master answers a conflicting lower-priority master with one
 *   advertisement and one gratuitous-ARP burst at most once per
 *   advertisement interval (keepalived answers every packet: a flood of
 *   1,000 becomes 6,000);
 * - a master that loses a conflict sends one last advertisement at its
 *   own priority, so the winner, which may never have heard it, answers
 *   with a gratuitous-ARP burst: a healed partition costs clients at most
 *   one advertisement interval;
 * - shutdown is make-before-break: the leaving master keeps the VIP until
 *   a new master is heard or no backup can still be waiting.
 *
 * @module
 */

import { parseIP } from "../ip/mod.ts";
import { MAX_ADVERT_INTERVAL_CS } from "./_codec.ts";

/**
 * What happens when no node is ready (health not eligible):
 * - `"stay-backup"` (default): nobody holds the VIP. Strict: the VIP only
 *   ever points at a ready API server.
 * - `"fallback"`: an ineligible node whose master-down timer expires
 *   holds the VIP advertising {@link FALLBACK_PRIORITY}, and a master
 *   turning ineligible keeps it at that priority instead of dropping it.
 *   Eligible nodes treat a priority-{@link FALLBACK_PRIORITY} master as
 *   not ready and take over after their skew time even without preempt.
 *   Useful for bootstrap, where the VIP must exist before any API server
 *   is ready. Every node must use the same policy; priorities must be >= 2.
 */
export type NoneEligiblePolicy = "stay-backup" | "fallback";

/** Priority a not-ready node advertises under the `"fallback"` policy. */
export const FALLBACK_PRIORITY = 1;

/** Configuration of one virtual router's state machine. */
export interface VrrpConfig {
  /** Our priority, 1-254 (255, the address owner, is not supported). */
  priority: number;
  /** Advertisement_Interval in centiseconds, 1-4095 (100 = 1 s). */
  advertIntervalCs: number;
  /** Preempt_Mode: take over from a lower-priority master. */
  preempt: boolean;
  /**
   * Our primary address: the source of our adverts, the tie-break. IPv4,
   * or for an IPv6 virtual router our link-local address.
   */
  primaryIp: string;
  /** See {@link NoneEligiblePolicy}; default `"stay-backup"`. */
  noneEligiblePolicy?: NoneEligiblePolicy;
  /**
   * After the VIP could not be added (a `vipFault` event), how long this
   * node stays ineligible before it may try again; default 5000 ms.
   */
  vipFaultHoldoffMs?: number;
}

/**
 * One reason this node may not hold the VIP. The node is eligible when
 * there is none. `cause` names the input that set it (`"health"` for the
 * health verdict, `"vip"` for a failed VIP add, others as backends add
 * them); a block with `untilMs` lifts itself at that time.
 */
export interface EligibilityBlock {
  /** Which input set it; one block per cause. */
  readonly cause: string;
  /** Why, for log lines ("etcd failing", "cannot add the VIP: EPERM"). */
  readonly reason: string;
  /** When it lifts by itself, or null to wait for its input. */
  readonly untilMs: number | null;
  /**
   * Holding the VIP is itself the harm (the node cannot advertise; the VIP
   * would be its subnet's primary address): a holder drops it at once,
   * without make-before-break, and the fallback policy does not apply.
   */
  readonly immediate?: boolean;
}

/** Phases: the RFC's three states plus the leaving master and the end. */
export type Phase =
  /** Not started, or the interface is down. */
  | "initialize"
  | "backup"
  | "master"
  /** Shutting down as master: priority 0 sent, VIP kept until handed over. */
  | "leaving"
  /**
   * A master that turned not ready: priority 0 sent, the VIP kept until a
   * successor has announced (make-before-break), then backup.
   */
  | "yielding"
  /** Done: the daemon has been told to exit. */
  | "stopped";

/** The whole state of the machine; treat it as immutable. */
export interface VrrpState {
  /** The validated configuration (defaults applied). */
  readonly config: Readonly<Required<VrrpConfig>>;
  /** Where we are. */
  readonly phase: Phase;
  /** Whether `startup` has happened. */
  readonly started: boolean;
  /** Why this node may not hold the VIP; the most pressing first. */
  readonly blocks: readonly EligibilityBlock[];
  /** May this node hold the VIP (no blocks)? */
  readonly eligible: boolean;
  /** Why not eligible (the first block's reason); "" when eligible. */
  readonly ineligibleReason: string;
  /** Link state of the VRRP interface. */
  readonly interfaceUp: boolean;
  /** Master_Adver_Interval in ms, learned from the master's adverts. */
  readonly masterAdverIntervalMs: number;
  /** Master_Down_Timer deadline (backup), or null when not running. */
  readonly masterDownAt: number | null;
  /** What set the master-down timer short, for the takeover log line. */
  readonly masterDownCause: string | null;
  /** Adver_Timer deadline (master; leaving: next priority-0 resend). */
  readonly adverAt: number | null;
  /** Leaving: give up waiting for a new master at this time. */
  readonly leaveBy: number | null;
  /** Last gratuitous-ARP burst as master (rate limit of answers). */
  readonly lastAnnounceAt: number | null;
  /** The current master as far as we know (ourselves when master). */
  readonly master: string | null;
}

/** Inputs of {@link step}; every event carries the time it happened. */
export type VrrpEvent =
  /** Initialize -> Backup (never straight to master). */
  | { type: "startup"; nowMs: number }
  /**
   * Leave. As master: priority 0, then keep the VIP until handed over.
   * `force` (a second signal) releases and exits at once.
   */
  | { type: "shutdown"; nowMs: number; force?: boolean }
  /** A validated advertisement of our VRID (see `validateAdvertisement`). */
  | {
    type: "advertisement";
    nowMs: number;
    src: string;
    priority: number;
    maxAdvertIntervalCs: number;
  }
  /** Time passed: fires due timers. Call at `nextDeadlineMs`. */
  | { type: "tick"; nowMs: number }
  /**
   * An eligibility input changed: by default the health verdict; `cause`
   * names another input (one block per cause). `reason` says why not
   * ("etcd failing").
   */
  | {
    type: "eligibility";
    nowMs: number;
    eligible: boolean;
    reason?: string;
    cause?: string;
    /** See {@link EligibilityBlock.immediate}. */
    immediate?: boolean;
    /**
     * Not eligible for this long only (a planned handoff, a failed send);
     * then it lifts.
     */
    forMs?: number;
  }
  /**
   * The VIP could not be added: ineligible for `vipFaultHoldoffMs` (a
   * master steps down with priority 0 so a peer takes over), then it may
   * try again.
   */
  | { type: "vipFault"; nowMs: number; reason: string }
  /** The VRRP interface went down or came up. */
  | { type: "interface"; nowMs: number; up: boolean }
  /**
   * A configuration re-read changed the priority or preempt: the next
   * advertisement carries the new priority, and takeover decisions use
   * them from now on (a running master-down timer keeps its deadline).
   */
  | { type: "settings"; nowMs: number; priority: number; preempt: boolean };

/** What the daemon must do, in order. */
export type VrrpAction =
  /** Send one advertisement with this priority (our addresses, interval). */
  | { type: "send"; priority: number }
  /** Add the VIP(s) to the interface. */
  | { type: "addVip" }
  /** Gratuitous ARP burst for the VIP(s), now (after `addVip`, or again). */
  | { type: "announce" }
  /** Remove the VIP(s) from the interface. */
  | { type: "removeVip" }
  /** Everything is handed over: the process may exit. */
  | { type: "exit" }
  /** Log a phase change with its human reason. */
  | { type: "stateChange"; from: Phase; to: Phase; reason: string }
  /** Log something that is not a phase change. */
  | { type: "log"; level: "info" | "warn"; message: string };

/** The outcome of {@link step}. */
export interface StepResult {
  /** The next state (the same object when nothing changed). */
  state: VrrpState;
  /** Actions to perform now, in order. */
  actions: VrrpAction[];
  /** When to send the next `tick` (ms, same clock as `nowMs`), or null. */
  nextDeadlineMs: number | null;
}

function checkInt(name: string, value: number, min: number, max: number) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${name} must be an integer ${min}-${max}, got ${value}`,
    );
  }
}

/**
 * Compares two addresses of one family as unsigned big-endian numbers
 * (the §6.4.3 tie-break: IPv4 primary addresses, or IPv6 link-local ones):
 * negative, zero or positive. Different families compare by length.
 */
export function compareAddresses(a: string, b: string): number {
  const x = parseIP(a).bytes;
  const y = parseIP(b).bytes;
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return 0;
}

/** Skew_Time in ms: ((256 - priority) × Master_Adver_Interval) / 256. */
export function skewTimeMs(
  priority: number,
  masterAdverIntervalMs: number,
): number {
  return ((256 - priority) * masterAdverIntervalMs) / 256;
}

/** Master_Down_Interval in ms: 3 × Master_Adver_Interval + Skew_Time. */
export function masterDownIntervalMs(
  priority: number,
  masterAdverIntervalMs: number,
): number {
  return 3 * masterAdverIntervalMs +
    skewTimeMs(priority, masterAdverIntervalMs);
}

/**
 * How long a leaving master waits for a successor before releasing: the
 * longest Master_Down_Interval any backup (priority >= 1) can run with our
 * interval, in case our priority-0 advertisement was lost.
 */
export function leaveTimeoutMs(advertIntervalMs: number): number {
  return masterDownIntervalMs(1, advertIntervalMs);
}

/**
 * A fresh machine in `initialize`. `eligible` defaults to false (health is
 * unknown at boot), `interfaceUp` to true. Throws a `RangeError` naming
 * the field for invalid configuration.
 */
export function createVrrpState(
  config: VrrpConfig,
  options: { eligible?: boolean; interfaceUp?: boolean } = {},
): VrrpState {
  const policy = config.noneEligiblePolicy ?? "stay-backup";
  if (policy !== "stay-backup" && policy !== "fallback") {
    throw new RangeError(
      `noneEligiblePolicy must be "stay-backup" or "fallback", got ${
        JSON.stringify(policy)
      }`,
    );
  }
  // Under "fallback", priority 1 means "not ready": real nodes need more.
  checkInt("priority", config.priority, policy === "fallback" ? 2 : 1, 254);
  checkInt(
    "advertIntervalCs",
    config.advertIntervalCs,
    1,
    MAX_ADVERT_INTERVAL_CS,
  );
  try {
    parseIP(config.primaryIp);
  } catch (err) {
    throw new RangeError(
      `primaryIp must be an IPv4 or IPv6 address, got ${
        JSON.stringify(config.primaryIp)
      }`,
      { cause: err },
    );
  }
  const holdoff = config.vipFaultHoldoffMs ?? 5000;
  if (!Number.isFinite(holdoff) || holdoff < 0) {
    throw new RangeError(`vipFaultHoldoffMs must be >= 0, got ${holdoff}`);
  }
  const eligible = options.eligible ?? false;
  const blocks: EligibilityBlock[] = eligible
    ? []
    : [{ cause: HEALTH, reason: "no health verdict yet", untilMs: null }];
  return {
    config: Object.freeze({
      ...config,
      noneEligiblePolicy: policy,
      vipFaultHoldoffMs: holdoff,
    }),
    phase: "initialize",
    started: false,
    blocks,
    eligible,
    ineligibleReason: eligible ? "" : blocks[0].reason,
    interfaceUp: options.interfaceUp ?? true,
    masterAdverIntervalMs: config.advertIntervalCs * 10,
    masterDownAt: null,
    masterDownCause: null,
    adverAt: null,
    leaveBy: null,
    lastAnnounceAt: null,
    master: null,
  };
}

/** True while the daemon must hold (and keep refreshing) the VIP. */
export function holdsVip(state: VrrpState): boolean {
  return state.phase === "master" || state.phase === "leaving" ||
    state.phase === "yielding";
}

/** The priority we advertise (and compare with) right now. */
export function effectivePriority(state: VrrpState): number {
  return state.eligible ? state.config.priority : FALLBACK_PRIORITY;
}

function advertIntervalMs(state: VrrpState): number {
  return state.config.advertIntervalCs * 10;
}

/** May our master-down timer run at all (and so lead to master)? */
function mayTakeOver(state: VrrpState): boolean {
  if (hardBlocked(state)) return false;
  return state.eligible || state.config.noneEligiblePolicy === "fallback";
}

/** A block that forbids holding the VIP at all, fallback or not. */
function hardBlocked(state: VrrpState): boolean {
  return state.blocks.some((b) => b.immediate === true);
}

/** The earliest pending deadline of `state`, or null. */
export function nextDeadline(state: VrrpState): number | null {
  let next: number | null = null;
  const lifts = state.blocks.map((b) => b.untilMs);
  for (
    const t of [state.masterDownAt, state.adverAt, state.leaveBy, ...lifts]
  ) {
    if (t !== null && (next === null || t < next)) next = t;
  }
  return next;
}

function result(state: VrrpState, actions: VrrpAction[]): StepResult {
  return { state, actions, nextDeadlineMs: nextDeadline(state) };
}

/** Why this node may not hold the VIP, for log lines. */
function notReady(state: VrrpState): string {
  return state.blocks[0]?.cause === HEALTH
    ? `health not ready: ${state.ineligibleReason}`
    : state.ineligibleReason;
}

function enterBackup(
  state: VrrpState,
  nowMs: number,
  masterAdverIntervalMs: number,
  master: string | null,
): VrrpState {
  const s: VrrpState = {
    ...state,
    phase: "backup",
    masterAdverIntervalMs,
    adverAt: null,
    leaveBy: null,
    master,
    masterDownCause: null,
  };
  return { ...s, masterDownAt: freshMasterDown(s, nowMs) };
}

/** Master_Down_Timer = Master_Down_Interval, if we may take over at all. */
function freshMasterDown(state: VrrpState, nowMs: number): number | null {
  if (!mayTakeOver(state)) return null;
  return nowMs +
    masterDownIntervalMs(effectivePriority(state), state.masterAdverIntervalMs);
}

/** Backup -> Master (§6.4.2): advertise, take the VIP, announce. */
function becomeMaster(
  state: VrrpState,
  nowMs: number,
  reason: string,
): StepResult {
  const next: VrrpState = {
    ...state,
    phase: "master",
    masterDownAt: null,
    masterDownCause: null,
    adverAt: nowMs + advertIntervalMs(state),
    lastAnnounceAt: nowMs,
    master: state.config.primaryIp,
  };
  const actions: VrrpAction[] = [
    { type: "stateChange", from: state.phase, to: "master", reason },
    { type: "addVip" },
    { type: "send", priority: effectivePriority(state) },
    { type: "announce" },
  ];
  if (!state.eligible) {
    actions.push({
      type: "log",
      level: "warn",
      message: `holding the VIP while not ready (${state.ineligibleReason}) ` +
        `at priority ${FALLBACK_PRIORITY}: no ready node answered (fallback policy)`,
    });
  }
  return result(next, actions);
}

function stop(
  state: VrrpState,
  reason: string,
  pre: VrrpAction[] = [],
): StepResult {
  const next: VrrpState = {
    ...state,
    phase: "stopped",
    masterDownAt: null,
    adverAt: null,
    leaveBy: null,
  };
  return result(next, [
    ...pre,
    { type: "stateChange", from: state.phase, to: "stopped", reason },
    { type: "exit" },
  ]);
}

/** Is an advert from `src` at `priority` better than ours (§6.4.3)? */
function beats(state: VrrpState, priority: number, src: string): boolean {
  const ours = effectivePriority(state);
  if (priority !== ours) return priority > ours;
  // Tie: the greater primary address wins, compared as unsigned numbers.
  return compareAddresses(src, state.config.primaryIp) > 0;
}

/**
 * Advances the machine by one event. Pure and deterministic: the same
 * state and event always give the same result. Events in `stopped` do
 * nothing. Throws a `RangeError` only for malformed events (NaN time,
 * priority outside 0-255, interval outside 1-4095): daemon bugs, never
 * packet content, which `validateAdvertisement` has already checked.
 */
export function step(state: VrrpState, event: VrrpEvent): StepResult {
  if (!Number.isFinite(event.nowMs)) {
    throw new RangeError(`event time must be finite, got ${event.nowMs}`);
  }
  if (state.phase === "stopped") return result(state, []);
  switch (event.type) {
    case "startup":
      return onStartup(state, event.nowMs);
    case "shutdown":
      return onShutdown(state, event.nowMs, event.force ?? false);
    case "tick":
      return onTick(state, event.nowMs);
    case "advertisement":
      checkInt("advertisement priority", event.priority, 0, 255);
      // 0 never passes validateAdvertisement: it would zero our timers.
      checkInt(
        "advertisement interval",
        event.maxAdvertIntervalCs,
        1,
        MAX_ADVERT_INTERVAL_CS,
      );
      return onAdvertisement(state, event);
    case "eligibility":
      return onEligibility(state, event);
    case "vipFault":
      return withBlock(state, event.nowMs, {
        cause: VIP_FAULT,
        reason: event.reason,
        untilMs: event.nowMs + state.config.vipFaultHoldoffMs,
      });
    case "interface":
      return onInterface(state, event.nowMs, event.up);
    case "settings":
      return onSettings(state, event.priority, event.preempt);
  }
}

function onSettings(
  state: VrrpState,
  priority: number,
  preempt: boolean,
): StepResult {
  if (priority === state.config.priority && preempt === state.config.preempt) {
    return result(state, []);
  }
  // The same checks as at creation (a range error names the field).
  const config = createVrrpState({ ...state.config, priority, preempt }).config;
  return result({ ...state, config }, [{
    type: "log",
    level: "info",
    message: `VRRP priority ${state.config.priority} -> ${priority}, preempt ${
      state.config.preempt ? "on" : "off"
    } -> ${preempt ? "on" : "off"}`,
  }]);
}

function onStartup(state: VrrpState, nowMs: number): StepResult {
  if (state.started) return result(state, []);
  const started = { ...state, started: true };
  if (!state.interfaceUp) {
    return result(started, [{
      type: "log",
      level: "warn",
      message: "interface down: waiting for it before joining as backup",
    }]);
  }
  return toBackupFromInitialize(started, nowMs, "startup");
}

/** Initialize -> Backup (§6.4.1); priority < 255, so never master. */
function toBackupFromInitialize(
  state: VrrpState,
  nowMs: number,
  reason: string,
): StepResult {
  const next = enterBackup(state, nowMs, advertIntervalMs(state), null);
  const why = mayTakeOver(state)
    ? reason
    : `${reason}; ${notReady(state)}, will not take over`;
  return result(next, [
    { type: "stateChange", from: state.phase, to: "backup", reason: why },
  ]);
}

/**
 * Master -> leaving or yielding: send priority 0 (resent every interval)
 * and keep the VIP until a successor announced or the leave timeout.
 */
function handOver(
  state: VrrpState,
  phase: "leaving" | "yielding",
  nowMs: number,
  reason: string,
): StepResult {
  const next: VrrpState = {
    ...state,
    phase,
    adverAt: nowMs + advertIntervalMs(state),
    leaveBy: nowMs + leaveTimeoutMs(advertIntervalMs(state)),
  };
  return result(next, [
    { type: "stateChange", from: "master", to: phase, reason },
    { type: "send", priority: 0 },
  ]);
}

function onShutdown(
  state: VrrpState,
  nowMs: number,
  force: boolean,
): StepResult {
  switch (state.phase) {
    case "master": {
      const zero: VrrpAction = { type: "send", priority: 0 };
      if (force) {
        return stop(state, "shutdown (forced)", [zero, { type: "removeVip" }]);
      }
      // Make-before-break: keep the VIP until a successor has announced.
      return handOver(state, "leaving", nowMs, "shutdown");
    }
    case "leaving":
      return force
        ? stop(state, "shutdown (forced)", [{ type: "removeVip" }])
        : result(state, []);
    case "yielding":
      // Already handing over: finish that, then exit instead of staying.
      if (force) {
        return stop(state, "shutdown (forced)", [{ type: "removeVip" }]);
      }
      return result({ ...state, phase: "leaving" }, [
        {
          type: "stateChange",
          from: "yielding",
          to: "leaving",
          reason: "shutdown",
        },
      ]);
    default:
      return stop(state, "shutdown");
  }
}

function onTick(state: VrrpState, nowMs: number): StepResult {
  const due = state.blocks.filter((b) =>
    b.untilMs !== null && b.untilMs <= nowMs
  );
  if (due.length === 0) return onTimers(state, nowMs);
  const lifted = withBlocks(
    state,
    nowMs,
    state.blocks.filter((b) => !due.includes(b)),
  );
  const timers = onTimers(lifted.state, nowMs);
  return result(timers.state, [...lifted.actions, ...timers.actions]);
}

function onTimers(state: VrrpState, nowMs: number): StepResult {
  switch (state.phase) {
    case "backup":
      if (state.masterDownAt !== null && nowMs >= state.masterDownAt) {
        return becomeMaster(
          state,
          nowMs,
          state.masterDownCause ?? "master down timer expired",
        );
      }
      return result(state, []);
    case "master":
      if (state.adverAt !== null && nowMs >= state.adverAt) {
        return result(
          { ...state, adverAt: nowMs + advertIntervalMs(state) },
          [{ type: "send", priority: effectivePriority(state) }],
        );
      }
      return result(state, []);
    case "yielding":
      if (state.leaveBy !== null && nowMs >= state.leaveBy) {
        if (onlyHandoff(state)) return handoffFailed(state, nowMs);
        return yielded(
          state,
          nowMs,
          `no new master within ${
            Math.round(leaveTimeoutMs(advertIntervalMs(state)))
          } ms; ${notReady(state)}`,
          null,
        );
      }
      if (state.adverAt !== null && nowMs >= state.adverAt) {
        return result(
          { ...state, adverAt: nowMs + advertIntervalMs(state) },
          [{ type: "send", priority: 0 }],
        );
      }
      return result(state, []);
    case "leaving":
      if (state.leaveBy !== null && nowMs >= state.leaveBy) {
        return stop(
          state,
          `no new master within ${
            Math.round(leaveTimeoutMs(advertIntervalMs(state)))
          } ms`,
          [{ type: "removeVip" }],
        );
      }
      if (state.adverAt !== null && nowMs >= state.adverAt) {
        // Resend priority 0 in case the first one was lost.
        return result(
          { ...state, adverAt: nowMs + advertIntervalMs(state) },
          [{ type: "send", priority: 0 }],
        );
      }
      return result(state, []);
    default:
      return result(state, []);
  }
}

type AdvertEvent = Extract<VrrpEvent, { type: "advertisement" }>;

function onAdvertisement(state: VrrpState, ev: AdvertEvent): StepResult {
  switch (state.phase) {
    case "backup":
      return backupReceives(state, ev);
    case "master":
      return masterReceives(state, ev);
    case "leaving":
      if (ev.priority > 0) {
        return stop(state, `new master ${ev.src} announced`, [
          { type: "removeVip" },
        ]);
      }
      return result(state, []);
    case "yielding":
      if (ev.priority > 0) {
        return yielded(
          { ...state, masterAdverIntervalMs: ev.maxAdvertIntervalCs * 10 },
          ev.nowMs,
          `${notReady(state)}; new master ${ev.src} announced`,
          ev.src,
        );
      }
      return result(state, []);
    default:
      // Initialize: not listening yet (or the link is down).
      return result(state, []);
  }
}

/** §6.4.2 "If an ADVERTISEMENT is received", Backup. */
function backupReceives(state: VrrpState, ev: AdvertEvent): StepResult {
  const skew = skewTimeMs(
    effectivePriority(state),
    state.masterAdverIntervalMs,
  );
  if (ev.priority === 0) {
    // The master is leaving: take over after Skew_Time (highest first).
    if (state.masterDownAt === null) return result(state, []);
    return result({
      ...state,
      masterDownAt: ev.nowMs + skew,
      masterDownCause: `priority-0 advertisement from ${ev.src}`,
      master: null,
    }, []);
  }
  const ours = effectivePriority(state);
  if (
    state.eligible && state.config.noneEligiblePolicy === "fallback" &&
    ev.priority === FALLBACK_PRIORITY
  ) {
    // A not-ready holder: replace it like a leaving master, preempt or not.
    if (state.masterDownAt === null) return result(state, []);
    const at = Math.min(state.masterDownAt, ev.nowMs + skew);
    return result({
      ...state,
      masterDownAt: at,
      masterDownCause: `not-ready master ${ev.src} (priority ${ev.priority})`,
      master: ev.src,
    }, []);
  }
  if (state.config.preempt && ev.priority < ours) {
    // Discard: the timer runs out and we preempt.
    return result(state, []);
  }
  const mai = ev.maxAdvertIntervalCs * 10;
  const next: VrrpState = {
    ...state,
    masterAdverIntervalMs: mai,
    master: ev.src,
    masterDownCause: null,
  };
  return result({ ...next, masterDownAt: freshMasterDown(next, ev.nowMs) }, []);
}

/** §6.4.3 "If an ADVERTISEMENT is received", Master. */
function masterReceives(state: VrrpState, ev: AdvertEvent): StepResult {
  const ours = effectivePriority(state);
  if (ev.priority === 0) {
    // Another master is leaving: tell the backups at once that we are here.
    const actions: VrrpAction[] = [{ type: "send", priority: ours }];
    let next: VrrpState = {
      ...state,
      adverAt: ev.nowMs + advertIntervalMs(state),
    };
    // Beyond the RFC: it held the VIP, so clients may point at it.
    if (mayAnnounce(state, ev.nowMs)) {
      actions.push({ type: "announce" });
      next = { ...next, lastAnnounceAt: ev.nowMs };
    }
    return result(next, actions);
  }
  if (beats(state, ev.priority, ev.src)) {
    const reason = ev.priority > ours
      ? `peer with higher priority ${ev.src} (${ev.priority} > ${ours})`
      : `peer with equal priority ${ev.priority} and higher address ${ev.src}`;
    const next = enterBackup(
      state,
      ev.nowMs,
      ev.maxAdvertIntervalCs * 10,
      ev.src,
    );
    return result(next, [
      { type: "stateChange", from: "master", to: "backup", reason },
      { type: "removeVip" },
      // Beyond the RFC: the winner may never have heard us; this makes it
      // answer with a gratuitous-ARP burst (a backup discards it).
      { type: "send", priority: ours },
    ]);
  }
  // A lower-priority master: it will yield to our advert. Answer, but at
  // most once per interval, so a flood cannot multiply.
  if (!mayAnnounce(state, ev.nowMs)) return result(state, []);
  return result({ ...state, lastAnnounceAt: ev.nowMs }, [
    {
      type: "log",
      level: "warn",
      message: `conflicting master ${ev.src} with lower priority ` +
        `${ev.priority} (ours ${ours}): answering with an advertisement and ` +
        `gratuitous ARP`,
    },
    { type: "send", priority: ours },
    { type: "announce" },
  ]);
}

function mayAnnounce(state: VrrpState, nowMs: number): boolean {
  return state.lastAnnounceAt === null ||
    nowMs - state.lastAnnounceAt >= advertIntervalMs(state);
}

type EligibilityEvent = Extract<VrrpEvent, { type: "eligibility" }>;

/** The cause of the health verdict's block. */
const HEALTH = "health";
/**
 * The cause of a planned handoff's block (`ha-vip handoff`): an
 * `eligibility` event with this cause, usually with `forMs`.
 */
export const HANDOFF_CAUSE = "handoff";
/** The cause of a failed VIP add's block. */
const VIP_FAULT = "vip";

function onEligibility(state: VrrpState, ev: EligibilityEvent): StepResult {
  const cause = ev.cause ?? HEALTH;
  if (ev.eligible) {
    return withBlocks(
      state,
      ev.nowMs,
      state.blocks.filter((b) => b.cause !== cause),
    );
  }
  const old = state.blocks.find((b) => b.cause === cause);
  // Same verdict, maybe a new reason: keep the reason current for logs.
  const reason = ev.reason ?? old?.reason ?? "unknown";
  return withBlock(state, ev.nowMs, {
    cause,
    reason,
    untilMs: ev.forMs === undefined ? null : ev.nowMs + ev.forMs,
    immediate: ev.immediate,
  });
}

/** Sets (replaces) the block of `block.cause`. */
function withBlock(
  state: VrrpState,
  nowMs: number,
  block: EligibilityBlock,
): StepResult {
  const others = state.blocks.filter((b) => b.cause !== block.cause);
  // Health is the standing reason; anything else is more pressing.
  const blocks = block.cause === HEALTH
    ? [...others, block]
    : [block, ...others];
  return withBlocks(state, nowMs, blocks);
}

/** Applies a new set of blocks: eligibility may change, and with it the phase. */
function withBlocks(
  state: VrrpState,
  nowMs: number,
  blocks: readonly EligibilityBlock[],
): StepResult {
  const eligible = blocks.length === 0;
  const reason = eligible ? "" : blocks[0].reason;
  const blocked = { ...state, blocks };
  if (holdsVip(state) && blocks.some((b) => b.immediate === true)) {
    const hard = blocks.find((b) => b.immediate === true)!;
    return dropVip(
      state,
      { ...blocked, eligible, ineligibleReason: reason },
      nowMs,
      hard.reason,
    );
  }
  if (eligible === state.eligible) {
    return result(
      reason === state.ineligibleReason
        ? blocked
        : { ...blocked, ineligibleReason: reason },
      [],
    );
  }
  const next: VrrpState = { ...blocked, eligible, ineligibleReason: reason };
  return eligibilityChanged(state, next, nowMs);
}

/**
 * A holder under an immediate block: the VIP goes now, with priority 0 so
 * that a backup takes over after its skew time (if this node can still
 * send at all); a leaving node just stops.
 */
function dropVip(
  state: VrrpState,
  next: VrrpState,
  nowMs: number,
  reason: string,
): StepResult {
  if (state.phase === "leaving") {
    return stop(next, reason, [{ type: "removeVip" }]);
  }
  return result(enterBackup(next, nowMs, next.masterAdverIntervalMs, null), [
    { type: "stateChange", from: state.phase, to: "backup", reason },
    { type: "send", priority: 0 },
    { type: "removeVip" },
  ]);
}

/** What a change of eligibility does in each phase (`state` is before it). */
function eligibilityChanged(
  state: VrrpState,
  next: VrrpState,
  nowMs: number,
): StepResult {
  switch (state.phase) {
    case "backup": {
      // Becoming eligible restarts the timer in full; losing it stops it
      // (or, under "fallback", restarts it at the fallback priority).
      const s = { ...next, masterDownCause: null };
      const message = next.eligible
        ? "ready: may take over as master"
        : `${notReady(next)}: will not take over`;
      return result({ ...s, masterDownAt: freshMasterDown(s, nowMs) }, [
        { type: "log", level: "info", message },
      ]);
    }
    case "master":
      return masterEligibility(next, nowMs);
    case "yielding":
      return next.eligible ? backFromYielding(next, nowMs) : result(next, []);
    default:
      return result(next, []);
  }
}

function masterEligibility(next: VrrpState, nowMs: number): StepResult {
  if (!next.eligible && next.config.noneEligiblePolicy === "stay-backup") {
    // Priority 0 so the best backup takes over after its skew time, and
    // make-before-break: the VIP stays until that successor announced,
    // so clients get an answer (even an error) instead of silence.
    return handOver(next, "yielding", nowMs, notReady(next));
  }
  // Fallback policy: advertise the new priority at once.
  return result({ ...next, adverAt: nowMs + advertIntervalMs(next) }, [
    {
      type: "log",
      level: next.eligible ? "info" : "warn",
      message: next.eligible
        ? `ready: advertising priority ${next.config.priority}`
        : `${notReady(next)}: keeping the VIP at priority ` +
          `${FALLBACK_PRIORITY} until a ready node takes over`,
    },
    { type: "send", priority: effectivePriority(next) },
  ]);
}

/** Yielding only because of a planned handoff (nothing else blocks)? */
function onlyHandoff(state: VrrpState): boolean {
  return state.blocks.length === 1 && state.blocks[0].cause === HANDOFF_CAUSE;
}

/**
 * A planned handoff that nobody took over: giving the VIP up now would
 * leave clients with no holder at all, so the handoff is cancelled and this
 * node stays master (the daemon tells the operator).
 */
function handoffFailed(state: VrrpState, nowMs: number): StepResult {
  const next: VrrpState = {
    ...state,
    blocks: [],
    eligible: true,
    ineligibleReason: "",
  };
  const ms = Math.round(leaveTimeoutMs(advertIntervalMs(state)));
  const back = backFromYielding(
    next,
    nowMs,
    `handoff cancelled: no other node took over within ${ms} ms`,
  );
  return result(back.state, [
    ...back.actions,
    {
      type: "log",
      level: "warn",
      message:
        `handoff cancelled: no other node took over within ${ms} ms, so this node keeps the VIP ` +
        `(is another node ready and in the election?)`,
    },
  ]);
}

/** Ready again before anyone took over: simply stay master. */
function backFromYielding(
  next: VrrpState,
  nowMs: number,
  reason = "ready again before a successor took over",
): StepResult {
  const back: VrrpState = {
    ...next,
    phase: "master",
    leaveBy: null,
    adverAt: nowMs + advertIntervalMs(next),
    master: next.config.primaryIp,
  };
  return result(back, [
    {
      type: "stateChange",
      from: "yielding",
      to: "master",
      reason,
    },
    { type: "send", priority: effectivePriority(back) },
  ]);
}

/** Yielding -> Backup: the successor announced (or nobody came). */
function yielded(
  state: VrrpState,
  nowMs: number,
  reason: string,
  master: string | null,
): StepResult {
  const next = enterBackup(state, nowMs, state.masterAdverIntervalMs, master);
  return result(next, [
    { type: "stateChange", from: "yielding", to: "backup", reason },
    { type: "removeVip" },
  ]);
}

function onInterface(state: VrrpState, nowMs: number, up: boolean): StepResult {
  if (up === state.interfaceUp) return result(state, []);
  const next: VrrpState = { ...state, interfaceUp: up };
  if (up) {
    if (state.phase === "initialize" && state.started) {
      return toBackupFromInitialize(next, nowMs, "interface up");
    }
    return result(next, []);
  }
  switch (state.phase) {
    case "leaving":
      return stop(next, "interface down", [{ type: "removeVip" }]);
    case "master":
    case "yielding":
    case "backup": {
      // Nothing can be sent or heard: step down and wait for the link.
      const down: VrrpState = {
        ...next,
        phase: "initialize",
        masterDownAt: null,
        masterDownCause: null,
        adverAt: null,
        master: null,
      };
      const actions: VrrpAction[] = [
        {
          type: "stateChange",
          from: state.phase,
          to: "initialize",
          reason: "interface down",
        },
      ];
      if (state.phase !== "backup") actions.push({ type: "removeVip" });
      return result(down, actions);
    }
    default:
      return result(next, []);
  }
}
