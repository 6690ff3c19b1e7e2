/**
 * Anti-replay state, per sender, as a pure value: check a sequence against
 * it, record a sequence in it (only after the HMAC verified), nothing else.
 *
 * A sender is a source address. Senders are kept in a small LRU (most
 * recent first): 4 slots for a multicast group as keepalived keeps, one per
 * configured peer for unicast. A sender's sequence must grow strictly
 * (RFC 1982 serial arithmetic). In `time` mode a high-water mark older
 * than the time window expires: the stale check already refuses anything
 * that old, and a sender whose clock was stepped back recovers after one
 * window instead of never. In `monotonic` mode marks never expire.
 *
 * @module
 */

import { sequenceAgeSeconds, serialGreater } from "./_sequence.ts";

/** How received sequences are judged (keepalived's `anti_replay`). */
export type AntiReplayMode = "time" | "monotonic";

/** Slots keepalived keeps per multicast group. */
export const MULTICAST_REPLAY_SLOTS = 4;

/** What the replay state is judged with. */
export interface ReplayPolicy {
  /** `time` (default) or `monotonic`. */
  mode: AntiReplayMode;
  /** The time window in ms (`time` mode). */
  windowMs: number;
  /** How many senders are remembered (least recently used goes first). */
  slots: number;
}

/** One remembered sender. */
export interface ReplaySlot {
  /** The sender's source address (canonical text). */
  readonly sender: string;
  /** The highest sequence accepted from it. */
  readonly highWater: bigint;
}

/** The per-sender state; treat as immutable. Most recently used first. */
export interface ReplayState {
  /** The remembered senders, most recently used first. */
  readonly slots: readonly ReplaySlot[];
}

/** Remembers nobody. */
export const EMPTY_REPLAY_STATE: ReplayState = Object.freeze({
  slots: Object.freeze([]) as readonly ReplaySlot[],
});

function expired(
  slot: ReplaySlot,
  wallMs: number,
  policy: ReplayPolicy,
): boolean {
  return policy.mode === "time" &&
    sequenceAgeSeconds(slot.highWater, wallMs) * 1000 > policy.windowMs;
}

/**
 * The high-water mark in force for `sender` at `wallMs`, or null when
 * nothing (or only an expired mark) is remembered. Does not change state.
 */
export function highWaterMark(
  state: ReplayState,
  sender: string,
  wallMs: number,
  policy: ReplayPolicy,
): bigint | null {
  const slot = state.slots.find((s) => s.sender === sender);
  if (slot === undefined || expired(slot, wallMs, policy)) return null;
  return slot.highWater;
}

/**
 * True when `sequence` from `sender` is not newer than what `sender`
 * already proved: a replay (or a duplicate). Does not change state.
 */
export function isReplay(
  state: ReplayState,
  sender: string,
  sequence: bigint,
  wallMs: number,
  policy: ReplayPolicy,
): boolean {
  const mark = highWaterMark(state, sender, wallMs, policy);
  return mark !== null && !serialGreater(sequence, mark);
}

/**
 * The state after accepting `sequence` from `sender` (call only once its
 * HMAC verified and {@link isReplay} said no): the sender moves to the
 * front with the new mark, expired marks are forgotten, and the least
 * recently used sender goes when the slots are full.
 */
export function recordSequence(
  state: ReplayState,
  sender: string,
  sequence: bigint,
  wallMs: number,
  policy: ReplayPolicy,
): ReplayState {
  const rest = state.slots.filter((s) =>
    s.sender !== sender && !expired(s, wallMs, policy)
  );
  const slots = [{ sender, highWater: sequence }, ...rest].slice(
    0,
    Math.max(1, policy.slots),
  );
  return { slots };
}
