/**
 * The handoff part: the local control channel (`lib/control`, not the
 * control signals of `_control.ts`) and what its requests do. A planned
 * handoff (`ha-vip handoff`) asks the elector to step out of the election —
 * backend-neutral, through `Elector.handoff` — and answers once the VIP has moved (make-before-break), or says why it did
 * not. The handoff in force is part of `/status` and is logged.
 *
 * @module
 */
import type { Clock } from "../clock/mod.ts";
import {
  type ControlPeer,
  type ControlRequest,
  type ControlResponse,
  type ControlServer,
  type ControlServerOptions,
  describePeer,
  type HandoffState,
} from "../control/mod.ts";
import type { ElectionStatusBase, Elector } from "../election/mod.ts";
import { formatDuration } from "../config/mod.ts";
import type { Logger } from "../observe/mod.ts";
import type { PartStack } from "./_parts.ts";

/** Opens the control channel (a seam: tests use a temporary path or none). */
export type ControlOpener = (
  options: ControlServerOptions,
) => Promise<ControlServer>;

/** How long a handoff request waits for the VIP to move. */
const HANDOFF_WAIT_MS = 60_000;
/** How often the elector's status is looked at while waiting. */
const POLL_MS = 50;

/** The handoff in force, as this daemon knows it. */
export class Handoffs {
  #current: HandoffState | null = null;
  #seenOut = false;

  constructor(
    readonly elector: Elector,
    readonly clock: Clock,
    readonly log: Logger,
  ) {}

  /** The handoff in force (null once the elector is back in the election). */
  current(): HandoffState | null {
    this.#observe(this.elector.status());
    return this.#current;
  }

  /** Notices the end of a handoff (its time ran out, or it was cancelled). */
  #observe(s: ElectionStatusBase): void {
    if (this.#current === null) return;
    if (s.stepped_out) {
      this.#seenOut = true;
      return;
    }
    if (!this.#seenOut) return;
    this.log.info("handoff over: back in the election", {
      since: this.#current.since,
    });
    this.#current = null;
    this.#seenOut = false;
  }

  /** Serves one control request. */
  async handle(
    request: ControlRequest,
    peer: ControlPeer,
  ): Promise<ControlResponse> {
    switch (request.op) {
      case "status":
        return { ok: true, message: this.#describe(), handoff: this.current() };
      case "cancel":
        return this.#cancel(peer);
      case "handoff":
        return await this.#handoff(request.forMs, peer);
    }
  }

  #describe(): string {
    const c = this.current();
    if (c === null) return "in the election (no handoff in force)";
    return `out of the election ${
      c.until ? `until ${c.until}` : "until cancelled"
    }`;
  }

  #cancel(peer: ControlPeer): ControlResponse {
    const had = this.current() !== null;
    this.elector.handoff(null);
    this.#current = null;
    this.#seenOut = false;
    if (had) {
      this.log.info("handoff cancelled: back in the election", {
        by: describePeer(peer),
      });
    }
    return {
      ok: true,
      message: had
        ? "handoff cancelled: back in the election"
        : "no handoff was in force",
      handoff: null,
    };
  }

  async #handoff(
    forMs: number | null,
    peer: ControlPeer,
  ): Promise<ControlResponse> {
    const now = new Date(this.clock.wallNow?.() ?? Date.now());
    const until = forMs === null
      ? null
      : new Date(now.getTime() + forMs).toISOString();
    const span = forMs === null
      ? "until cancelled"
      : `for ${formatDuration(forMs)}`;
    this.#current = { since: now.toISOString(), until, by: describePeer(peer) };
    this.#seenOut = false;
    this.log.info(
      `planned handoff requested: stepping out of the election ${span}`,
      {
        by: describePeer(peer),
        until: until ?? "cancel or restart",
      },
    );
    const wasHolding = this.elector.status().holding;
    this.elector.handoff({
      forMs,
      reason: `planned handoff (${describePeer(peer)}) ${span}`,
    });
    return await this.#awaitHandover(span, wasHolding);
  }

  /** Waits until the VIP has moved, or the elector gave the handoff up. */
  async #awaitHandover(
    span: string,
    wasHolding: boolean,
  ): Promise<ControlResponse> {
    const deadline = this.clock.now() + HANDOFF_WAIT_MS;
    while (this.clock.now() < deadline) {
      await this.clock.sleep(POLL_MS);
      const s = this.elector.status();
      if (s.stepped_out) this.#seenOut = true;
      if (!this.#seenOut) continue;
      if (s.stepped_out && !s.holding) {
        // Who holds it now, as the backend names it (its master or holder).
        const next = s as { master?: string | null; holder?: string };
        const message = wasHolding
          ? `handed the VIP over${
            next.master
              ? ` (master now ${next.master})`
              : next.holder
              ? ` (now held by ${next.holder})`
              : ""
          }: out of the election ${span}`
          : `this node did not hold the VIP: out of the election ${span}`;
        this.log.info(`planned handoff: ${message}`);
        return { ok: true, message, handoff: this.#current };
      }
      if (!s.stepped_out) {
        this.#current = null;
        this.#seenOut = false;
        return {
          ok: false,
          message:
            "no other node took the VIP over, so this node keeps it (is another node ready and in the election?)",
          handoff: null,
        };
      }
    }
    return {
      ok: false,
      message: `the VIP has not moved within ${
        HANDOFF_WAIT_MS / 1000
      } s; the handoff stays in force (ha-vip handoff --cancel ends it)`,
      handoff: this.#current,
    };
  }
}

/**
 * Opens the control channel at `path` and serves `handoffs` on it until
 * the stack is disposed. A channel that cannot be opened (another daemon's
 * socket, no writable /run) is a warning, not a stop: the VIP is served
 * without it, and `ha-vip handoff` says it cannot reach the daemon.
 */
export async function startControl(
  stack: PartStack,
  o: {
    path: string;
    open: ControlOpener;
    handoffs: Handoffs;
    clock: Clock;
    log: Logger;
  },
): Promise<boolean> {
  try {
    const server = await o.open({
      path: o.path,
      handle: (request, peer) => o.handoffs.handle(request, peer),
      onProblem: (message) => o.log.warn(message),
    });
    stack.use(server);
    // Notices (and logs) a handoff that ran out by itself.
    stack.use(o.clock.interval(1000, () => void o.handoffs.current()));
    o.log.info("control channel listening", { path: o.path });
    return true;
  } catch (err) {
    o.log.warn(
      `no control channel (ha-vip handoff cannot reach this daemon): ${
        err instanceof Error ? err.message : String(err)
      }`,
      { path: o.path },
    );
    return false;
  }
}
