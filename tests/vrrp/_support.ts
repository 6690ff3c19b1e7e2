/**
 * Test helpers for VRRP: a seeded PRNG, an IPv4 datagram builder that
 * shares no code with lib/vrrp, and a fake-clock driver for the state
 * machine.
 */

import {
  createVrrpState,
  nextDeadline,
  step,
  type VrrpAction,
  type VrrpConfig,
  type VrrpEvent,
  type VrrpState,
} from "../../lib/vrrp/mod.ts";

/** mulberry32: a small seeded PRNG, so fuzz failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random integer in [0, n). */
export function randInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** "a.b.c.d" -> bytes, written independently of lib/sys. */
export function ip(text: string): number[] {
  return text.split(".").map(Number);
}

/** Hex string (spaces allowed) -> bytes. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/**
 * Independent Internet checksum (RFC 1071) by the textbook definition:
 * sum 16-bit words in a plain number, fold once at the end.
 */
export function internetChecksum(parts: number[][]): number {
  const bytes = parts.flat();
  if (bytes.length % 2) bytes.push(0);
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    sum += bytes[i] * 256 + bytes[i + 1];
  }
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return 0xffff - sum;
}

/** Options of {@link vrrpMessage}. */
export interface MessageFields {
  version?: number;
  type?: number;
  vrid: number;
  priority: number;
  intervalCs: number;
  addresses: string[];
  /** Pseudo-header for the checksum; `checksum` overrides it. */
  src: string;
  dst: string;
  checksum?: number;
}

/** A VRRP message built field by field (independent of the codec). */
export function vrrpMessage(f: MessageFields): number[] {
  const body = [
    ((f.version ?? 3) << 4) | (f.type ?? 1),
    f.vrid,
    f.priority,
    f.addresses.length,
    (f.intervalCs >> 8) & 0x0f,
    f.intervalCs & 0xff,
    0,
    0,
    ...f.addresses.flatMap(ip),
  ];
  const len = body.length;
  const sum = f.checksum ??
    internetChecksum([
      [...ip(f.src), ...ip(f.dst), 0, 112, len >> 8, len & 0xff],
      body,
    ]);
  body[6] = sum >> 8;
  body[7] = sum & 0xff;
  return body;
}

/** Options of {@link ipv4Datagram}. */
export interface DatagramFields {
  src: string;
  dst: string;
  ttl?: number;
  protocol?: number;
  /** Extra option bytes (a multiple of 4) to make IHL > 5. */
  options?: number[];
  payload: number[];
}

/** An IPv4 datagram as a raw socket returns it. */
export function ipv4Datagram(f: DatagramFields): Uint8Array {
  const opts = f.options ?? [];
  const ihl = 5 + opts.length / 4;
  const total = ihl * 4 + f.payload.length;
  const header = [
    0x40 | ihl,
    0xc0,
    total >> 8,
    total & 0xff,
    0,
    1,
    0,
    0,
    f.ttl ?? 255,
    f.protocol ?? 112,
    0,
    0,
    ...ip(f.src),
    ...ip(f.dst),
    ...opts,
  ];
  const sum = internetChecksum([header]);
  header[10] = sum >> 8;
  header[11] = sum & 0xff;
  return Uint8Array.from([...header, ...f.payload]);
}

/** A ready datagram of VRID 51 from 10.0.0.11 advertising 10.0.0.100. */
export function advertDatagram(
  over: Partial<MessageFields> & { ttl?: number } = {},
): Uint8Array {
  const f: MessageFields = {
    vrid: 51,
    priority: 100,
    intervalCs: 100,
    addresses: ["10.0.0.100"],
    src: "10.0.0.11",
    dst: "224.0.0.18",
    ...over,
  };
  return ipv4Datagram({
    src: f.src,
    dst: f.dst,
    ttl: over.ttl,
    payload: vrrpMessage(f),
  });
}

/** Default test configuration: priority 100, 1 s, preempt, 10.0.0.10. */
export const BASE: VrrpConfig = {
  priority: 100,
  advertIntervalCs: 100,
  preempt: true,
  primaryIp: "10.0.0.10",
};

type EventBody = VrrpEvent extends infer E
  ? E extends { nowMs: number } ? Omit<E, "nowMs"> : never
  : never;

/** One performed step: when, and what the machine asked for. */
export interface StepRecord {
  at: number;
  actions: VrrpAction[];
}

/**
 * A fake clock around the pure machine: `at(t, event)` delivers an event
 * at time t after firing every timer due before it, the way the daemon's
 * timer would.
 */
export class Driver {
  state: VrrpState;
  now = 0;
  readonly records: StepRecord[] = [];

  constructor(
    config: Partial<VrrpConfig> = {},
    options: { eligible?: boolean; interfaceUp?: boolean } = {},
  ) {
    this.state = createVrrpState({ ...BASE, ...config }, {
      eligible: true,
      ...options,
    });
  }

  /** Fires due timers up to and including `t`, then sets the clock to t. */
  advance(t: number): VrrpAction[] {
    const out: VrrpAction[] = [];
    for (;;) {
      const d = nextDeadline(this.state);
      if (d === null || d > t) break;
      this.now = Math.max(this.now, d);
      out.push(...this.#apply({ type: "tick", nowMs: this.now }));
    }
    this.now = Math.max(this.now, t);
    return out;
  }

  /** Advances to `t`, then delivers `event` at t; returns its actions. */
  at(t: number, event: EventBody): VrrpAction[] {
    this.advance(t);
    return this.#apply({ ...event, nowMs: t } as VrrpEvent);
  }

  /** Every action of type `type` with its time, over the whole run. */
  find(type: VrrpAction["type"]): { at: number; action: VrrpAction }[] {
    return this.records.flatMap((r) =>
      r.actions.filter((a) => a.type === type).map((action) => ({
        at: r.at,
        action,
      }))
    );
  }

  #apply(event: VrrpEvent): VrrpAction[] {
    const r = step(this.state, event);
    this.state = r.state;
    if (r.actions.length > 0) {
      this.records.push({ at: event.nowMs, actions: r.actions });
    }
    return r.actions;
  }
}

/** Recursively freezes an object, to prove a function never mutates it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** IPv6 text -> 16 bytes, written independently of lib/sys. */
export function ip6(text: string): number[] {
  const [head, tail] = text.includes("::") ? text.split("::") : [text, null];
  const words = (s: string) =>
    s === "" ? [] : s.split(":").map((w) => parseInt(w, 16));
  const h = words(head);
  const t = tail === null ? [] : words(tail);
  const all = tail === null
    ? h
    : [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

/** Options of {@link vrrpMessage6}. */
export interface Message6Fields {
  vrid: number;
  priority: number;
  intervalCs: number;
  addresses: string[];
  src: string;
  dst: string;
  checksum?: number;
}

/**
 * An IPv6 VRRP message built field by field, with the RFC 2460 §8.1
 * pseudo-header checksum (independent of the codec).
 */
export function vrrpMessage6(f: Message6Fields): number[] {
  const body = [
    0x31,
    f.vrid,
    f.priority,
    f.addresses.length,
    (f.intervalCs >> 8) & 0x0f,
    f.intervalCs & 0xff,
    0,
    0,
    ...f.addresses.flatMap(ip6),
  ];
  const len = body.length;
  const sum = f.checksum ??
    internetChecksum([
      [...ip6(f.src), ...ip6(f.dst), 0, 0, len >> 8, len & 0xff, 0, 0, 0, 112],
      body,
    ]);
  body[6] = sum >> 8;
  body[7] = sum & 0xff;
  return body;
}
