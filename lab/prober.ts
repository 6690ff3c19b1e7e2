/**
 * The lab's client-side measurement. Runs INSIDE the client namespace as its
 * own process and prints one JSON line per observation to stdout:
 *
 * ```sh
 * ip netns exec hvl123-c deno run -A lab/prober.ts --vip 10.254.7.100 \
 *   --interval-ms 5 --arp-interval-ms 50 --max-seconds 300
 * ```
 *
 * - ICMP echo to the VIP every `--interval-ms` over a raw socket; replies are
 *   matched by id and sequence. A silence longer than `--gap-ms` is reported
 *   when it starts (`reach` down) and when it ends (`gap`, with its length).
 * - The client's neighbour entry for the VIP (`ip -ts monitor neigh`, plus a
 *   slow `ip -j neigh` poll as a safety net): which MAC the client sends to.
 *   The prober is test tooling, so subprocesses are fine here.
 * - ARP probes for the VIP over AF_PACKET every `--arp-interval-ms`
 *   (0 = off), recording WHICH MACs answer: two answers = two holders. They
 *   are RFC 5227 probes (sender IP 0.0.0.0) from a made-up MAC, so neither
 *   the holders' nor the client's neighbour tables are disturbed: holders
 *   learn nothing from a 0.0.0.0 sender, and their unicast replies to the
 *   made-up MAC are "other host" frames the client's kernel ignores while
 *   our packet socket still sees them. Gratuitous ARPs are reported too.
 *
 * Line types (all times are epoch ms, fractional): `start`, `reach`,
 * `gap`, `neigh`, `arp`, `garp`, `arp_reply`, `stats`, `error`, `end`; see
 * {@link ProbeLine}. The prober stops by itself after `--max-seconds`, on
 * SIGTERM/SIGINT, and (with `--stop-on-eof`) when its stdin closes, i.e.
 * when the lab that started it is gone.
 *
 * @module
 */

import {
  formatIP,
  formatMac,
  parseIP,
  parseIPv4,
  parseMac,
} from "../lib/ip/mod.ts";
import {
  AF_INET,
  AF_INET6,
  AF_PACKET,
  ETH_P_ARP,
  interfaceIndex,
  IPPROTO_ICMPV6,
  openSocket,
  parseSockaddrIn6,
  SOCK_RAW,
  sockaddrIn,
  sockaddrIn6,
  sockaddrLl,
  type Socket,
} from "../lib/sys/mod.ts";
import { MONITOR_PRIORITY_ARGV, parseNeighLine } from "./ip_monitor.ts";
import type { LabProcess, Topology } from "./topology.ts";

/** IP protocol number of ICMP (not among lib/sys's constants). */
const IPPROTO_ICMP = 1;
/** `sll_pkttype` of a frame we sent ourselves. */
const PACKET_OUTGOING = 4;
/** Made-up, locally administered source MAC of our ARP probes. */
export const PROBE_MAC = "02:6c:61:62:ff:fe";

/** One line of prober output. */
export type ProbeLine =
  | {
    type: "start";
    t: number;
    vip: string;
    ifname: string;
    mac: string;
    intervalMs: number;
    gapMs: number;
    arpIntervalMs: number;
  }
  /** Reachability changed; `t` is the last reply before a loss, or the first reply after. */
  | { type: "reach"; t: number; up: boolean; detectedAt: number }
  /**
   * An outage ended: requests sent from `start` on got no timely reply
   * until the reply at `end`; `lost` never answered, `late` answered after
   * more than gapMs.
   */
  | {
    type: "gap";
    t: number;
    start: number;
    end: number;
    ms: number;
    lost: number;
    late: number;
  }
  /** This process did not run for `ms` (its send timer fired late). */
  | { type: "stall"; t: number; ms: number }
  /** The client's neighbour entry for the VIP changed. */
  | { type: "neigh"; t: number; mac: string | null; state: string }
  /** The set of MACs answering our ARP probes changed (per round). */
  | { type: "arp"; t: number; macs: string[] }
  /** A gratuitous ARP for the VIP was seen. */
  | { type: "garp"; t: number; mac: string; op: number }
  /** Someone answered the client kernel's own ARP request for the VIP. */
  | { type: "arp_reply"; t: number; mac: string }
  | {
    type: "stats";
    t: number;
    sent: number;
    received: number;
    late: number;
    sendErrors: number;
    lastReplyAt: number | null;
  }
  | { type: "error"; t: number; message: string }
  | {
    type: "end";
    t: number;
    sent: number;
    received: number;
    duplicates: number;
    /** Set when the run ended inside an outage that started here. */
    openGapStart: number | null;
  };

