/**
 * VRRP version 3 (RFC 5798) for IPv4 and IPv6, wire-compatible with
 * keepalived (and, with `lib/vrrp_auth`, with its signed adverts):
 *
 * - {@link encodeAdvertisement} / {@link decodeAdvertisement} /
 *   {@link splitAdvertisement} / {@link verifyChecksum} /
 *   {@link parseIpv4Packet}: the byte layouts;
 * - {@link validateAdvertisement} (a raw IPv4 datagram) /
 *   {@link validatePacket} (either family): the §7.1 receive checks and
 *   authentication, returning a counter-friendly {@link DropReason}
 *   instead of throwing;
 * - {@link step}: the state machine, pure, driven by time and events,
 *   returning {@link VrrpAction}s for the daemon to perform;
 * - {@link receiveDatagram}: validate-then-step, the receive path;
 * - {@link openVrrpSocket}: the raw socket (protocol 112), IPv4 or IPv6,
 *   multicast to 224.0.0.18 / ff02::12 or unicast to peers, signing
 *   adverts when authentication is on.
 *
 * ```ts
 * import { createVrrpState, step } from "./lib/vrrp/mod.ts";
 * let state = createVrrpState({
 *   priority: 100, advertIntervalCs: 100, preempt: true, primaryIp: "10.0.0.10",
 * });
 * const r = step(state, { type: "startup", nowMs: performance.now() });
 * state = r.state; // perform r.actions, tick again at r.nextDeadlineMs
 * ```
 *
 * @module
 */

export {
  addressSize,
  type Advertisement,
  decodeAdvertisement,
  type DecodedAdvertisement,
  type DecodeErrorReason,
  encodeAdvertisement,
  familyOf,
  type Ipv4Packet,
  MAX_ADVERT_INTERVAL_CS,
  parseIpv4Packet,
  type PseudoHeaderAddresses,
  type SplitAdvertisement,
  splitAdvertisement,
  verifyChecksum,
  VRRP_HEADER_SIZE,
  VRRP_MULTICAST_GROUP,
  VRRP_MULTICAST_GROUP_V6,
  VRRP_TTL,
  VRRP_TYPE_ADVERTISEMENT,
  VRRP_VERSION,
  vrrpChecksum,
  VrrpDecodeError,
  type VrrpFamily,
  vrrpMulticastGroup,
} from "./_codec.ts";
export {
  type AcceptedPacket,
  DROP_REASONS,
  type DroppedPacket,
  type DropReason,
  isSilentDrop,
  type ReceivedPacket,
  validateAdvertisement,
  type ValidateAuth,
  type ValidateOptions,
  validatePacket,
  type ValidateResult,
} from "./_validate.ts";
export {
  compareAddresses,
  createVrrpState,
  effectivePriority,
  type EligibilityBlock,
  FALLBACK_PRIORITY,
  HANDOFF_CAUSE,
  holdsVip,
  leaveTimeoutMs,
  masterDownIntervalMs,
  nextDeadline,
  type NoneEligiblePolicy,
  type Phase,
  skewTimeMs,
  step,
  type StepResult,
  type VrrpAction,
  type VrrpConfig,
  type VrrpEvent,
  type VrrpState,
} from "./_state_machine.ts";
export {
  type AdvertSigner,
  openVrrpSocket,
  type SendFailure,
  type VrrpDatagram,
  type VrrpSocket,
  type VrrpSocketOptions,
} from "./_socket.ts";
export {
  receiveDatagram,
  type ReceiveOptions,
  type ReceiveResult,
} from "./_receive.ts";
