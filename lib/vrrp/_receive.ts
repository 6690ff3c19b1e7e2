/**
 * The receive path in one call: validate a received packet (and, with
 * authentication, verify its trailer), and only if it passes, step the
 * state machine with it. A dropped packet returns the very same state
 * object and the very same replay state, so it can move neither a timer
 * nor the anti-replay marks.
 *
 * @module
 */

import {
  nextDeadline,
  step,
  type StepResult,
  type VrrpState,
} from "./_state_machine.ts";
import {
  type DropReason,
  type ReceivedPacket,
  validateAdvertisement,
  type ValidateAuth,
  type ValidateOptions,
  validatePacket,
  type ValidateResult,
} from "./_validate.ts";
import type { ReplayState } from "../vrrp_auth/mod.ts";

/** Options of {@link receiveDatagram}. */
export interface ReceiveOptions {
  /**
   * The datagram as read from a raw IPv4 socket (IPv4 header first), or
   * the packet a raw IPv6 socket produced with its `recvmsg` metadata.
   */
  datagram: Uint8Array | ReceivedPacket;
  /** Arrival time on the state machine's clock. */
  nowMs: number;
  /** What the packet is checked against. */
  validation: ValidateOptions;
  /** With authentication: the settings, replay state and realtime clock. */
  auth?: ValidateAuth;
}

/** A {@link StepResult} plus what validation said. */
export interface ReceiveResult extends StepResult {
  /** The validation outcome (count `drop` reasons; log `detail`). */
  packet: ValidateResult;
  /** The drop reason, or null when the packet reached the machine. */
  drop: DropReason | null;
  /**
   * The replay state to keep (with authentication): moved only by an
   * accepted signed advert, the same object otherwise.
   */
  replay?: ReplayState;
}

/**
 * Validates the packet; a valid advertisement becomes an `advertisement`
 * event, anything else is dropped with the state untouched.
 */
export function receiveDatagram(
  state: VrrpState,
  options: ReceiveOptions,
): ReceiveResult {
  const d = options.datagram;
  const packet = d instanceof Uint8Array
    ? validateAdvertisement(d, options.validation, options.auth)
    : validatePacket(d, options.validation, options.auth);
  const before = options.auth?.replay;
  if (!packet.ok) {
    const dropped: ReceiveResult = {
      state,
      actions: [],
      nextDeadlineMs: nextDeadline(state),
      packet,
      drop: packet.drop,
    };
    if (before !== undefined) dropped.replay = before;
    return dropped;
  }
  const stepped = step(state, {
    type: "advertisement",
    nowMs: options.nowMs,
    src: packet.src,
    priority: packet.advertisement.priority,
    maxAdvertIntervalCs: packet.advertisement.maxAdvertIntervalCs,
  });
  const out: ReceiveResult = { ...stepped, packet, drop: null };
  const replay = packet.replay ?? before;
  if (replay !== undefined) out.replay = replay;
  return out;
}
