/**
 * `ha-vip`: a floating virtual IP for Kubernetes control planes.
 * See README.md; `ha-vip --help` lists the commands.
 */
import { main } from "./lib/cli/mod.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
