/**
 * `ha-vip`: a floating virtual IP for Kubernetes control planes.
 * See README.md; `ha-vip --help` lists the commands.
 */
import { main } from "./lib/cli/mod.ts";
import { hardenProcess } from "./lib/harden/mod.ts";

if (import.meta.main) {
  // Before anything else: SIGUSR1 must never reach the runtime's debugger
  // trigger, and no core dump may hold a token. Every command does it; for
  // `run` it is required (it checks again), for the others it is best effort
  // (e.g. `deno run --allow-read main.ts check` has no FFI).
  try {
    hardenProcess({ entryPoint: true });
  } catch {
    // `run` reports it; nothing else depends on it.
  }
  Deno.exit(await main(Deno.args));
}
