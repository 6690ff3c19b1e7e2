/**
 * seccomp: a classic-BPF filter that makes chosen system calls fail with
 * EPERM in every thread of the process, now and later. The program builder
 * is pure (bytes out, tested against an annotated fixture); installing it
 * is one `prctl` and one `seccomp` call.
 *
 * @module
 */

import { Errno, SysError } from "./_errno.ts";
import { lastErrno, libc } from "./_libc.ts";
import { setNoNewPrivs } from "./_process.ts";

/** What a filter needs to know about an architecture. */
export interface SeccompArch {
  /** `AUDIT_ARCH_*`, as the kernel puts it in `seccomp_data.arch`. */
  audit: number;
  /** Number of the `seccomp` system call. */
  seccompNr: number;
  /** Number of `listen`. */
  listenNr: number;
  /** Bit that marks another ABI's system call numbers (x32), or 0. */
  foreignNrBit: number;
}

/** The architectures ha-vip runs on (Deno's own targets on Linux). */
export const SECCOMP_ARCHES: Readonly<Record<string, SeccompArch>> = {
  x86_64: {
    audit: 0xc000003e,
    seccompNr: 317,
    listenNr: 50,
    foreignNrBit: 0x40000000,
  },
  aarch64: {
    audit: 0xc00000b7,
    seccompNr: 277,
    listenNr: 201,
    foreignNrBit: 0,
  },
};

const BPF_LD_W_ABS = 0x20;
const BPF_JMP_JEQ_K = 0x15;
const BPF_JMP_JSET_K = 0x45;
const BPF_RET_K = 0x06;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_DATA_NR = 0;
const SECCOMP_DATA_ARCH = 4;
const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_FILTER_FLAG_TSYNC = 1;

type Insn = {
  code: number;
  k: number;
  /** Labels the jump goes to when true / false; undefined: the next one. */
  jt?: "deny";
  jf?: "deny";
};

/**
 * A filter that fails the system calls `deny` with EPERM and allows every
 * other one of the native ABI. A call through another ABI (x32 numbers, or
 * a different `arch`: 32-bit `int 0x80`) fails too: nothing in ha-vip or
 * its runtime makes one, so anything that does is not ours.
 */
export function denySyscallsFilter(
  arch: SeccompArch,
  deny: readonly number[],
): Uint8Array {
  const prog: Insn[] = [
    { code: BPF_LD_W_ABS, k: SECCOMP_DATA_ARCH },
    { code: BPF_JMP_JEQ_K, k: arch.audit, jf: "deny" },
    { code: BPF_LD_W_ABS, k: SECCOMP_DATA_NR },
  ];
  if (arch.foreignNrBit !== 0) {
    prog.push({ code: BPF_JMP_JSET_K, k: arch.foreignNrBit, jt: "deny" });
  }
  for (const nr of deny) prog.push({ code: BPF_JMP_JEQ_K, k: nr, jt: "deny" });
  prog.push({ code: BPF_RET_K, k: SECCOMP_RET_ALLOW });
  const denyAt = prog.length;
  prog.push({ code: BPF_RET_K, k: SECCOMP_RET_ERRNO | Errno.EPERM });

  // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }, host order.
  const out = new Uint8Array(prog.length * 8);
  const view = new DataView(out.buffer);
  prog.forEach((insn, i) => {
    const to = (label?: "deny") => label === undefined ? 0 : denyAt - (i + 1);
    view.setUint16(i * 8, insn.code, true);
    view.setUint8(i * 8 + 2, to(insn.jt));
    view.setUint8(i * 8 + 3, to(insn.jf));
    view.setUint32(i * 8 + 4, insn.k >>> 0, true);
  });
  return out;
}

/** The architecture this process runs on, or `undefined` if ha-vip has no filter for it. */
export function nativeSeccompArch(): SeccompArch | undefined {
  return Deno.build.os === "linux"
    ? SECCOMP_ARCHES[Deno.build.arch]
    : undefined;
}

/**
 * Installs `program` for every thread of the process (TSYNC), after setting
 * no_new_privs (which TSYNC spreads too). Filters cannot be removed: this
 * holds until the process ends.
 */
export function installSeccompFilter(
  arch: SeccompArch,
  program: Uint8Array,
): void {
  if (program.length % 8 !== 0 || program.length === 0) {
    throw new RangeError(
      "a BPF program is a non-empty list of 8-byte instructions",
    );
  }
  setNoNewPrivs();
  // struct sock_fprog { u16 len; /* pad */ struct sock_filter *filter; }
  const fprog = new Uint8Array(16);
  const view = new DataView(fprog.buffer);
  view.setUint16(0, program.length / 8, true);
  view.setBigUint64(
    8,
    BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(program))),
    true,
  );
  const r = libc().syscall(
    BigInt(arch.seccompNr),
    BigInt(SECCOMP_SET_MODE_FILTER),
    BigInt(SECCOMP_FILTER_FLAG_TSYNC),
    fprog,
  );
  if (r === 0n) return;
  if (r > 0n) {
    // TSYNC names the thread that could not take the filter.
    throw new SysError(
      `seccomp(SET_MODE_FILTER, TSYNC): thread ${r} has another filter`,
      Errno.EBUSY,
    );
  }
  throw new SysError(
    "seccomp(SET_MODE_FILTER, TSYNC)",
    lastErrno() || Errno.EINVAL,
  );
}
