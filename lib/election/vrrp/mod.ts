/**
 * The `vrrp` election backend: VRRPv3 (RFC 5798) between the nodes,
 * wire-compatible with keepalived, through `lib/vrrp`'s state machine and
 * raw socket. It owns its socket and reopens it when the interface is
 * recreated.
 *
 * @module
 */
export { vrrpBackend, type VrrpBackendOptions } from "./_backend.ts";
export {
  type VrrpElectionStatus,
  VrrpElector,
  type VrrpElectorOptions,
} from "./_elector.ts";
