/**
 * Gate for tests that need a command from a Debian package (shellcheck,
 * cloud-init, systemd-analyze, strace, ...): `.ci/run` installs them; a
 * machine without one skips those tests with one line saying which.
 *
 * ```ts
 * const ignore = skipUnlessInstalled("cloud-init schema tests", ["cloud-init"]);
 * ```
 *
 * @module
 */

const DIRS = ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"];

/** Whether `command` is an executable file in the system's bin folders. */
export function installed(command: string): boolean {
  return DIRS.some((d) => {
    try {
      return Deno.statSync(`${d}/${command}`).isFile;
    } catch {
      return false;
    }
  });
}

/** The `ignore` flag for `Deno.test`; prints one SKIP line when a command is missing. */
export function skipUnlessInstalled(what: string, commands: string[]): boolean {
  const missing = commands.filter((c) => !installed(c));
  if (missing.length === 0) return false;
  console.log(
    `SKIP ${what}: ${
      missing.join(", ")
    } not installed (.ci/run installs the Debian packages)`,
  );
  return true;
}
