/**
 * The one libc handle of the process, opened lazily so that importing a
 * module that merely *could* talk to the kernel needs no `--allow-ffi`.
 *
 * @module
 */

/** The libc symbols ha-vip uses; `poll` exists twice (see below). */
export const LIBC_SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // The single-instance lock (lib/instance): an abstract AF_UNIX name.
  listen: { parameters: ["i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  // Called on the main thread with MSG_DONTWAIT only (after poll said so).
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  // Main thread, on a non-blocking listener after poll said so.
  accept4: {
    parameters: ["i32", "buffer", "buffer", "i32"],
    result: "i32",
  },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  getsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  // Runs on a pool thread: waiting here never freezes timers. errno is
  // meaningless afterwards (another thread), the pollfd buffer must stay
  // alive until the promise settles.
  poll: {
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // Same function on the main thread, only ever called with timeout 0.
  poll_now: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
  },
  close: { parameters: ["i32"], result: "i32" },
  // Closing an AF_PACKET socket waits for an RCU grace period in the kernel
  // (synchronize_net, measured 8-16 ms): done on a pool thread instead.
  close_nb: {
    name: "close",
    parameters: ["i32"],
    result: "i32",
    nonblocking: true,
  },
  // The wake-up of a waiting recv (lib/sys/_socket.ts): an eventfd polled
  // beside the socket, written on the main thread to end the wait at once.
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  if_indextoname: { parameters: ["u32", "buffer"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  // Process hardening (lib/sys/_process.ts, lib/sys/_seccomp.ts).
  sigaction: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  alarm: { parameters: ["u32"], result: "u32" },
  getitimer: { parameters: ["i32", "buffer"], result: "i32" },
  // prctl and syscall are variadic; every argument passed is an integer or
  // a pointer, which the x86_64 and aarch64 ABIs pass like fixed arguments.
  prctl: {
    parameters: ["i32", "u64", "u64", "u64", "u64"],
    result: "i32",
  },
  syscall: { parameters: ["i64", "u64", "u64", "buffer"], result: "i64" },
  // Scheduling of every thread (lib/sys/_sched.ts): a tid, not a pid.
  sched_setscheduler: {
    parameters: ["i32", "i32", "buffer"],
    result: "i32",
  },
  sched_getscheduler: { parameters: ["i32"], result: "i32" },
  sched_getparam: { parameters: ["i32", "buffer"], result: "i32" },
  // RLIMIT_RTTIME, the runaway guard of realtime threads (lib/sys/_sched.ts).
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  // In libc.so.6 since glibc 2.34; older ones keep it in libdl.so.2.
  dlsym: {
    parameters: ["pointer", "buffer"],
    result: "pointer",
    optional: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The typed symbol table of the libc handle. */
export type LibcSymbols = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

let handle: Deno.DynamicLibrary<typeof LIBC_SYMBOLS> | undefined;

/**
 * Returns the process-wide libc handle, opening `libc.so.6` on first use.
 *
 * Needs `--allow-ffi` (unscoped, or scoped to the absolute path of libc).
 * Throws an `Error` naming the flag when the permission is missing.
 */
export function libc(): LibcSymbols {
  if (handle === undefined) {
    try {
      handle = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable) {
        throw new Error(
          "cannot load libc.so.6: run with --allow-ffi (the kernel layer calls libc through Deno FFI)",
          { cause: err },
        );
      }
      throw err;
    }
  }
  return handle.symbols;
}

/**
 * Reads the calling thread's errno. Only meaningful right after a failed
 * *synchronous* libc call, and even then only for messages: it was seen to
 * be wrong about once in 800,000 calls.
 */
export function lastErrno(): number {
  const p = libc().__errno_location();
  if (p === null) return 0;
  return new Deno.UnsafePointerView(p).getInt32();
}

/** `strerror(errno)` as a string, or `""` when libc has no text for it. */
export function strerror(errno: number): string {
  const p = libc().strerror(errno);
  if (p === null) return "";
  return Deno.UnsafePointerView.getCString(p);
}
