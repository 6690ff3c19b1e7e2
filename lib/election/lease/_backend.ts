/**
 * The Lease backend's factory: maps `election.lease` onto the machine,
 * the Lease requests onto this node's API server (the daemon's
 * `localApi`: the health target with the configured credentials), and the
 * handover's ARP probe onto the VIP's interface.
 *
 * @module
 */
import { parseCidr } from "../../ip/mod.ts";
import {
  type ElectionBackend,
  ElectionStartError,
  type ElectorContext,
} from "../_contract.ts";
import { LeaseApi } from "./_api.ts";
import {
  type LeaseElectionStatus,
  LeaseElector,
  type LeaseRequests,
} from "./_elector.ts";

/** What the Lease backend uses; tests give it fakes. */
export interface LeaseBackendOptions {
  /** The Lease requests (default: {@link LeaseApi} over `localApi`). */
  requests?: (ctx: ElectorContext, timeoutMs: number) => LeaseRequests;
}

/** Request time limit: the retry period, at least 1 s, at most renew_deadline. */
function requestTimeoutMs(retryMs: number, renewMs: number): number {
  return Math.min(Math.max(1000, retryMs), renewMs);
}

/** The `lease` election backend (a coordination.k8s.io/v1 Lease). */
export function leaseBackend(
  options: LeaseBackendOptions = {},
): ElectionBackend<LeaseElectionStatus> {
  return {
    mode: "lease",
    create(ctx: ElectorContext): Promise<LeaseElector> {
      const { config, link } = ctx;
      const lease = config.election.lease;
      const timeoutMs = requestTimeoutMs(
        lease.retry_period,
        lease.renew_deadline,
      );
      let requests: LeaseRequests;
      if (options.requests) {
        requests = options.requests(ctx, timeoutMs);
      } else if (ctx.localApi) {
        requests = new LeaseApi({
          transport: ctx.localApi,
          namespace: lease.namespace,
          name: lease.name,
          timeoutMs,
        });
      } else {
        throw new ElectionStartError(
          "election.mode: lease needs the API server; set k8s.enabled: true",
        );
      }
      try {
        return Promise.resolve(
          new LeaseElector({
            machine: {
              identity: config.election.node_name,
              durationMs: lease.duration,
              renewDeadlineMs: lease.renew_deadline,
              retryPeriodMs: lease.retry_period,
              vipLifetimeCapS: config.announce.vip_lifetime / 1000,
              seed: crypto.getRandomValues(new Uint32Array(1))[0],
            },
            api: requests,
            openProbe: ctx.openVipProbe,
            // One IPv4 VIP (config checks it for lease mode).
            vip: parseCidr(config.vip[0]).address,
            link: { index: link.index, mac: link.mac },
            host: ctx.host,
            clock: ctx.clock,
          }),
        );
      } catch (err) {
        // A timing client-go or fencing refuses (check catches it first).
        throw new ElectionStartError(
          `election.lease: ${err instanceof Error ? err.message : err}`,
          { cause: err },
        );
      }
    },
  };
}
