/**
 * The 64-bit sequence numbers of signed advertisements: how a sender makes
 * them from the realtime clock, and how a receiver compares them (serial
 * number arithmetic, RFC 1982, with SERIAL_BITS = 64).
 *
 * @module
 */

const MOD = 1n << 64n;
const HALF = 1n << 63n;
const MASK = MOD - 1n;

/**
 * The sequence for a realtime clock reading: UTC seconds in the high 32
 * bits, the 1/65536-second fraction in the next 16, a counter (0) in the
 * low 16 — what keepalived sends.
 */
export function sequenceAt(wallMs: number): bigint {
  const ms = Math.max(0, wallMs);
  const whole = Math.floor(ms / 1000);
  const sec = BigInt(whole) & 0xffff_ffffn;
  const fraction = Math.min(
    0xffff,
    Math.floor(((ms - whole * 1000) * 65536) / 1000),
  );
  return (sec << 32n) | (BigInt(fraction) << 16n);
}

/**
 * The next sequence to send: {@link sequenceAt} the clock, or `last + 1`
 * when the clock has not advanced past `last` (two adverts in one tick,
 * or a clock stepped back), so a sender's sequence always grows while it
 * runs.
 */
export function nextSequence(last: bigint | null, wallMs: number): bigint {
  const now = sequenceAt(wallMs);
  if (last === null || serialGreater(now, last)) return now;
  return (last + 1n) & MASK;
}

/**
 * RFC 1982 "s1 > s2" for 64-bit serial numbers. Undefined pairs (exactly
 * 2^63 apart) count as not greater, so they are never accepted as new.
 */
export function serialGreater(s1: bigint, s2: bigint): boolean {
  if (s1 === s2) return false;
  const diff = (s1 - s2 + MOD) & MASK;
  return diff < HALF;
}

/** The UTC seconds part of a sequence, as a real number of seconds. */
export function sequenceSeconds(sequence: bigint): number {
  const sec = Number(sequence >> 32n);
  const subsec = Number((sequence >> 16n) & 0xffffn);
  return sec + subsec / 65536;
}

/**
 * Seconds between a sequence's time and `wallMs`, signed (positive when the
 * sequence is in the past), across the 32-bit seconds wrap (year 2106).
 */
export function sequenceAgeSeconds(sequence: bigint, wallMs: number): number {
  const now = wallMs / 1000;
  const nowWrapped = now - Math.floor(now / 2 ** 32) * 2 ** 32;
  let age = nowWrapped - sequenceSeconds(sequence);
  if (age > 2 ** 31) age -= 2 ** 32;
  if (age < -(2 ** 31)) age += 2 ** 32;
  return age;
}

/** The sequence as 16 hex digits, for log lines. */
export function formatSequence(sequence: bigint): string {
  return sequence.toString(16).padStart(16, "0");
}
