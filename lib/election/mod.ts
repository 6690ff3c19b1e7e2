/**
 * Election: which healthy node holds the VIP. The {@link Elector}
 * contract, the backends by `election.mode` ({@link defaultBackends}), and
 * the VRRPv3 backend ({@link vrrpBackend}). Adding a backend: one folder
 * with a factory, one entry in `_backends.ts` (see ARCHITECTURE.md).
 *
 * @module
 */
export {
  defaultBackends,
  type ElectionBackends,
  type ElectionStatus,
} from "./_backends.ts";
export {
  type ElectionBackend,
  type ElectionHost,
  ElectionStartError,
  type ElectionStatusBase,
  type Elector,
  type ElectorContext,
  type HandoffRequest,
  type LinkState,
  type StartFields,
} from "./_contract.ts";
export {
  vrrpBackend,
  type VrrpBackendOptions,
  type VrrpElectionStatus,
} from "./vrrp/mod.ts";
