/**
 * The client's view of the VIP, built from the prober's lines: its
 * neighbour entry for the VIP, whether replies flow, the outages (runs of
 * lost ICMP requests; late replies caused only by a stall of the prober
 * itself do not count), ARP answers from several MACs, gratuitous ARPs.
 *
 * @module
 */

import type { ProbeLine } from "./prober.ts";
import { nowMs } from "./topology.ts";
import type { Interval } from "./vip_watch.ts";

/** An outage of the client, epoch ms. */
export interface ClientGap {
  from: number;
  to: number;
  ms: number;
  /** Still open at the time asked for. */
  open: boolean;
  /**
   * Requests that never got a reply (the rest came late); an open gap's
   * count is not known yet (-1).
   */
  lost: number;
}

/** Feed it every prober line; ask it what the client saw. */
export class ClientView {
  /** The MAC the neighbour entry points at now (null: none). */
  neighMac: string | null = null;
  #neigh: { t: number; mac: string | null }[] = [];
  #gaps: { from: number; to: number; lost: number }[] = [];
  #stalls: Interval[] = [];
  #downSince: number | null = null;
  #lastReply: number | null = null;
  #arp: { t: number; n: number }[] = [];
  #garps: { t: number; mac: string }[] = [];
  #started = Promise.withResolvers<void>();

  /** Takes one prober line. */
  add(l: ProbeLine): void {
    switch (l.type) {
      case "start":
        this.#started.resolve();
        break;
      case "neigh":
        this.neighMac = l.mac;
        this.#neigh.push({ t: l.t, mac: l.mac });
        break;
      case "reach":
        if (l.up) {
          this.#downSince = null;
          this.#lastReply = l.t;
        } else this.#downSince = l.t;
        break;
      case "gap":
        this.#gaps.push({ from: l.start, to: l.end, lost: l.lost });
        this.#lastReply = l.end;
        break;
      case "stall":
        this.#stalls.push({ from: l.t, to: l.t + l.ms });
        break;
      case "stats":
        if (l.lastReplyAt !== null) this.#lastReply = l.lastReplyAt;
        break;
      case "arp":
        this.#arp.push({ t: l.t, n: l.macs.length });
        break;
      case "garp":
        this.#garps.push({ t: l.t, mac: l.mac });
        break;
    }
  }

  /** Resolves on the prober's first line. */
  started(): Promise<void> {
    return this.#started.promise;
  }

  /** Replies are flowing: the VIP answered and no silence is open. */
  get reachable(): boolean {
    return this.#lastReply !== null && this.#downSince === null;
  }

  /** First gratuitous ARP from `mac` seen at/after `from` (epoch ms). */
  garpAt(mac: string, from: number): number | null {
    return this.#garps.find((g) => g.t >= from && g.mac === mac)?.t ?? null;
  }

  /** Outages overlapping [from, to], an open one cut at `to`. */
  gapsIn(from: number, to: number = nowMs()): ClientGap[] {
    // Replies that were only late because the prober itself stalled are
    // not an outage of the VIP.
    const artifact = (g: { from: number; to: number; lost: number }) =>
      g.lost === 0 &&
      this.#stalls.some((s) => s.from <= g.to && (s.to ?? s.from) >= g.from);
    const out = this.#gaps
      .filter((g) => g.to >= from && g.from <= to && !artifact(g))
      .map((g) => ({
        from: g.from,
        to: g.to,
        ms: g.to - g.from,
        open: false,
        lost: g.lost,
      }));
    if (this.#downSince !== null && this.#downSince <= to) {
      out.push({
        from: this.#downSince,
        to,
        ms: to - this.#downSince,
        open: true,
        lost: -1,
      });
    }
    return out;
  }

  /** Longest outage overlapping [from, to], ms (0: none). */
  longestGapIn(from: number, to: number = nowMs()): number {
    return this.gapsIn(from, to).reduce((m, g) => Math.max(m, g.ms), 0);
  }

  /** First time at/after `from` the neighbour entry pointed at `mac`. */
  neighSwitchAt(mac: string, from: number): number | null {
    let current: string | null = null;
    for (const e of this.#neigh) {
      if (e.t < from) {
        current = e.mac;
        continue;
      }
      if (current === mac) return from;
      if (e.mac === mac) return e.t;
      current = e.mac;
    }
    return current === mac ? from : null;
  }

  /** Intervals during which two or more MACs answered ARP probes. */
  arpMulti(end: number): Interval[] {
    const out: Interval[] = [];
    let since: number | null = null;
    for (const a of this.#arp) {
      if (a.n >= 2 && since === null) since = a.t;
      if (a.n < 2 && since !== null) {
        out.push({ from: since, to: a.t });
        since = null;
      }
    }
    if (since !== null) out.push({ from: since, to: end });
    return out;
  }
}
