/**
 * The release build behind `deno task release` (and the release workflow,
 * which runs that same task): a staging copy of the source with the commit
 * stamped in, a single-file bundle that runs offline under `deno run`, the
 * compiled binaries wherever Deno's `denort` runtime can be had, the
 * installer, and `SHA256SUMS` over every file.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** The targets a release is compiled for, by the name of their asset suffix. */
export const TARGETS = [
  { arch: "x86_64", triple: "x86_64-unknown-linux-gnu", elfMachine: 0x3e },
  { arch: "aarch64", triple: "aarch64-unknown-linux-gnu", elfMachine: 0xb7 },
] as const;

/** An architecture ha-vip is released for. */
export type Arch = typeof TARGETS[number]["arch"];

/**
 * What the compiled binary may do. Baked into the binary by `deno compile`:
 * network (VRRP peers, the API server, /metrics), files (config, token, CA,
 * the lock under /run/ha-vip), environment (`HA_VIP_*`), FFI (libc: netlink
 * and raw sockets) and system information (host name, interfaces).
 */
export const COMPILE_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
] as const;

/**
 * V8 flags of the daemon, baked into the compiled binary (`deno compile
 * --v8-flags`) and given to `deno run` for the bundle (issue 12; README
 * "Measured against keepalived" has the figures):
 * - `--max-semi-space-size=1`: a young generation of 1 MiB per semi-space
 *   instead of V8's growth to 8 MiB and more; the daemon's garbage is small
 *   and short-lived, so the extra scavenges cost no measurable CPU, and the
 *   master's resident set drops by 12–15 MiB (settled and peak).
 * - `--no-opt --no-maglev`: no optimizing compilers (the interpreter and the
 *   Sparkplug baseline compiler remain). A daemon that does a little work a
 *   few times a second never gains from them, but their code pages and
 *   compiled code cost about 3 MiB; measured side by side the CPU was the
 *   same or lower (1.45–1.48 % against 1.51–1.58 % of a core, 90 s each).
 *   `--jitless` / `--lite-mode` (no baseline compiler either) cost more CPU.
 */
export const V8_FLAGS = [
  "--max-semi-space-size=1",
  "--no-opt",
  "--no-maglev",
] as const;

/**
 * How the bundle is meant to run: `deno run -A <these> ha-vip-<v>.js`.
 * `--no-code-cache`: a daemon starts once, and the code cache's SQLite
 * mapping costs about 1.5 MiB resident for nothing.
 */
export const BUNDLE_DENO_FLAGS = [
  `--v8-flags=${V8_FLAGS.join(",")}`,
  "--no-code-cache",
] as const;

/** File names of one version's release assets. */
export function assetNames(version: string): {
  binary(arch: Arch): string;
  bundle: string;
  installer: string;
  sums: string;
} {
  return {
    binary: (arch) => `ha-vip-${version}-linux-${arch}`,
    bundle: `ha-vip-${version}.js`,
    installer: "install.sh",
    sums: "SHA256SUMS",
  };
}

/** Options of {@link buildRelease}. */
export interface ReleaseOptions {
  /** The repository root (default: this checkout). */
  root?: string;
  /** Output folder, emptied first (default `<root>/dist`). */
  outDir?: string;
  /** Commit to stamp; default: `git rev-parse HEAD`, `-dirty` when the tree has changes. */
  commit?: string;
  /** `DENORT_BIN`: a denort runtime for its own architecture. */
  denortBin?: string;
  /** false: do not try to download denort (only `denortBin` is used). */
  network?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What {@link buildRelease} made and what it skipped, with the reason. */
export interface ReleaseResult {
  version: string;
  commit: string;
  outDir: string;
  /** File names in `outDir`, every one listed in SHA256SUMS (except itself). */
  files: string[];
  binaries: Partial<Record<Arch, string>>;
  bundle: string;
  skipped: { what: string; why: string }[];
}

const decoder = new TextDecoder();

async function run(
  cmd: string,
  args: string[],
  cwd: string,
  env?: Record<string, string>,
): Promise<{ ok: boolean; out: string; err: string }> {
  const r = await new Deno.Command(cmd, {
    args,
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    ok: r.success,
    out: decoder.decode(r.stdout),
    err: decoder.decode(r.stderr),
  };
}

/** The commit of `root`, `-dirty` when it has uncommitted changes, or "unknown" without git. */
export async function currentCommit(root: string): Promise<string> {
  try {
    const head = await run("git", ["rev-parse", "HEAD"], root);
    if (!head.ok) return "unknown";
    const status = await run("git", ["status", "--porcelain"], root);
    return head.out.trim() + (status.out.trim() === "" ? "" : "-dirty");
  } catch {
    return "unknown";
  }
}

/** The architecture of an ELF executable, from its `e_machine` field. */
export async function elfArch(path: string): Promise<Arch | undefined> {
  const f = await Deno.open(path);
  try {
    const head = new Uint8Array(20);
    const n = await f.read(head);
    if (n !== 20 || decoder.decode(head.subarray(1, 4)) !== "ELF") {
      return undefined;
    }
    const machine = new DataView(head.buffer).getUint16(18, head[5] === 1);
    return TARGETS.find((t) => t.elfMachine === machine)?.arch;
  } finally {
    f.close();
  }
}

/** `<sha256 hex>  <name>` lines, as `sha256sum` writes and checks them. */
export async function sha256Sums(
  dir: string,
  names: string[],
): Promise<string> {
  const lines = [];
  for (const name of [...names].sort()) {
    const digest = await crypto.subtle.digest(
      "SHA-256",
      await Deno.readFile(`${dir}/${name}`),
    );
    const hex = Array.from(new Uint8Array(digest))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    lines.push(`${hex}  ${name}`);
  }
  return lines.join("\n") + "\n";
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) {
      await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  }
}

/** The stamped `lib/build/_build_info.ts` of a release. */
export function buildInfoSource(commit: string): string {
  return `// Generated by deno task release (release/mod.ts): do not edit.\n` +
    `/** The git commit the release was built from. */\n` +
    `export const COMMIT: string | undefined = ${JSON.stringify(commit)};\n`;
}

function firstLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) =>
    l !== "" && !l.startsWith("Stack backtrace") && !/^\d+: <unknown>$/.test(l)
  );
  return lines.slice(-2).join(" ").slice(0, 300);
}

