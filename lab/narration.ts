/**
 * Narration: turns prober lines and daemon output into the lab's timeline,
 * without the routine noise.
 *
 * @module
 */

import type { ProbeLine } from "./prober.ts";
import { fmtS } from "./util.ts";

/** Where timeline lines go: source (`lab`, `node1`, `client`), text, time. */
export type Say = (source: string, text: string, at?: number) => void;

/** Turns prober lines into timeline lines, without the routine noise. */
export function narrator(
  nameOfMac: (m: string | null) => string,
  say: (text: string, at: number) => void,
  verbose: boolean,
): (l: ProbeLine) => void {
  let neighMac: string | null | undefined;
  let arpMulti = false;
  let garp = { mac: "", t: 0 };
  return (l) => {
    switch (l.type) {
      case "neigh": {
        // NUD churn (STALE, DELAY, PROBE, REACHABLE) on the same MAC is
        // routine; a new MAC or a failed resolution is news.
        const news = l.mac !== neighMac || /FAILED|INCOMPLETE/.test(l.state);
        neighMac = l.mac;
        if (news || verbose) {
          say(
            l.mac
              ? `neighbour entry for the VIP → ${
                nameOfMac(l.mac)
              } (${l.mac}, ${l.state})`
              : `neighbour entry for the VIP: ${l.state || "none"} (no MAC)`,
            l.t,
          );
        }
        break;
      }
      case "reach":
        if (!l.up) say("VIP unreachable (no ICMP reply)", l.t);
        break;
      case "gap":
        say(
          `VIP reachable again after ${fmtS(l.ms)} (${l.lost} probes lost${
            l.late ? `, ${l.late} late` : ""
          })`,
          l.t,
        );
        break;
      case "arp":
        if (l.macs.length >= 2) {
          say(
            `${l.macs.length} MACs answer ARP for the VIP: ${
              l.macs.map(nameOfMac).join(", ")
            }`,
            l.t,
          );
        } else if (arpMulti) {
          say(
            `ARP for the VIP answered by ${
              l.macs.map(nameOfMac).join(", ") || "nobody"
            } only`,
            l.t,
          );
        }
        arpMulti = l.macs.length >= 2;
        break;
      case "garp":
        // A takeover sends a burst: report its first packet.
        if (garp.mac !== l.mac || l.t - garp.t > 2000 || verbose) {
          say(`gratuitous ARP from ${nameOfMac(l.mac)}`, l.t);
        }
        garp = { mac: l.mac, t: l.t };
        break;
      case "stall":
        if (verbose || l.ms >= 100) {
          say(`prober stalled ${fmtS(l.ms)} (busy machine)`, l.t);
        }
        break;
      case "error":
        say(`prober: ${l.message}`, l.t);
        break;
    }
  };
}

/** ha-vip output lines worth a timeline line. */
export const HA_VIP_INTERESTING =
  /\b(master|backup|fault|takeover|took|holder|holds|vip|step|priority 0|not_ready|ready|unauthorized|forbidden|tls_error|timeout|connection_refused|error|warn)/i;
/** keepalived output lines worth a timeline line. */
export const KEEPALIVED_INTERESTING =
  /Entering \w+ STATE|removing VIPs|setting VIPs|Stopping|Stopped|received higher priority|received advert .* priority|forcing a new (MASTER|election)/i;

/**
 * A daemon's output handler: every line when `verbose`, else the
 * `interesting` ones, as `node` lines of the timeline.
 */
export function daemonLineHandler(
  node: string,
  verbose: boolean,
  say: Say,
  interesting: RegExp,
): (line: string, stream: "out" | "err", at: number) => void {
  return (line, _stream, at) => {
    if (verbose) say(node, `  ${line}`, at);
    else if (interesting.test(line)) {
      // The timeline has its own clock and names the node: drop the
      // daemons' date stamps (keepalived's and ha-vip's) and ha-vip's
      // trailing key=value fields, which repeat the message.
      const text = line
        .replace(/^\w{3} \w{3} +\d+ [\d:]+ \d{4}: /, "")
        .replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z\s+/, "")
        .replace(/\s+node=\S+(\s+\w+=.*)?$/, "");
      say(node, `  ${text}`, at);
    }
  };
}
