/**
 * The VRRPv3 election backend: the pure state machine of `lib/vrrp`, driven
 * by real time, the raw socket and the daemon's events. All decisions are in
 * `step`; this file only moves events in and actions out.
 */
import {
  createVrrpState,
  DROP_REASONS,
  holdsVip,
  isSilentDrop,
  receiveDatagram,
  step,
  type StepResult,
  type ValidateOptions,
  type VrrpConfig,
  type VrrpEvent,
  type VrrpSocket,
  type VrrpState,
} from "../vrrp/mod.ts";
import type { ElectionHost, Elector } from "./elector.ts";

/** Options of {@link VrrpElector}. */
export interface VrrpElectorOptions {
  machine: VrrpConfig;
  vrid: number;
  /** The VIP address(es) carried in advertisements (no prefix length). */
  addresses: string[];
  socket: VrrpSocket;
  host: ElectionHost;
  /** Unicast peers (accepted sources), if any. */
  peers?: string[];
  /** Monotonic clock (ms). */
  now?: () => number;
  /** After a failed VIP add, how long this node stays out (default 5 s). */
  vipFaultHoldoffMs?: number;
}

// The receive wait is capped so queued events (signals, health) never wait
// longer than this: a pending FFI poll cannot be interrupted.
const MAX_WAIT_MS = 50;

/** VRRPv3 election (RFC 5798), wire-compatible with keepalived. */
export class VrrpElector implements Elector {
  readonly #o: VrrpElectorOptions;
  readonly #now: () => number;
  readonly #validation: ValidateOptions;
  #state: VrrpState;
  #socket: VrrpSocket;
  #deadline: number | null = null;
  // Events wait here without a time: they are stamped when handled, so a
  // timer armed by one (the priority-0 resend) runs from when it was sent.
  #queue: Omit<VrrpEvent, "nowMs">[] = [];
  #wake?: AbortController;
  #done = false;
  #healthy = false;
  #healthReason = "health not yet known";
  #vipFault: string | null = null;
  #sendFailing = false;
  #lastDropLog = new Map<string, number>();

