/**
 * The receive path in one call: validate a raw datagram, and only if it
 * passes, step the state machine with it. A dropped packet returns the
 * very same state object, so it cannot move a timer.
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
  validateAdvertisement,
  type ValidateOptions,
  type ValidateResult,
} from "./_validate.ts";

/** Options of {@link receiveDatagram}. */
export interface ReceiveOptions {
  /** The datagram as read from the raw socket (IPv4 header first). */
  datagram: Uint8Array;
  /** Arrival time on the state machine's clock. */
  nowMs: number;
  /** What the packet is checked against. */
  validation: ValidateOptions;
}

/** A {@link StepResult} plus what validation said. */
export interface ReceiveResult extends StepResult {
  /** The validation outcome (count `drop` reasons; log `detail`). */
  packet: ValidateResult;
  /** The drop reason, or null when the packet reached the machine. */
  drop: DropReason | null;
}

/**
 * Validates `datagram`; a valid advertisement becomes an `advertisement`
 * event, anything else is dropped with the state untouched.
 */
export function receiveDatagram(
  state: VrrpState,
  options: ReceiveOptions,
): ReceiveResult {
  const packet = validateAdvertisement(options.datagram, options.validation);
  if (!packet.ok) {
    return {
      state,
      actions: [],
      nextDeadlineMs: nextDeadline(state),
      packet,
      drop: packet.drop,
    };
  }
  const stepped = step(state, {
    type: "advertisement",
    nowMs: options.nowMs,
    src: packet.src,
    priority: packet.advertisement.priority,
    maxAdvertIntervalCs: packet.advertisement.maxAdvertIntervalCs,
  });
  return { ...stepped, packet, drop: null };
}
