/**
 * Process-wide kernel state through libc: signal dispositions, the real-time
 * interval timer, `prctl` flags. Linux x86_64 and aarch64 (glibc layouts).
 *
 * @module
 */

import { Errno, SysError } from "./_errno.ts";
import { lastErrno, libc } from "./_libc.ts";

/** Signal numbers (the same on x86_64 and aarch64). */
export const Signal = { SIGUSR1: 10, SIGUSR2: 12, SIGALRM: 14 } as const;

/** `sa_handler` values with a meaning of their own. */
export const SIG_DFL = 0n;
/** Ignore the signal. */
export const SIG_IGN = 1n;

/** `sa_flags`: restart interrupted system calls. */
export const SA_RESTART = 0x10000000;
/** `sa_flags`: run the handler on the alternate signal stack if the thread has one. */
export const SA_ONSTACK = 0x08000000;

// glibc's struct sigaction: handler (8), sa_mask (128), sa_flags (4),
// padding (4), sa_restorer (8). libc's sigaction() fills the restorer.
const SIGACTION_SIZE = 152;
const SA_FLAGS_OFFSET = 136;

const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_GET_NO_NEW_PRIVS = 39;
const ITIMER_REAL = 0;

/** The current disposition of a signal. */
export interface SignalAction {
  /** Handler address, or {@link SIG_DFL} / {@link SIG_IGN}. */
  handler: bigint;
  /** `sa_flags` (SA_RESTART, SA_ONSTACK, ...). */
  flags: number;
}

/** Reads the disposition of `signo` (`sigaction(signo, NULL, &old)`). */
export function signalAction(signo: number): SignalAction {
  const old = new Uint8Array(SIGACTION_SIZE);
  if (libc().sigaction(signo, null, old) !== 0) {
    throw new SysError(`sigaction(${signo}) read`, lastErrno() || Errno.EINVAL);
  }
  const view = new DataView(old.buffer);
  return {
    handler: view.getBigUint64(0, true),
    flags: view.getInt32(SA_FLAGS_OFFSET, true),
  };
}

/**
 * Sets the disposition of `signo` to `handler` (an address, {@link SIG_DFL}
 * or {@link SIG_IGN}) with `flags` and an empty mask.
 */
export function setSignalAction(
  signo: number,
  handler: bigint,
  flags = 0,
): void {
  const act = new Uint8Array(SIGACTION_SIZE);
  const view = new DataView(act.buffer);
  view.setBigUint64(0, handler, true);
  view.setInt32(SA_FLAGS_OFFSET, flags, true);
  if (libc().sigaction(signo, act, null) !== 0) {
    throw new SysError(`sigaction(${signo})`, lastErrno() || Errno.EINVAL);
  }
}

let dlsymFallback:
  | Deno.DynamicLibrary<{
    dlsym: { parameters: ["pointer", "buffer"]; result: "pointer" };
  }>
  | undefined;

/**
 * The address of a libc function (`dlsym(RTLD_DEFAULT, name)`), e.g. to make
 * it a signal handler. Throws when the symbol is not found.
 */
export function libcFunctionAddress(name: string): bigint {
  const cname = new TextEncoder().encode(name + "\0");
  let dlsym = libc().dlsym;
  if (dlsym === null) {
    dlsymFallback ??= Deno.dlopen("libdl.so.2", {
      dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
    });
    dlsym = dlsymFallback.symbols.dlsym;
  }
  const p = dlsym(null, cname);
  if (p === null) throw new SysError(`dlsym(${name})`, Errno.ENOENT);
  return BigInt(Deno.UnsafePointer.value(p));
}

/** Whether the process's real-time interval timer (`alarm`) is armed. */
export function alarmPending(): boolean {
  const itv = new Uint8Array(32); // struct itimerval: interval, then value
  if (libc().getitimer(ITIMER_REAL, itv) !== 0) {
    throw new SysError("getitimer(ITIMER_REAL)", lastErrno() || Errno.EINVAL);
  }
  const view = new DataView(itv.buffer);
  return view.getBigInt64(16, true) !== 0n || view.getBigInt64(24, true) !== 0n;
}

/** Disarms the real-time interval timer (`alarm(0)`). */
export function cancelAlarm(): void {
  libc().alarm(0);
}

/**
 * Marks the process (not) dumpable: no core dump, no ptrace attach or
 * /proc/PID/mem and environ reads by its own uid without CAP_SYS_PTRACE,
 * and /proc/PID owned by root.
 */
export function setDumpable(dumpable: boolean): void {
  if (libc().prctl(PR_SET_DUMPABLE, dumpable ? 1n : 0n, 0n, 0n, 0n) !== 0) {
    throw new SysError("prctl(PR_SET_DUMPABLE)", lastErrno() || Errno.EINVAL);
  }
}

/** Whether the process is dumpable (`prctl(PR_GET_DUMPABLE)`). */
export function isDumpable(): boolean {
  return libc().prctl(PR_GET_DUMPABLE, 0n, 0n, 0n, 0n) === 1;
}

/**
 * Sets no_new_privs for the calling thread (execve can never grant
 * privileges again), which a seccomp filter needs without CAP_SYS_ADMIN.
 * ha-vip never executes another program, so it loses nothing.
 */
export function setNoNewPrivs(): void {
  if (libc().prctl(PR_SET_NO_NEW_PRIVS, 1n, 0n, 0n, 0n) !== 0) {
    throw new SysError(
      "prctl(PR_SET_NO_NEW_PRIVS)",
      lastErrno() || Errno.EINVAL,
    );
  }
}

/** Whether no_new_privs is set for the calling thread. */
export function noNewPrivs(): boolean {
  return libc().prctl(PR_GET_NO_NEW_PRIVS, 0n, 0n, 0n, 0n) === 1;
}
