/**
 * Realtime scheduling for every thread of the process (issue 12): on a
 * node whose CPUs are saturated (an API server compacting, a build), a
 * normal-priority daemon waits for a time slice at each wake-up and its
 * VRRP adverts go out hundreds of milliseconds late, so that backups take
 * over for nothing. keepalived offers the same (`vrrp_rt_priority`).
 *
 * `sched_setscheduler` changes one thread: every thread listed in
 * `/proc/self/task` is changed, and threads started later (the runtime's
 * blocking pool, where FFI waits run) inherit the policy of the thread
 * that starts them. No `SCHED_RESET_ON_FORK`: that flag also applies to
 * new threads, which would then wake at normal priority. ha-vip starts no
 * subprocess.
 *
 * A realtime thread that never blocks would hold a core (up to the
 * kernel's throttling, 95 %) away from the API server and etcd. Before any
 * thread turns realtime, `RLIMIT_RTTIME` is set as keepalived does
 * (`vrrp_rlimit_rttime`): a thread that runs {@link RTTIME_LIMIT_US} of
 * CPU without blocking gets SIGXCPU, which ends the process (its VIP then
 * expires by its lifetime; the service manager restarts it), and SIGKILL
 * at twice that. The daemon's threads block many times a second; its
 * longest run without blocking is a garbage collection of a few tens of
 * milliseconds.
 *
 * @module
 */

import { Errno, SysError } from "./_errno.ts";
import { lastErrno, libc } from "./_libc.ts";

/** `SCHED_OTHER`: the normal time-sharing policy. */
export const SCHED_OTHER = 0;
/** `SCHED_FIFO`: realtime, first in first out among equal priorities. */
export const SCHED_FIFO = 1;
/** `SCHED_RR`: realtime, round robin among equal priorities. */
export const SCHED_RR = 2;

/** `RLIMIT_RTTIME` (resource 15 on Linux). */
const RLIMIT_RTTIME = 15;

/**
 * The soft `RLIMIT_RTTIME` (microseconds of CPU without a blocking system
 * call) set before threads turn realtime: SIGXCPU beyond it, SIGKILL
 * beyond twice it. 20× the daemon's longest garbage collection.
 */
export const RTTIME_LIMIT_US = 1_000_000;

let realtime = false;

/**
 * The process's `RLIMIT_RTTIME` soft limit in microseconds, from
 * `/proc/self/limits` (read as text: a unit may forbid the rlimit system
 * calls); `undefined` when unlimited or unknown.
 */
export function realtimeTimeLimit(): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/limits");
  } catch {
    return undefined;
  }
  const line = text.split("\n").find((l) =>
    l.startsWith("Max realtime timeout")
  );
  const soft = line?.slice("Max realtime timeout".length).trim().split(
    /\s+/,
  )[0];
  return soft && /^[0-9]+$/.test(soft) ? Number(soft) : undefined;
}

/**
 * Sets `RLIMIT_RTTIME` to {@link RTTIME_LIMIT_US} soft and twice that hard,
 * unless a lower soft limit is already in place (a unit's `LimitRTTIME=`).
 */
function limitRealtimeRuns(): void {
  const current = realtimeTimeLimit();
  if (current !== undefined && current <= RTTIME_LIMIT_US) return;
  const limit = new Uint8Array(16);
  const v = new DataView(limit.buffer);
  v.setBigUint64(0, BigInt(RTTIME_LIMIT_US), true);
  v.setBigUint64(8, BigInt(2 * RTTIME_LIMIT_US), true);
  if (libc().setrlimit(RLIMIT_RTTIME, limit) !== 0) {
    throw new SysError(
      `setrlimit(RLIMIT_RTTIME, ${RTTIME_LIMIT_US} us)`,
      lastErrno(),
      {
        hint:
          "a realtime thread needs a runaway limit; a systemd unit sets it with LimitRTTIME=",
      },
    );
  }
}

/**
 * Whether {@link setRealtimePriority} put the process's threads under a
 * realtime policy. Their timeouts then end on time: Linux gives realtime
 * threads no timer slack (`select_estimate_accuracy`), where a normal
 * thread's poll may end 0.1 % of its length late.
 */