// ---------------------------------------------------------------------------
// Pure packet helpers.

/** The Internet checksum (RFC 1071) of `data`. */
export function internetChecksum(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) {
    sum += (data[i] << 8) | data[i + 1];
  }
  if (data.length % 2 === 1) sum += data[data.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An ICMP echo request (type 8) with a 16-byte payload, checksummed. */
export function buildEchoRequest(id: number, seq: number): Uint8Array {
  const b = new Uint8Array(8 + 16);
  const v = new DataView(b.buffer);
  v.setUint8(0, 8);
  v.setUint16(4, id, false);
  v.setUint16(6, seq, false);
  // Payload: a recognisable pattern ("ha-vip lab probe").
  b.set(new TextEncoder().encode("ha-vip lab probe"), 8);
  v.setUint16(2, internetChecksum(b), false);
  return b;
}

/**
 * Parses what a raw ICMP socket received (IPv4 header + ICMP) as an echo
 * reply. Returns null for anything else or anything malformed.
 */
export function parseEchoReply(
  data: Uint8Array,
): { from: string; id: number; seq: number } | null {
  if (data.length < 20 || data[0] >> 4 !== 4) return null;
  const ihl = (data[0] & 0x0f) * 4;
  if (ihl < 20 || data.length < ihl + 8) return null;
  if (data[9] !== IPPROTO_ICMP) return null;
  const icmp = data.subarray(ihl);
  if (icmp[0] !== 0 || icmp[1] !== 0) return null;
  if (internetChecksum(icmp) !== 0) return null;
  const v = new DataView(icmp.buffer, icmp.byteOffset, icmp.byteLength);
  return {
    from: `${data[12]}.${data[13]}.${data[14]}.${data[15]}`,
    id: v.getUint16(4, false),
    seq: v.getUint16(6, false),
  };
}

/**
 * An ICMPv6 echo request (type 128) with the same payload; the kernel
 * fills in the checksum of a raw ICMPv6 socket (it covers the IPv6
 * pseudo-header, which only the kernel knows for sure).
 */
export function buildEchoRequest6(id: number, seq: number): Uint8Array {
  const b = buildEchoRequest(id, seq);
  b[0] = 128;
  b[2] = b[3] = 0;
  return b;
}

/**
 * Parses what a raw ICMPv6 socket received (the ICMPv6 message only; the
 * source comes from the socket address) as an echo reply (type 129).
 */
export function parseEchoReply6(
  data: Uint8Array,
  from: string,
): { from: string; id: number; seq: number } | null {
  if (data.length < 8 || data[0] !== 129 || data[1] !== 0) return null;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { from, id: v.getUint16(4, false), seq: v.getUint16(6, false) };
}

/**
 * A broadcast Ethernet frame carrying an RFC 5227 ARP probe for `target`
 * (sender IP 0.0.0.0) from `senderMac`.
 */
export function buildArpProbe(
  senderMac: Uint8Array,
  target: Uint8Array,
): Uint8Array {
  const f = new Uint8Array(14 + 28);
  const v = new DataView(f.buffer);
  f.fill(0xff, 0, 6);
  f.set(senderMac, 6);
  v.setUint16(12, ETH_P_ARP, false);
  v.setUint16(14, 1, false); // htype Ethernet
  v.setUint16(16, 0x0800, false); // ptype IPv4
  f[18] = 6;
  f[19] = 4;
  v.setUint16(20, 1, false); // request
  f.set(senderMac, 22); // sha; spa 0.0.0.0; tha 0
  f.set(target, 38);
  return f;
}

/** The fields of an ARP-over-Ethernet frame we care about. */
export interface ArpFrame {
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

/** Parses an Ethernet frame holding an IPv4-over-Ethernet ARP packet. */
export function parseArpFrame(f: Uint8Array): ArpFrame | null {
  if (f.length < 42) return null;
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (v.getUint16(12, false) !== ETH_P_ARP) return null;
  if (v.getUint16(14, false) !== 1 || v.getUint16(16, false) !== 0x0800) {
    return null;
  }
  if (f[18] !== 6 || f[19] !== 4) return null;
  const ip = (o: number) => `${f[o]}.${f[o + 1]}.${f[o + 2]}.${f[o + 3]}`;
  return {
    op: v.getUint16(20, false),
    sha: formatMac(f.subarray(22, 28)),
    spa: ip(28),
    tha: formatMac(f.subarray(32, 38)),
    tpa: ip(38),
  };
}

// ---------------------------------------------------------------------------
// The running prober.

/** Options of {@link runProber}. */
export interface ProberOptions {
  vip: string;
  ifname: string;
  intervalMs: number;
  gapMs: number;
  arpIntervalMs: number;
  maxSeconds: number;
  statsMs: number;
  stopOnEof: boolean;
  /** Where lines go (default: stdout, one JSON object per line). */
  emit?: (line: ProbeLine) => void;
}

/** Epoch ms with sub-millisecond precision. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Runs until stopped; resolves when everything is closed. */
export async function runProber(options: ProberOptions): Promise<void> {
  const emit = options.emit ??
    ((l: ProbeLine) => console.log(JSON.stringify(l)));
  const stop = new AbortController();
  const { signal } = stop;
  const vipBytes = parseIP(options.vip).bytes;
  const v6 = vipBytes.length === 16;
  const ifindex = interfaceIndex(options.ifname);
  const myMac = (await Deno.readTextFile(
    `/sys/class/net/${options.ifname}/address`,
  )).trim();

  const onSig = () => stop.abort();
  Deno.addSignalListener("SIGTERM", onSig);
  Deno.addSignalListener("SIGINT", onSig);
  const maxTimer = setTimeout(onSig, options.maxSeconds * 1000);
  if (options.stopOnEof) {
    (async () => {
      try {
        for await (const _ of Deno.stdin.readable) { /* never written */ }
      } catch {
        // closed
      }
      stop.abort();
    })();
  }

  emit({
    type: "start",
    t: round3(now()),
    vip: options.vip,
    ifname: options.ifname,
    mac: myMac,
    intervalMs: options.intervalMs,
    gapMs: options.gapMs,
    arpIntervalMs: options.arpIntervalMs,
  });
  const error = (message: string) =>
    emit({ type: "error", t: round3(now()), message });

  // --- ICMP -----------------------------------------------------------------
  // Outages are counted in requests, not in silence: a gap is a run of
  // requests that got no reply within gapMs, from the first such request's
  // send time to the reply of the next good one. A stall of this process
  // (a late timer: load, GC) sends nothing and so makes no gap; it is
  // reported as a `stall` line instead.
  // IPv6: ICMPv6 echo; the client's neighbour entry (NDP) is watched below
  // like the ARP entry is for IPv4.
  const icmp = v6
    ? openSocket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)
    : openSocket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  const to = v6 ? sockaddrIn6(vipBytes) : sockaddrIn(vipBytes);
  const echo = v6 ? buildEchoRequest6 : buildEchoRequest;
  const id = Deno.pid & 0xffff;
  let k = 0; // request index, never wraps (seq does, at 65536)
  let sent = 0;
  let received = 0;
  let late = 0;
  let duplicates = 0;
  let sendErrors = 0;
  let lastSendError = "";
  const outstanding = new Map<number, { k: number; at: number }>(); // by seq
  const sentAt = new Map<number, number>(); // k -> send time, recent only
  const lateKs = new Set<number>();
  let lastGoodK = 0;
  let lastReplyAt: number | null = null;
  let down = false;
  let lastTick = now();

  const sendTimer = setInterval(() => {
    const at = now();
    if (at - lastTick > options.gapMs) {
      emit({
        type: "stall",
        t: round3(lastTick),
        ms: round3(at - lastTick),
      });
    }
    lastTick = at;
    k++;
    const seq = k & 0xffff;
    outstanding.set(seq, { k, at });
    sentAt.set(k, at);
    // Forget requests too old to matter (and keep the maps small).
    for (const [s, o] of outstanding) {
      if (at - o.at > 10_000) outstanding.delete(s);
      else break;
    }
    for (const [i, t] of sentAt) {
      if (at - t > 60_000 && i < lastGoodK) sentAt.delete(i);
      else break;
    }
    try {
      icmp.sendTo(echo(id, seq), to);
      sent++;
    } catch (err) {
      // No neighbour (FAILED entry) and the like: a lost probe, not an error.
      sendErrors++;
      const msg = String((err as Error).message ?? err);
      if (msg !== lastSendError) {
        lastSendError = msg;
        error(`send: ${msg}`);
      }
    }
    // Down once the first request after the last good one is overdue.
    const first = sentAt.get(lastGoodK + 1);
    if (
      lastReplyAt !== null && !down && first !== undefined &&
      at - first > options.gapMs
    ) {
      down = true;
      emit({
        type: "reach",
        t: round3(first),
        up: false,
        detectedAt: round3(at),
      });
    }
  }, options.intervalMs);

  const vipText = formatIP(vipBytes);
  const onIcmp = (data: Uint8Array, from: Uint8Array) => {
    const r = v6
      ? parseEchoReply6(data, parseSockaddrIn6(from).address)
      : parseEchoReply(data);
    if (!r || r.id !== id || r.from !== vipText) return;
    const at = now();
    const req = outstanding.get(r.seq);
    if (!req) {
      duplicates++;
      return;
    }
    outstanding.delete(r.seq);
    received++;
    if (at - req.at > options.gapMs) {
      // Answered, but too late to count (queued behind ARP resolution).
      late++;
      lateKs.add(req.k);
      return;
    }
    if (lastReplyAt === null) {
      emit({ type: "reach", t: round3(at), up: true, detectedAt: round3(at) });
    } else if (req.k > lastGoodK + 1) {
      const start = sentAt.get(lastGoodK + 1) ?? req.at;
      if (at - start > options.gapMs) {
        let lateInRun = 0;
        for (const x of lateKs) {
          if (x > lastGoodK && x < req.k) lateInRun++;
        }
        const bad = req.k - lastGoodK - 1;
        emit({
          type: "gap",
          t: round3(at),
          start: round3(start),
          end: round3(at),
          ms: round3(at - start),
          lost: bad - lateInRun,
          late: lateInRun,
        });
      }
      if (down) {
        emit({
          type: "reach",
          t: round3(at),
          up: true,
          detectedAt: round3(at),
        });
      }
    }
    lateKs.clear();
    down = false;
    lastGoodK = req.k;
    lastReplyAt = at;
  };

  const receiveLoop = async (
    sock: Socket,
    on: (d: Uint8Array, from: Uint8Array) => void,
  ) => {
    while (!signal.aborted) {
      try {
        const r = await sock.recv({ timeoutMs: 200, signal });
        if (!r) continue;
        on(r.data, r.from);
        for (let i = 0; i < 64; i++) {
          const more = sock.tryRecv();
          if (!more) break;
          on(more.data, more.from);
        }
      } catch (err) {
        if (signal.aborted) break;
        error(`recv on ${sock.label}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const loops: Promise<void>[] = [receiveLoop(icmp, onIcmp)];

  // --- ARP ------------------------------------------------------------------
  let arpTimer: ReturnType<typeof setInterval> | undefined;
  let arp: Socket | undefined;
  // ARP probes are IPv4's; for IPv6 the kernel view counts the holders.
  if (options.arpIntervalMs > 0 && !v6) {
    // protocol in network order: htons(ETH_P_ARP)
    arp = openSocket(
      AF_PACKET,
      SOCK_RAW,
      ((ETH_P_ARP & 0xff) << 8) | (ETH_P_ARP >> 8),
    );
    arp.bind(sockaddrLl({ protocol: ETH_P_ARP, ifindex }));
    const probe = buildArpProbe(parseMac(PROBE_MAC), parseIPv4(options.vip));
    const dest = sockaddrLl({
      protocol: ETH_P_ARP,
      ifindex,
      address: parseMac("ff:ff:ff:ff:ff:ff"),
    });
    let round = new Set<string>();
    let roundAt = now();
    let lastKey = "";
    const arpSock = arp;
    arpTimer = setInterval(() => {
      const key = [...round].sort().join(",");
      if (key !== lastKey) {
        lastKey = key;
        emit({ type: "arp", t: round3(roundAt), macs: [...round].sort() });
      }
      round = new Set();
      roundAt = now();
      try {
        arpSock.sendTo(probe, dest);
      } catch (err) {
        error(`arp send: ${(err as Error).message}`);
      }
    }, options.arpIntervalMs);
    loops.push(receiveLoop(arpSock, (frame, from) => {
      if (from.length > 10 && from[10] === PACKET_OUTGOING) return;
      const a = parseArpFrame(frame);
      if (!a || a.spa !== options.vip) return;
      const at = round3(now());
      if (a.tpa === options.vip) {
        emit({ type: "garp", t: at, mac: a.sha, op: a.op });
      } else if (a.op === 2 && a.tha === PROBE_MAC) {
        round.add(a.sha);
      } else if (a.op === 2 && a.tha === myMac) {
        emit({ type: "arp_reply", t: at, mac: a.sha });
      }
    }));
  }

  // --- Neighbour entry ----------------------------------------------------
  let lastNeigh = "";
  const neigh = (t: number, mac: string | null, state: string) => {
    const key = `${mac}|${state}`;
    if (key === lastNeigh) return;
    lastNeigh = key;
    emit({ type: "neigh", t: round3(t), mac, state });
  };
  const [chrt, ...chrtArgs] = MONITOR_PRIORITY_ARGV;
  const monitor = new Deno.Command(chrt, {
    args: [...chrtArgs, "ip", "-ts", "monitor", "neigh"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  loops.push((async () => {
    let rest = "";
    try {
      for await (
        const chunk of monitor.stdout.pipeThrough(new TextDecoderStream())
      ) {
        rest += chunk;
        let i;
        while ((i = rest.indexOf("\n")) >= 0) {
          const e = parseNeighLine(rest.slice(0, i));
          rest = rest.slice(i + 1);
          if (e && e.address === vipText && e.ifname === options.ifname) {
            neigh(
              e.t,
              e.deleted ? null : e.mac,
              e.deleted ? "DELETED" : e.state,
            );
          }
        }
      }
    } catch {
      // killed at the end
    }
  })());
  // A slow poll catches what the monitor could not report (it starts
  // after the entry may already exist).
  const pollNeigh = async () => {
    try {
      const out = await new Deno.Command("ip", {
        args: ["-j", "neigh", "show", "to", options.vip, "dev", options.ifname],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).output();
      const list = JSON.parse(new TextDecoder().decode(out.stdout) || "[]") as {
        lladdr?: string;
        state?: string[];
      }[];
      const e = list[0];
      if (e) neigh(now(), e.lladdr ?? null, (e.state ?? []).join(","));
    } catch (err) {
      error(`ip neigh: ${(err as Error).message}`);
    }
  };
  await pollNeigh();
  const neighTimer = setInterval(pollNeigh, 500);

  const statsTimer = setInterval(() => {
    emit({
      type: "stats",
      t: round3(now()),
      sent,
      received,
      late,
      sendErrors,
      lastReplyAt: lastReplyAt === null ? null : round3(lastReplyAt),
    });
  }, options.statsMs);

  // --- Wait for the end ---------------------------------------------------
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
  clearInterval(sendTimer);
  clearInterval(arpTimer);
  clearInterval(neighTimer);
  clearInterval(statsTimer);
  clearTimeout(maxTimer);
  try {
    monitor.kill("SIGTERM");
  } catch {
    // already exited
  }
  await Promise.allSettled([monitor.status, ...loops]);
  icmp.close();
  arp?.close();
  const at = now();
  emit({
    type: "end",
    t: round3(at),
    sent,
    received,
    duplicates,
    openGapStart: down ? round3(sentAt.get(lastGoodK + 1) ?? at) : null,
  });
  Deno.removeSignalListener("SIGTERM", onSig);
  Deno.removeSignalListener("SIGINT", onSig);
}

/** Options of {@link spawnProber}. */
export interface SpawnProberOptions {
  /** Default 5. */
  intervalMs?: number;
  /** Default 50; 0 = no ARP probes. */
  arpIntervalMs?: number;
  /** Hard stop, s. Default 600. */
  maxSeconds?: number;
  /** Every parsed line. */
  onLine: (l: ProbeLine) => void;
  /** The address to probe (default the lab's VIP; dual stack: the other). */
  vip?: string;
}

/**
 * Starts this prober inside the lab's client namespace (as its own Deno
 * process, `--cached-only`: the namespace has no route to any registry).
 * It stops by itself after `maxSeconds`, on SIGTERM, or when the lab dies.
 */
export function spawnProber(
  topo: Topology,
  options: SpawnProberOptions,
): LabProcess {
  const repoRoot = new URL("..", import.meta.url).pathname;
  const vip = options.vip ?? topo.vip;
  const name = vip === topo.vip ? "client-prober" : `client-prober-${vip}`;
  return topo.spawn(topo.client.netns, name, [
    Deno.execPath(),
    "run",
    "-A",
    "--cached-only",
    "--no-lock",
    new URL(import.meta.url).pathname,
    "--vip",
    vip,
    "--interface",
    topo.client.ifname,
    "--interval-ms",
    String(options.intervalMs ?? 5),
    "--arp-interval-ms",
    String(options.arpIntervalMs ?? 50),
    "--max-seconds",
    String(options.maxSeconds ?? 600),
    "--stop-on-eof",
  ], {
    cwd: repoRoot,
    stdinPipe: true,
    onLine: (line, stream) => {
      if (stream !== "out") return;
      let l: ProbeLine;
      try {
        l = JSON.parse(line);
      } catch {
        return; // not ours (a Deno warning, say); it is in the log file
      }
      options.onLine(l);
    },
  });
}

const USAGE = `usage: deno run -A lab/prober.ts --vip ADDR [flags]

  --vip ADDR             IPv4 or IPv6 address to probe (required; IPv6: ICMPv6 echo, no ARP probes)
  --interface NAME       client interface (default eth0)
  --interval-ms N        ICMP echo interval (default 5)
  --gap-ms N             a silence longer than this is a gap (default max(30, 6 x interval))
  --arp-interval-ms N    ARP probe interval, 0 = off (default 50)
  --stats-ms N           stats line interval (default 1000)
  --max-seconds N        stop after this long (default 600)
  --stop-on-eof          stop when stdin closes (the lab that started us died)`;

function parseFlags(args: string[]): ProberOptions | string {
  const values = new Map<string, string>();
  let stopOnEof = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--stop-on-eof") {
      stopOnEof = true;
      continue;
    }
    if (a === "--help" || a === "-h") return USAGE;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) return `unexpected argument ${JSON.stringify(a)}\n\n${USAGE}`;
    const v = m[2] ?? args[++i];
    if (v === undefined) return `--${m[1]} needs a value\n\n${USAGE}`;
    values.set(m[1], v);
  }
  const known = [
    "vip",
    "interface",
    "interval-ms",
    "gap-ms",
    "arp-interval-ms",
    "stats-ms",
    "max-seconds",
  ];
  for (const k of values.keys()) {
    if (!known.includes(k)) return `unknown flag --${k}\n\n${USAGE}`;
  }
  const vip = values.get("vip");
  if (!vip) return `--vip is required\n\n${USAGE}`;
  try {
    parseIP(vip);
  } catch (err) {
    return `--vip: ${(err as Error).message}`;
  }
  const num = (k: string, def: number, min: number): number | string => {
    const raw = values.get(k);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) {
      return `--${k}: ${JSON.stringify(raw)} is not a number >= ${min}`;
    }
    return n;
  };
  const intervalMs = num("interval-ms", 5, 1);
  const arpIntervalMs = num("arp-interval-ms", 50, 0);
  const statsMs = num("stats-ms", 1000, 10);
  const maxSeconds = num("max-seconds", 600, 1);
  if (typeof intervalMs === "string") return intervalMs;
  const gapMs = num("gap-ms", Math.max(30, 6 * intervalMs), 1);
  for (const x of [arpIntervalMs, statsMs, maxSeconds, gapMs]) {
    if (typeof x === "string") return x;
  }
  return {
    vip,
    ifname: values.get("interface") ?? "eth0",
    intervalMs,
    gapMs: gapMs as number,
    arpIntervalMs: arpIntervalMs as number,
    statsMs: statsMs as number,
    maxSeconds: maxSeconds as number,
    stopOnEof,
  };
}

if (import.meta.main) {
  const parsed = parseFlags(Deno.args);
  if (typeof parsed === "string") {
    const help = parsed === USAGE;
    (help ? console.log : console.error)(parsed);
    Deno.exit(help ? 0 : 2);
  }
  try {
    await runProber(parsed);
  } catch (err) {
    console.log(JSON.stringify({
      type: "error",
      t: now(),
      message: `fatal: ${(err as Error).message}`,
    }));
    Deno.exit(1);
  }
  Deno.exit(0);
}
