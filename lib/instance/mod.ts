/**
 * One daemon per interface and VIP in a network namespace: a lock that dies
 * with its holder (an abstract unix socket name; see `_lock.ts` for why).
 *
 * ```ts
 * import { acquireInstanceLock } from "./lib/instance/mod.ts";
 * using lock = acquireInstanceLock({ interface: "eth0", vip: "10.0.0.100" });
 * // ... run the daemon; the lock goes with the process
 * ```
 *
 * Needs `--allow-ffi`.
 *
 * @module
 */
export {
  acquireInstanceLock,
  AlreadyRunningError,
  type InstanceKey,
  type InstanceLock,
  type LockHolder,
  lockName,
} from "./_lock.ts";
