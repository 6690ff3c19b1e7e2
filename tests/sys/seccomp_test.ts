import assert from "node:assert/strict";
import { denySyscallsFilter, SECCOMP_ARCHES } from "../../lib/sys/mod.ts";

/** `struct sock_filter` as bytes: code (u16 LE), jt, jf, k (u32 LE). */
function insn(code: number, jt: number, jf: number, k: number): number[] {
  return [
    code & 0xff,
    code >> 8,
    jt,
    jf,
    k & 0xff,
    (k >>> 8) & 0xff,
    (k >>> 16) & 0xff,
    k >>> 24,
  ];
}

Deno.test("x86_64 listen() filter matches the annotated program", () => {
  const got = denySyscallsFilter(SECCOMP_ARCHES.x86_64, [50]);
  const want = [
    // 0: A = seccomp_data.arch
    ...insn(0x20, 0, 0, 4),
    // 1: A == AUDIT_ARCH_X86_64 ? next : deny (6 - 2 = 4 ahead)
    ...insn(0x15, 0, 4, 0xc000003e),
    // 2: A = seccomp_data.nr
    ...insn(0x20, 0, 0, 0),
    // 3: A & __X32_SYSCALL_BIT ? deny (6 - 4 = 2 ahead) : next
    ...insn(0x45, 2, 0, 0x40000000),
    // 4: A == __NR_listen (50) ? deny (1 ahead) : next
    ...insn(0x15, 1, 0, 50),
    // 5: return SECCOMP_RET_ALLOW
    ...insn(0x06, 0, 0, 0x7fff0000),
    // 6: return SECCOMP_RET_ERRNO | EPERM
    ...insn(0x06, 0, 0, 0x00050001),
  ];
  assert.deepEqual([...got], want);
});

Deno.test("aarch64 listen() filter: its own arch and number, no x32 check", () => {
  const got = denySyscallsFilter(SECCOMP_ARCHES.aarch64, [201]);
  const want = [
    ...insn(0x20, 0, 0, 4),
    ...insn(0x15, 0, 3, 0xc00000b7), // AUDIT_ARCH_AARCH64, else deny at 5
    ...insn(0x20, 0, 0, 0),
    ...insn(0x15, 1, 0, 201), // __NR_listen on aarch64
    ...insn(0x06, 0, 0, 0x7fff0000),
    ...insn(0x06, 0, 0, 0x00050001),
  ];
  assert.deepEqual([...got], want);
});

Deno.test("every denied number gets its own jump to the shared deny return", () => {
  const got = denySyscallsFilter(SECCOMP_ARCHES.aarch64, [201, 200, 198]);
  const view = new DataView(got.buffer);
  const n = got.length / 8;
  const deny = n - 1;
  for (let i = 3; i < 6; i++) {
    assert.equal(view.getUint16(i * 8, true), 0x15);
    assert.equal(i + 1 + got[i * 8 + 2], deny, `insn ${i} jumps to deny`);
  }
  assert.equal(view.getUint32(deny * 8 + 4, true), 0x00050001);
});
