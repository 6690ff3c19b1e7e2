/**
 * The election contract: a backend decides when this node holds the VIP
 * and tells the daemon through {@link ElectionHost}; the daemon feeds it
 * health, link state and shutdown.
 */
import type { Logger, Metrics } from "../observe/mod.ts";

/** What an elector asks the daemon to do. */
export interface ElectionHost {
  /** Put the VIP on the interface (with its lifetime). Throws on failure. */
  addVip(): Promise<void>;
  /** Send the gratuitous ARP / NA burst now. */
  announce(): void;
  /** Remove the VIP. */
  removeVip(): Promise<void>;
  log: Logger;
  metrics: Metrics;
}

/** A running election backend. */
export interface Elector {
  /** Runs until the backend has handed over after `shutdown` (or failed). */
  run(): Promise<void>;
  /** The stable health verdict: only an eligible node may hold the VIP. */
  setEligible(eligible: boolean, reason?: string): void;
  /** Carrier / admin state of the VIP interface. */
  setInterfaceUp(up: boolean): void;
  /** Leave; `force` (a second signal) releases at once. */
  shutdown(force?: boolean): void;
  /** For /status. */
  status(): Record<string, unknown>;
}
