/**
 * The `lease` election backend: client-go's leader election over a
 * `coordination.k8s.io/v1` Lease through THIS node's API server, driven by
 * `lib/lease`'s pure machine, with the VIP fenced by its own lifetime and
 * handed over without a gap or a second holder (an ARP probe tells the
 * taker when the old holder's VIP is gone).
 *
 * @module
 */
export { leaseBackend, type LeaseBackendOptions } from "./_backend.ts";
export { LeaseApi, type LeaseApiOptions, rbacRule } from "./_api.ts";
export {
  type LeaseElectionStatus,
  LeaseElector,
  type LeaseElectorOptions,
  type LeaseRequests,
} from "./_elector.ts";
