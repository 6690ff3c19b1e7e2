/**
 * Election: which healthy node holds the VIP. The {@link Elector} contract
 * and the VRRPv3 backend.
 *
 * @module
 */
export type { ElectionHost, Elector } from "./elector.ts";
export { VrrpElector, type VrrpElectorOptions } from "./vrrp.ts";
