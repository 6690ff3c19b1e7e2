/**
 * `deno bundle` of main.ts, for tests that must hold for the shipped shape
 * of the program too: one file, and with `--minify` renamed classes (so a
 * test of a value's type by its constructor name fails there).
 *
 * @module
 */

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const built = new Map<string, Promise<string>>();

/**
 * Bundles main.ts once per test process (and per `minify`) into a
 * world-readable temporary file, and returns its path. Needs the npm
 * dependencies in the Deno cache (`deno install`); no network.
 */
export function bundleMain(
  options: { minify?: boolean } = {},
): Promise<string> {
  const key = options.minify ? "min" : "plain";
  let p = built.get(key);
  if (!p) {
    p = build(Boolean(options.minify));
    built.set(key, p);
  }
  return p;
}

async function build(minify: boolean): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ha-vip-bundle-" });
  // Readable by the unprivileged users some tests run the bundle as.
  await Deno.chmod(dir, 0o755);
  const out = `${dir}/ha-vip.js`;
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      ...(minify ? ["--minify"] : []),
      "-o",
      out,
      MAIN,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(
      `deno bundle failed: ${new TextDecoder().decode(r.stderr).trim()}`,
    );
  }
  await Deno.chmod(out, 0o644);
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // already gone
    }
  });
  return out;
}
