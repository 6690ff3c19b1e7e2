/**
 * One daemon per interface and VIP: an abstract unix socket name as the lock.
 *
 * Why an abstract AF_UNIX name rather than `flock` on a file under
 * `/run/ha-vip/`:
 * - it belongs to the *network namespace*, which is exactly what two
 *   daemons fight over (the interface and its addresses): daemons in other
 *   namespaces (every lab test, pods with their own network) never see it,
 *   while a host daemon and a `hostNetwork` pod, which share the host's
 *   network but not its `/run`, do;
 * - the kernel releases it when the process dies, SIGKILL included;
 * - it needs no writable directory (the hardened systemd unit has none);
 * - the holder's PID comes from the kernel (`SO_PEERCRED` on a connection
 *   to it), not from a file that may be stale.
 *
 * Its weakness, documented in the README: any process in that network
 * namespace may bind the name first, and then `run` refuses to start,
 * naming that process. A squatter can only block a start, never take over
 * an interface.
 *
 * @module
 */
import {
  abstractNameHolder,
  holdAbstractName,
  type PeerCredentials,
} from "../sys/mod.ts";

/** What the lock is about: one interface and one VIP. */
export interface InstanceKey {
  /** The interface name, e.g. `eth0`. */
  interface: string;
  /** The VIP address without prefix length, e.g. `10.0.0.100`. */
  vip: string;
}

/** Who holds a lock (from the kernel's `SO_PEERCRED`). */
export type LockHolder = PeerCredentials;

/** Thrown by {@link acquireInstanceLock} when another process holds the lock. */
export class AlreadyRunningError extends Error {
  /** The holder, when the kernel told us (null: it did not). */
  readonly holder: LockHolder | null;
  /** The abstract socket name, `@ha-vip/...`, as `ss -xl` shows it. */
  readonly lockName: string;

  /** `holder` as the kernel named it, null when it did not. */
  constructor(key: InstanceKey, lockName: string, holder: LockHolder | null) {
    const who = holder === null
      ? "a process that could not be identified"
      : `pid ${holder.pid}, uid ${holder.uid}`;
    super(
      `ha-vip is already running for ${key.vip} on ${key.interface} in this network namespace (${who}; ` +
        `it holds the lock ${lockName}). Stop it first; one daemon per interface and VIP.`,
    );
    this.name = "AlreadyRunningError";
    this.holder = holder;
    this.lockName = lockName;
  }
}

/** A held lock; closing it (or the process ending) releases it. */
export interface InstanceLock extends Disposable {
  /** `@ha-vip/<interface>/<vip>`, as `ss -xl` shows it. */
  readonly name: string;
  /** Releases the lock (idempotent). */
  release(): void;
}

/** The abstract name (without its leading NUL) for `key`. */
export function lockName(key: InstanceKey): string {
  return `ha-vip/${key.interface}/${key.vip}`;
}

/**
 * Takes the lock for `key` in the calling process's network namespace, or
 * throws {@link AlreadyRunningError} naming the holder. Touches nothing
 * else: call it before anything looks at the interface.
 */
export function acquireInstanceLock(key: InstanceKey): InstanceLock {
  const name = lockName(key);
  const held = holdAbstractName(name);
  if (held === null) {
    throw new AlreadyRunningError(key, `@${name}`, abstractNameHolder(name));
  }
  return {
    name: `@${name}`,
    release: () => held.close(),
    [Symbol.dispose]: () => held.close(),
  };
}