  constructor(options: VrrpElectorOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    this.#socket = options.socket;
    this.#state = createVrrpState(options.machine, {
      eligible: false,
      interfaceUp: true,
    });
    this.#validation = {
      vrid: options.vrid,
      addresses: options.addresses,
      primaryIp: options.machine.primaryIp,
      allowedSources: options.peers && options.peers.length > 0
        ? options.peers
        : undefined,
    };
    const m = options.host.metrics;
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
      "havip_vrrp_adverts_received_total",
      "Valid VRRP advertisements received.",
      "counter",
    );
    this.#setStateGauge();
  }

  /** The current state (tests, status). */
  get state(): VrrpState {
    return this.#state;
  }

  // Distributes Omit over the union, so each event keeps its own fields.
  #enqueue(
    event: VrrpEvent extends infer E ? E extends VrrpEvent ? Omit<E, "nowMs">
      : never
      : never,
  ): void {
    this.#queue.push(event);
    this.#wake?.abort();
  }

  #pushEligibility(): void {
    const eligible = this.#healthy && this.#vipFault === null;
    const reason = this.#vipFault ?? this.#healthReason;
    this.#enqueue({
      type: "eligibility",
      eligible,
      reason: eligible ? undefined : reason,
    });
  }

  setEligible(eligible: boolean, reason?: string): void {
    this.#healthy = eligible;
    this.#healthReason = reason ?? "not ready";
    this.#pushEligibility();
  }

  /**
   * Swaps in a socket opened on a recreated interface; the old one is
   * closed, which also ends a receive waiting on it.
   */
  replaceSocket(socket: VrrpSocket): void {
    const old = this.#socket;
    this.#socket = socket;
    old.close();
    this.#wake?.abort();
  }

  /** Closes the current socket (at the end of the daemon). */
  close(): void {
    this.#socket.close();
  }

  setInterfaceUp(up: boolean): void {
    this.#enqueue({ type: "interface", up });
  }

  shutdown(force = false): void {
    this.#enqueue({ type: "shutdown", force });
  }

  status(): Record<string, unknown> {
    const s = this.#state;
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
    };
  }

  #setStateGauge(): void {
    for (
      const phase of [
        "initialize",
        "backup",
        "master",
        "yielding",
        "leaving",
        "stopped",
      ]
    ) {
      this.#o.host.metrics.set(
        "havip_vrrp_state",
        "1 for the current VRRP state.",
        phase === this.#state.phase ? 1 : 0,
        {
          state: phase,
        },
      );
    }
  }

  async #apply(result: StepResult): Promise<void> {
    this.#state = result.state;
    this.#deadline = result.nextDeadlineMs;
    const { host } = this.#o;
    for (const action of result.actions) {
      switch (action.type) {
        case "send": {
          const failures = this.#socket.send({
            vrid: this.#o.vrid,
            priority: action.priority,
            maxAdvertIntervalCs: this.#state.config.advertIntervalCs,
            addresses: this.#o.addresses,
          });
          host.metrics.inc(
            "havip_vrrp_adverts_sent_total",
            "VRRP advertisements sent.",
          );
          if (failures.length > 0 && !this.#sendFailing) {
            host.log.warn("cannot send VRRP advertisement", {
              failures: failures.map((f) => `${f.dst}: ${f.error.message}`)
                .join("; "),
            });
          }
          this.#sendFailing = failures.length > 0;
          break;
        }
        case "addVip":
          try {
            await host.addVip();
          } catch (err) {
            // Without the VIP this node must not stay master: step out for a
            // while (priority 0 lets a peer take over at once), then retry.
            this.#vipFault = `cannot add the VIP: ${
              err instanceof Error ? err.message : err
            }`;
            host.log.error(this.#vipFault);
            this.#pushEligibility();
            setTimeout(() => {
              this.#vipFault = null;
              if (!this.#done) this.#pushEligibility();
            }, this.#o.vipFaultHoldoffMs ?? 5000);
          }
          break;
        case "announce":
          host.announce();
          break;
        case "removeVip":
          try {
            await host.removeVip();
          } catch (err) {
            // The lifetime still removes it by itself; say so.
            host.log.error(
              "cannot remove the VIP; it expires by its lifetime",
              {
                error: err instanceof Error ? err.message : String(err),
              },
            );
          }
          break;
        case "exit":
          this.#done = true;
          break;
        case "stateChange":
          host.log.info(
            `VRRP ${action.from} -> ${action.to}: ${action.reason}`,
            {
              state: action.to,
              reason: action.reason,
            },
          );
          host.metrics.inc("havip_state_changes_total", "VRRP state changes.", {
            to: action.to,
          });
          this.#setStateGauge();
          break;
        case "log":
          host.log[action.level](action.message);
          break;
      }
    }
  }

  #countDrop(reason: string, detail: string, src?: string): void {
    this.#o.host.metrics.inc(
      "havip_vrrp_dropped_total",
      "VRRP packets dropped, by reason.",
      { reason },
    );
    if (isSilentDrop(reason as typeof DROP_REASONS[number])) return;
    // One line per reason per 10 s: a hostile flood must not flood the log.
    const now = this.#now();
    const last = this.#lastDropLog.get(reason) ?? -Infinity;
    if (now - last >= 10_000) {
      this.#lastDropLog.set(reason, now);
      this.#o.host.log.warn("dropped VRRP packet", { reason, detail, src });
    }
  }

  async #handleQueued(): Promise<void> {
    const event = this.#queue.shift()!;
    await this.#apply(
      step(this.#state, { ...event, nowMs: this.#now() } as VrrpEvent),
    );
  }

  async run(): Promise<void> {
    // What is already known (health off: eligible) counts from the start.
    while (this.#queue.length > 0 && !this.#done) await this.#handleQueued();
    await this.#apply(
      step(this.#state, { type: "startup", nowMs: this.#now() }),
    );
    while (!this.#done) {
      if (this.#queue.length > 0) {
        await this.#handleQueued();
        continue;
      }
      const now = this.#now();
      if (this.#deadline !== null && this.#deadline <= now) {
        await this.#apply(step(this.#state, { type: "tick", nowMs: now }));
        continue;
      }
      const wait = this.#deadline === null
        ? MAX_WAIT_MS
        : Math.min(MAX_WAIT_MS, this.#deadline - now);
      const wake = new AbortController();
      this.#wake = wake;
      let datagram: Uint8Array | null = null;
      try {
        datagram = await this.#socket.recv({
          timeoutMs: Math.max(1, Math.ceil(wait)),
          signal: wake.signal,
        });
      } catch (err) {
        this.#o.host.log.error("VRRP receive failed", {
          error: err instanceof Error ? err.message : String(err),
        });
        await new Promise((r) => setTimeout(r, 100));
      }
      this.#wake = undefined;
      if (!datagram) continue;
      const r = receiveDatagram(this.#state, {
        datagram,
        nowMs: this.#now(),
        validation: this.#validation,
      });
      if (r.drop !== null) {
        const p = r.packet as { detail?: string; src?: string };
        this.#countDrop(r.drop, p.detail ?? "", p.src);
        continue;
      }
      this.#o.host.metrics.inc(
        "havip_vrrp_adverts_received_total",
        "Valid VRRP advertisements received.",
      );
      await this.#apply(r);
    }
    this.#done = true;
  }
}
