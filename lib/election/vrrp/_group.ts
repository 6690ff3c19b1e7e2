/**
 * Dual stack: the IPv4 and the IPv6 virtual router of one node, as one
 * elector. Each family is its own VRRP router (RFC 5798: an advertisement
 * carries one family) with its own socket, state machine and VIP; the group
 * feeds both the same inputs — the health verdict, link changes, shutdown,
 * a configuration re-read and a planned handoff — so every planned move
 * takes both VIPs at once, and with each node's own priority both routers
 * elect the same node. A host condition about one VIP (its subnet, its
 * source address) blocks only that VIP's router.
 *
 * @module
 */
import type { Config } from "../../config/mod.ts";
import type {
  Elector,
  HandoffRequest,
  LinkState,
  StartFields,
} from "../_contract.ts";
import type { VrrpElectionStatus, VrrpElector } from "./_elector.ts";

/** Both families' routers of this node; see the module doc. */
export class VrrpGroup implements Elector<VrrpElectionStatus> {
  readonly #routers: readonly VrrpElector[];

  /** Runs `routers` (one per family) as one elector. */
  constructor(routers: readonly VrrpElector[]) {
    this.#routers = routers;
  }

  /** Until every router has handed over after `shutdown`. */
  async run(): Promise<void> {
    await Promise.all(this.#routers.map((r) => r.run()));
  }

  setEligible(eligible: boolean, reason?: string): void {
    for (const r of this.#routers) r.setEligible(eligible, reason);
  }

  /**
   * A host condition about one VIP (`vip`) blocks only that family's
   * router: the other VIP is still fine to hold. Without `vip`, both.
   */
  setHoldBlock(cause: string, reason: string | null, vip?: string): void {
    for (const r of this.#routers) {
      if (vip === undefined || r.vip === undefined || r.vip === vip) {
        r.setHoldBlock(cause, reason);
      }
    }
  }

  reconfigure(config: Config): void {
    for (const r of this.#routers) r.reconfigure(config);
  }

  linkChanged(state: LinkState): void {
    for (const r of this.#routers) r.linkChanged(state);
  }

  shutdown(force?: boolean): void {
    for (const r of this.#routers) r.shutdown(force);
  }

  handoff(request: HandoffRequest | null): void {
    for (const r of this.#routers) r.handoff(request);
  }

  status(): VrrpElectionStatus {
    const routers = this.#routers.map((r) => r.status());
    const first = routers[0];
    const same = routers.every((r) => r.state === first.state);
    const state = same
      ? first.state
      : routers.map((r) => `IPv${r.family} ${r.state}`).join(", ");
    const notEligible = routers.find((r) => !r.eligible);
    return {
      backend: "vrrp",
      state,
      master: first.master,
      holding: routers.some((r) => r.holding),
      eligible: notEligible === undefined,
      ineligible_reason: notEligible?.ineligible_reason,
      stepped_out: routers.some((r) => r.stepped_out),
      interface_up: routers.every((r) => r.interface_up),
      priority: first.priority,
      master_adver_interval_ms: first.master_adver_interval_ms,
      auth: first.auth,
      routers,
      summary: `vrrp dual stack, priority ${first.priority}: ${
        routers.map((r) =>
          `IPv${r.family} ${r.state} (master ${r.master ?? "unknown"})`
        ).join(", ")
      }`,
    };
  }

  startFields(): StartFields {
    const fields = this.#routers.map((r) => r.startFields());
    return {
      ...fields[0],
      source: fields.map((f) => f.source).join(", "),
      transport: fields.map((f) => f.transport).join(", "),
    };
  }

  /** Closes every router's socket. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const r of this.#routers) await r[Symbol.asyncDispose]();
  }
}
