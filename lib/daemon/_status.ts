/**
 * The `/status` document: one type, served by the daemon and read by
 * `ha-vip status`.
 *
 * @module
 */
import type { HandoffState } from "../control/mod.ts";
import type { ElectionStatus } from "../election/mod.ts";
import type { StableStatus, VerdictKind } from "../health/mod.ts";

/** The health part of `/status`. */
export type HealthStatus =
  | {
    /** The stable status (after the stability window). */
    status: StableStatus;
    /** The verdict behind it. */
    verdict?: VerdictKind;
    /** Its detail ("etcd failing", ...). */
    detail?: string;
    /** The latest probe's verdict, stable or not. */
    last_probe?: VerdictKind;
  }
  | {
    /** Health gating is off. */
    status: "not checked (k8s.enabled: false)";
  };

/** What `GET /status` answers. */
export interface StatusDocument {
  /** `election.node_name`. */
  node: string;
  /** The VIP with its prefix length (dual stack: both, comma-separated). */
  vip: string;
  /** The VIP interface. */
  interface: string;
  /** Seconds since the daemon started. */
  uptime_s: number;
  /** Whether this daemon holds the VIP (added it and keeps it alive). */
  holding: boolean;
  /**
   * Whether the kernel has the VIP on the interface, as the last address
   * notification said (whoever put it there); null before any was seen.
   */
  vip_on_interface: boolean | null;
  /** The election backend's part. */
  election: ElectionStatus;
  /** The health part. */
  health: HealthStatus;
  /** A planned handoff in force (`ha-vip handoff`), or null. */
  handoff: HandoffState | null;
}