/** Builds the release assets into `outDir`; throws when the bundle cannot be built. */
export async function buildRelease(
  options: ReleaseOptions = {},
): Promise<ReleaseResult> {
  const root = (options.root ?? new URL("..", import.meta.url).pathname)
    .replace(/\/+$/, "");
  const outDir = options.outDir ?? `${root}/dist`;
  const log = options.log ?? (() => {});
  const version = denoJson.version;
  const commit = options.commit ?? await currentCommit(root);
  const names = assetNames(version);
  const skipped: ReleaseResult["skipped"] = [];

  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(outDir, { recursive: true });
  // The stage is a copy of what the program is made of, with the commit
  // stamped in; the checkout itself is never modified.
  const stage = await Deno.makeTempDir({ prefix: "ha-vip-release-" });
  try {
    for (const f of ["main.ts", "deno.json", "deno.lock"]) {
      await Deno.copyFile(`${root}/${f}`, `${stage}/${f}`);
    }
    await copyTree(`${root}/lib`, `${stage}/lib`);
    await Deno.writeTextFile(
      `${stage}/lib/build/_build_info.ts`,
      buildInfoSource(commit),
    );

    const bundle = `${outDir}/${names.bundle}`;
    const b = await run(Deno.execPath(), [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "-o",
      bundle,
      "main.ts",
    ], stage);
    if (!b.ok) throw new Error(`deno bundle failed: ${b.err}`);
    log(`bundle   ${names.bundle}`);

    const binaries: Partial<Record<Arch, string>> = {};
    const denortArch = options.denortBin
      ? await elfArch(options.denortBin)
      : undefined;
    for (const t of TARGETS) {
      const out = `${outDir}/${names.binary(t.arch)}`;
      const useDenort = denortArch === t.arch;
      if (!useDenort && options.network === false) {
        skipped.push({
          what: names.binary(t.arch),
          why: options.denortBin
            ? `DENORT_BIN is a ${
              denortArch ?? "non-ELF"
            } runtime, not ${t.arch}, and downloads are off`
            : `DENORT_BIN is not set and downloads are off`,
        });
        continue;
      }
      const env: Record<string, string> = {};
      // deno compile takes the runtime from DENORT_BIN when it is set; unset
      // it for the other architecture so that one is downloaded instead.
      if (useDenort) env.DENORT_BIN = options.denortBin!;
      const c = await run(
        "env",
        [
          ...(useDenort ? [] : ["-u", "DENORT_BIN"]),
          Deno.execPath(),
          "compile",
          "--quiet",
          "--no-code-cache",
          `--v8-flags=${V8_FLAGS.join(",")}`,
          ...COMPILE_PERMISSIONS,
          "--target",
          t.triple,
          "-o",
          out,
          "main.ts",
        ],
        stage,
        env,
      );
      if (c.ok) {
        binaries[t.arch] = names.binary(t.arch);
        log(`compile  ${names.binary(t.arch)}`);
      } else {
        await Deno.remove(out).catch(() => {});
        skipped.push({
          what: names.binary(t.arch),
          why: `no denort runtime for ${t.triple}: ${
            options.denortBin
              ? `DENORT_BIN is a ${denortArch ?? "non-ELF"} runtime`
              : "DENORT_BIN is not set"
          }, and downloading it failed (${firstLine(c.err)})`,
        });
      }
    }

    await Deno.copyFile(`${root}/install.sh`, `${outDir}/${names.installer}`);
    await Deno.chmod(`${outDir}/${names.installer}`, 0o755);
    const files = [
      ...Object.values(binaries),
      names.bundle,
      names.installer,
    ] as string[];
    await Deno.writeTextFile(
      `${outDir}/${names.sums}`,
      await sha256Sums(outDir, files),
    );
    return {
      version,
      commit,
      outDir,
      files: [...files, names.sums],
      binaries,
      bundle: names.bundle,
      skipped,
    };
  } finally {
    await Deno.remove(stage, { recursive: true }).catch(() => {});
  }
}