export function realtimeThreads(): boolean {
  return realtime;
}

/** What {@link setRealtimePriority} changed. */
export interface RealtimeResult {
  /** The threads now at the priority. */
  threads: number;
  /**
   * Every thread already ran realtime at the priority or above (a service
   * manager set it before the exec, e.g. systemd's CPUSchedulingPolicy=):
   * nothing was changed.
   */
  inherited: boolean;
  /**
   * The soft `RLIMIT_RTTIME` now in force (microseconds); `undefined` when
   * unlimited: only possible when {@link inherited}, the caller should warn.
   */
  rttimeLimitUs: number | undefined;
}

/** Whether thread `tid` runs realtime at `priority` or above (false if unknown). */
function alreadyRealtime(tid: number, priority: number): boolean {
  const policy = libc().sched_getscheduler(tid);
  if (policy !== SCHED_RR && policy !== SCHED_FIFO) return false;
  const param = new Uint8Array(4);
  if (libc().sched_getparam(tid, param) !== 0) return false;
  return new DataView(param.buffer).getInt32(0, true) >= priority;
}

function threadIds(): number[] {
  const ids: number[] = [];
  for (const e of Deno.readDirSync("/proc/self/task")) {
    const id = Number(e.name);
    if (Number.isInteger(id) && id > 0) ids.push(id);
  }
  return ids;
}

/**
 * Puts every thread of the process under `SCHED_RR` at `priority` (1 to
 * 99; any realtime priority runs before every normal thread). Throws a
 * `SysError` when the kernel refuses (EPERM without CAP_SYS_NICE or a
 * large enough RLIMIT_RTPRIO, e.g. in a container): then the threads
 * changed before the refusal (none in practice: the first one fails) are
 * put back to `SCHED_OTHER`. A thread that ended meanwhile (ESRCH) is
 * skipped. When every thread already runs realtime at `priority` or above
 * nothing is changed (see {@link RealtimeResult.inherited}). Otherwise
 * `RLIMIT_RTTIME` is set first (see the module's notes); if that fails no
 * thread is changed.
 */
export function setRealtimePriority(priority: number): RealtimeResult {
  if (!Number.isInteger(priority) || priority < 1 || priority > 99) {
    throw new RangeError(`realtime priority must be 1-99, got ${priority}`);
  }
  const tids = threadIds();
  if (tids.every((tid) => alreadyRealtime(tid, priority))) {
    // No change asked of the kernel: a unit that set the policy may also
    // forbid setting it (systemd's SystemCallFilter=~@resources).
    realtime = true;
    return {
      threads: tids.length,
      inherited: true,
      rttimeLimitUs: realtimeTimeLimit(),
    };
  }
  limitRealtimeRuns();
  const param = new Uint8Array(4);
  new DataView(param.buffer).setInt32(0, priority, true);
  const done: number[] = [];
  for (const tid of tids) {
    if (libc().sched_setscheduler(tid, SCHED_RR, param) === 0) {
      done.push(tid);
      continue;
    }
    const errno = lastErrno();
    if (errno === Errno.ESRCH) continue;
    const normal = new Uint8Array(4);
    for (const t of done) libc().sched_setscheduler(t, SCHED_OTHER, normal);
    const denied = errno === 0 || errno === Errno.EPERM;
    throw new SysError(
      `sched_setscheduler(SCHED_RR, priority ${priority})`,
      errno || Errno.EPERM,
      denied
        ? {
          hint:
            "needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least the priority (containers: add the capability)",
        }
        : {},
    );
  }
  realtime = true;
  return {
    threads: done.length,
    inherited: false,
    rttimeLimitUs: realtimeTimeLimit(),
  };
}

/** The scheduling policy of thread `tid` (0: the caller), e.g. {@link SCHED_RR}. */
export function schedulingPolicy(tid = 0): number {
  const p = libc().sched_getscheduler(tid);
  if (p < 0) throw new SysError(`sched_getscheduler(${tid})`, lastErrno());
  return p;
}
