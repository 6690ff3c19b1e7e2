/**
 * Election: which healthy node holds the VIP. The {@link Elector}
 * contract, the backends by `election.mode` ({@link defaultBackends}), the
 * VRRPv3 backend ({@link vrrpBackend}) and the Lease backend
 * ({@link leaseBackend}). Adding a backend: one folder
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
  type LocalApi,
  type LocalApiOptions,
  type StartFields,
} from "./_contract.ts";
export {
  LeaseApi,
  leaseBackend,
  type LeaseBackendOptions,
  type LeaseElectionStatus,
  type LeaseRequests,
} from "./lease/mod.ts";
export {
  vrrpBackend,
  type VrrpBackendOptions,
  type VrrpElectionStatus,
} from "./vrrp/mod.ts";
