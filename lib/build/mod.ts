/**
 * Build identity: the version (deno.json's `version`, the single source), the
 * commit a release was built from (stamped by `deno task release`, see
 * `_build_info.ts`), and where releases and images are published.
 *
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import { COMMIT as STAMPED_COMMIT } from "./_build_info.ts";

/** The ha-vip version, from deno.json. */
export const VERSION: string = denoJson.version;

/** The commit of a release build; `undefined` when running from source. */
export const COMMIT: string | undefined = STAMPED_COMMIT;

/** The GitHub repository the releases and the container image come from. */
export const REPOSITORY = "ha-vip/ha-vip";

/** Base URL of the release assets (GitHub's `releases/download` layout). */
export const RELEASES_URL =
  `https://github.com/${REPOSITORY}/releases/download`;

/** The container image of this version (built by the release workflow). */
export const IMAGE = `ghcr.io/${REPOSITORY}:v${VERSION}`;

/** The installer of this version, as attached to its release. */
export const INSTALL_SCRIPT_URL = `${RELEASES_URL}/v${VERSION}/install.sh`;

/** The text `ha-vip version` prints: version, commit and runtime. */
export function versionText(
  commit: string | undefined = COMMIT,
  deno: typeof Deno.version = Deno.version,
): string {
  return [
    `ha-vip ${VERSION}`,
    `commit: ${commit ?? "none (run from source, not a release build)"}`,
    `deno: ${deno.deno} (v8 ${deno.v8}, typescript ${deno.typescript})`,
  ].join("\n") + "\n";
}
