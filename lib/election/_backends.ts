/**
 * The election backends, by `election.mode`. A new backend is one folder
 * (`lib/election/<mode>/`, exporting a factory) and one entry here (its
 * factory below, its status in {@link ElectionStatus}).
 *
 * @module
 */
import type { ElectionBackend } from "./_contract.ts";
import { leaseBackend, type LeaseElectionStatus } from "./lease/mod.ts";
import { vrrpBackend, type VrrpElectionStatus } from "./vrrp/mod.ts";

/** Every backend's `/status` part, told apart by `backend`. */
export type ElectionStatus = VrrpElectionStatus | LeaseElectionStatus;

/** Backends by mode; a mode without an entry is not available. */
export type ElectionBackends = Readonly<
  Partial<Record<string, ElectionBackend<ElectionStatus>>>
>;

/** The backends this build has, with their real sockets. */
export function defaultBackends(): ElectionBackends {
  return { vrrp: vrrpBackend(), lease: leaseBackend() };
}
