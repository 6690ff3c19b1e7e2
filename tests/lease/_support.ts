/**
 * Test helpers for the Lease machine: a fake-clock driver that keeps the
 * actions it produced and answers requests, and Lease objects built
 * independently of the codec under test.
 */
import assert from "node:assert/strict";
import {
  type ApiResult,
  createLeaseState,
  type Lease,
  type LeaseAction,
  type LeaseEvent,
  type LeaseMachineConfig,
  type LeaseRecord,
  type LeaseState,
  step,
} from "../../lib/lease/mod.ts";

/** 15/10/2, the defaults. */
export const BASE: LeaseMachineConfig = {
  identity: "cp-1",
  durationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  seed: 7,
};

/** Wall clock of the fake world: 2026-11-30T12:00:00Z + t (µs). */
export const WALL0 = Date.UTC(2026, 10, 30, 12) * 1000;

let rv = 100;

/** A Lease object as the codec returns it. */
export function lease(
  record: Partial<LeaseRecord>,
  name = "ha-vip",
  releasedBy?: string,
): Lease {
  return {
    ...(releasedBy ? { releasedBy } : {}),
    name,
    namespace: "kube-system",
    resourceVersion: String(++rv),
    record: {
      holderIdentity: "",
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
      ...record,
    },
    metadata: { name, namespace: "kube-system", resourceVersion: String(rv) },
  };
}

type Ev = LeaseEvent extends infer E
  ? E extends LeaseEvent ? Omit<E, "nowMs"> : never
  : never;

/** Drives one machine with a fake clock. */
export class Driver {
  state: LeaseState;
  now = 0;
  /** Every action so far, with the time it was produced. */
  log: { t: number; action: LeaseAction }[] = [];
  #deadline: number | null = null;

  constructor(config: Partial<LeaseMachineConfig> = {}) {
    this.state = createLeaseState({ ...BASE, ...config });
  }

  /** Applies one event at time `t` (default now). */
  at(t: number, event: Ev): LeaseAction[] {
    this.now = t;
    const r = step(
      this.state,
      { ...event, nowMs: t } as LeaseEvent,
      WALL0 + t * 1000,
    );
    this.state = r.state;
    this.#deadline = r.nextDeadlineMs;
    for (const action of r.actions) this.log.push({ t, action });
    return r.actions;
  }

  /** Applies an event now. */
  do(event: Ev): LeaseAction[] {
    return this.at(this.now, event);
  }

  /** Ticks at every deadline up to `t`, then sets the clock to `t`. */
  advanceTo(t: number): LeaseAction[] {
    const out: LeaseAction[] = [];
    let guard = 0;
    while (this.#deadline !== null && this.#deadline <= t) {
      if (++guard > 10_000) throw new Error("deadline loop");
      out.push(...this.at(this.#deadline, { type: "tick" }));
    }
    this.now = t;
    return out;
  }

  /** Advances by `ms`. */
  advance(ms: number): LeaseAction[] {
    return this.advanceTo(this.now + ms);
  }

  /** The request in flight (asserts there is one). */
  get pending() {
    const f = this.state.inflight;
    if (!f) throw new Error(`no request in flight (phase ${this.state.phase})`);
    return f;
  }

  /** Answers the request in flight now. */
  answer(result: ApiResult): LeaseAction[] {
    return this.do({ type: "response", id: this.pending.id, result });
  }

  /** The time of the next tick, if any. */
  get deadline(): number | null {
    return this.#deadline;
  }

  /** The last request action (get/create/update) produced. */
  lastRequest(): LeaseAction {
    for (let i = this.log.length - 1; i >= 0; i--) {
      const a = this.log[i].action;
      if (a.type === "get" || a.type === "create" || a.type === "update") {
        return a;
      }
    }
    throw new Error("no request yet");
  }
}

/** The action types, for compact assertions. */
export function types(actions: LeaseAction[]): string[] {
  return actions.filter((a) => a.type !== "log").map((a) =>
    a.type === "stateChange" ? `${a.from}->${a.to}` : a.type
  );
}

/** A started machine, eligible unless said otherwise, its first GET pending. */
export function started(
  config: Partial<LeaseMachineConfig> = {},
  eligible = true,
): Driver {
  const d = new Driver(config);
  d.at(0, { type: "eligibility", eligible });
  d.at(0, { type: "start" });
  return d;
}

/** The first action of `type`. */
export function find<T extends LeaseAction["type"]>(
  actions: LeaseAction[],
  type: T,
): Extract<LeaseAction, { type: T }> | undefined {
  return actions.find((a) => a.type === type) as
    | Extract<LeaseAction, { type: T }>
    | undefined;
}

/** The record of the first write. */
export function written(actions: LeaseAction[]): LeaseRecord | undefined {
  const a = actions.find((x) => x.type === "update" || x.type === "create");
  return a && (a.type === "update" || a.type === "create")
    ? a.record
    : undefined;
}

/** A holder of the default lease at `t`, VIP added (took it from an expired holder). */
export function holder(config: Partial<LeaseMachineConfig> = {}): Driver {
  const d = started(config);
  d.answer({ kind: "notFound" }); // GET at 0
  d.answer({
    kind: "lease",
    lease: lease({
      holderIdentity: "cp-1",
      acquireTime: WALL0,
      renewTime: WALL0,
    }),
  });
  d.do({ type: "vipFree", seenAnswered: false });
  assert.equal(d.state.phase, "holder");
  assert.equal(d.state.vipHeld, true);
  return d;
}

/** The answer the API server gives to the write in flight (echoes it). */
export function echo(d: Driver, extra: Partial<LeaseRecord> = {}) {
  const f = d.pending;
  return d.answer({ kind: "lease", lease: lease({ ...f.record!, ...extra }) });
}
