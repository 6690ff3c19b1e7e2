/**
 * The `vrrp` election backend: VRRPv3 (RFC 5798) between the nodes,
 * wire-compatible with keepalived (with keepalived 2.4's `auth_hmac` when
 * keys are configured), through `lib/vrrp`'s state machine and raw socket:
 * one virtual router per VIP family (dual stack: {@link VrrpGroup}). It
 * owns its sockets and reopens them when the interface is recreated.
 *
 * @module
 */
export { vrrpBackend, type VrrpBackendOptions } from "./_backend.ts";
export {
  type VrrpElectionStatus,
  VrrpElector,
  type VrrpElectorOptions,
} from "./_elector.ts";
export { VrrpGroup } from "./_group.ts";
