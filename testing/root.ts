/**
 * Gate for tests that need root: network namespaces, netlink writes, raw
 * and packet sockets.
 *
 * ```ts
 * const ignore = skipUnlessRoot("netlink kernel tests");
 * Deno.test({ name: "...", ignore, fn: async () => {} });
 * ```
 *
 * @module
 */

const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;
const CAP_SYS_ADMIN = 21; // ip netns add / exec (mount + setns)

let cached: string | null | undefined;

/** Why kernel tests cannot run here, or `null` when they can. */
export function rootSkipReason(): string | null {
  if (cached !== undefined) return cached;
  cached = probe();
  return cached;
}

function probe(): string | null {
  if (Deno.build.os !== "linux") return `not Linux (${Deno.build.os})`;
  if (Deno.uid() !== 0) return `not root (uid ${Deno.uid()})`;
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    if (hex !== undefined) {
      const caps = BigInt(`0x${hex}`);
      const missing = [
        ["CAP_NET_ADMIN", CAP_NET_ADMIN],
        ["CAP_NET_RAW", CAP_NET_RAW],
        ["CAP_SYS_ADMIN", CAP_SYS_ADMIN],
      ].filter(([, bit]) => (caps & (1n << BigInt(bit))) === 0n)
        .map(([name]) => name);
      if (missing.length > 0) return `root without ${missing.join(", ")}`;
    }
  } catch {
    // No /proc: let the tests themselves fail loudly.
  }
  try {
    const out = new Deno.Command("ip", {
      args: ["-V"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync();
    if (!out.success) return "`ip -V` failed (iproute2 needed)";
  } catch {
    return "no `ip` command (iproute2 needed)";
  }
  return null;
}

/**
 * Returns the `ignore` flag for `Deno.test` and, when the tests cannot
 * run, prints one line saying which and why.
 */
export function skipUnlessRoot(what: string): boolean {
  const reason = rootSkipReason();
  if (reason === null) return false;
  console.log(
    `SKIP ${what}: ${reason}; they need root with CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN, and iproute2`,
  );
  return true;
}
