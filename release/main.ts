/**
 * `deno task release`: builds dist/ (see release/mod.ts) and says what it
 * made and what it skipped, and why. The release workflow runs this task.
 *
 * Environment: `DENORT_BIN` (a denort runtime for its architecture);
 * `HA_VIP_RELEASE_OFFLINE=1` (never try to download denort);
 * `HA_VIP_RELEASE_REQUIRE_BINARIES=1` (fail unless both binaries were built:
 * the release workflow sets it).
 */
import { buildRelease } from "./mod.ts";

if (import.meta.main) {
  const env = Deno.env.toObject();
  const r = await buildRelease({
    denortBin: env.DENORT_BIN || undefined,
    network: env.HA_VIP_RELEASE_OFFLINE !== "1",
    log: (l) => console.log(l),
  });
  console.log(
    `release  ha-vip ${r.version} (commit ${r.commit}) in ${r.outDir}`,
  );
  for (const f of r.files) console.log(`  ${f}`);
  for (const s of r.skipped) console.log(`skipped  ${s.what}: ${s.why}`);
  if (env.HA_VIP_RELEASE_REQUIRE_BINARIES === "1" && r.skipped.length > 0) {
    console.error(
      "release: binaries are required (HA_VIP_RELEASE_REQUIRE_BINARIES=1)",
    );
    Deno.exit(1);
  }
}
