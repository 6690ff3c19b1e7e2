/**
 * The installer's test world: release folders served over HTTPS on
 * loopback, and a private mount namespace per run in which the real paths
 * (/etc, /var, /usr/local/bin) are overlays whose upper layers live in the
 * test's temp folder. install.sh writes where it would on a host; the host
 * never changes, and the upper layers show exactly what a run changed.
 *
 * The binary: `HA_VIP_BIN` if set (the release workflow points it at the
 * compiled x86_64 binary), else one compiled with `DENORT_BIN`, else (no
 * denort here) a stand-in: a shell script that runs the release bundle with
 * this Deno. The installer treats it as any other asset: checksum, `check`,
 * `manifest`, install.
 */
import { buildRelease, sha256Sums } from "../../release/mod.ts";
import { generatePki } from "../../testing/mod.ts";

/** What a test release folder holds, and how it is served. */
export interface TestReleases {
  dir: string;
  /** `https://127.0.0.1:<port>/gh/releases/download` */
  baseUrl: string;
  /** A URL nothing listens on. */
  downUrl: string;
  caCertFile: string;
  /** Path of the release bundle (to run `manifest` for the expected files). */
  bundle: string;
  /** How the x86_64 binary of v0.1.0 was made. */
  binaryKind: "HA_VIP_BIN" | "compiled with DENORT_BIN" | "stand-in";
  close(): Promise<void>;
}

/** The versions served: a good one, a newer good one (latest), a tampered one. */
export const V = { first: "0.1.0", second: "0.1.1", tampered: "0.1.2" };

const BUNDLE_END = "HA_VIP_TEST_BUNDLE_END_3e1c";

/** A stand-in executable: the bundle, run by this Deno, in one file. */
export function standIn(
  bundleText: string,
  denoDir: string,
  mark: string,
): string {
  return `#!/bin/sh
# Test stand-in for a compiled ha-vip binary (${mark}): no denort runtime is
# available here, so the release bundle runs under this Deno.
DENO_DIR='${denoDir}'
export DENO_DIR
exec '${Deno.execPath()}' run --allow-all --quiet --no-config --cached-only - "$@" <<'${BUNDLE_END}'
${bundleText}
${BUNDLE_END}
`;
}

async function writeRelease(
  root: string,
  version: string,
  binaries: Record<string, string | Uint8Array>,
  sumsFrom?: Record<string, string | Uint8Array>,
): Promise<void> {
  const dir = `${root}/v${version}`;
  await Deno.mkdir(dir, { recursive: true });
  const write = async (
    d: string,
    files: Record<string, string | Uint8Array>,
  ) => {
    await Deno.mkdir(d, { recursive: true });
    for (const [name, body] of Object.entries(files)) {
      if (typeof body === "string") {
        await Deno.writeTextFile(`${d}/${name}`, body);
      } else await Deno.writeFile(`${d}/${name}`, body);
      await Deno.chmod(`${d}/${name}`, 0o755);
    }
  };
  await write(dir, binaries);
  let sums: string;
  if (sumsFrom) {
    // Checksums of other files under the same names: a tampered release.
    const other = await Deno.makeTempDir({ dir: root, prefix: ".sums-" });
    await write(other, sumsFrom);
    sums = await sha256Sums(other, Object.keys(sumsFrom));
    await Deno.remove(other, { recursive: true });
  } else {
    sums = await sha256Sums(dir, Object.keys(binaries));
  }
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, sums);
}

/** Builds the releases and serves them on 127.0.0.1 over TLS. */
export async function startTestReleases(dir: string): Promise<TestReleases> {
  const build = await buildRelease({
    outDir: `${dir}/build`,
    commit: "test",
    network: false,
    denortBin: Deno.env.get("DENORT_BIN") || undefined,
  });
  const bundle = `${dir}/build/${build.bundle}`;
  const bundleText = await Deno.readTextFile(bundle);
  const denoDir = `${dir}/deno-dir`;
  const asset = (v: string, a = "x86_64") => `ha-vip-${v}-linux-${a}`;

  let first: string | Uint8Array;
  let binaryKind: TestReleases["binaryKind"];
  const bin = Deno.env.get("HA_VIP_BIN");
  if (bin) {
    first = await Deno.readFile(bin);
    binaryKind = "HA_VIP_BIN";
  } else if (build.binaries.x86_64) {
    first = await Deno.readFile(`${dir}/build/${build.binaries.x86_64}`);
    binaryKind = "compiled with DENORT_BIN";
  } else {
    first = standIn(bundleText, denoDir, `v${V.first}`);
    binaryKind = "stand-in";
  }
  const releases = `${dir}/releases`;
  await writeRelease(releases, V.first, { [asset(V.first)]: first });
  // The upgrade: another build (always a stand-in, so that it differs).
  await writeRelease(releases, V.second, {
    [asset(V.second)]: standIn(bundleText, denoDir, `v${V.second}`),
  });
  await writeRelease(
    releases,
    V.tampered,
    { [asset(V.tampered)]: standIn(bundleText, denoDir, "tampered") },
    { [asset(V.tampered)]: standIn(bundleText, denoDir, `v${V.tampered}`) },
  );

  const pki = await generatePki(`${dir}/pki`, {
    nodeName: "localhost",
    nodeIp: "127.0.0.1",
  });
  let port = 0;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: pki.serverCert,
    key: pki.serverKey,
    onListen: () => {},
  }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/gh/releases/latest") {
      return Response.redirect(
        `https://127.0.0.1:${port}/gh/releases/tag/v${V.second}`,
        302,
      );
    }
    if (path.startsWith("/gh/releases/tag/")) return new Response("a release");
    const m = /^\/gh\/releases\/download\/(v[^/]+\/[^/]+)$/.exec(path);
    if (m && !m[1].includes("..")) {
      try {
        return new Response(await Deno.readFile(`${releases}/${m[1]}`));
      } catch {
        // fall through
      }
    }
    return new Response("not found", { status: 404 });
  });
  port = server.addr.port;
  // A port that was free a moment ago: connections are refused.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const downPort = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return {
    dir,
    baseUrl: `https://127.0.0.1:${port}/gh/releases/download`,
    downUrl: `https://127.0.0.1:${downPort}/gh/releases/download`,
    caCertFile: pki.caCertFile,
    bundle,
    binaryKind,
    close: () => server.shutdown(),
  };
}

/** One host's state across installer runs: overlay upper layers and fake systemd. */
export interface Host {
  dir: string;
  /** Where /etc, /var and /usr/local/bin changes land. */
  upper(path: string): string;
  /** Calls made to the fake systemctl, one line each. */
  systemctlCalls(): Promise<string[]>;
  /** Every path the installer changed, relative to `/`, sorted. */
  changes(): Promise<string[]>;
}

const OVERLAID = ["etc", "var", "usr/local/bin"];

/** A fresh host; `systemd: true` makes it look as if systemd ran (a fake systemctl records calls). */
export async function newHost(parent: string, name: string): Promise<Host> {
  const dir = `${parent}/${name}`;
  for (const d of OVERLAID) {
    await Deno.mkdir(`${dir}/upper/${d}`, { recursive: true });
    await Deno.mkdir(`${dir}/work/${d}`, { recursive: true });
  }
  await Deno.mkdir(`${dir}/systemd-state`, { recursive: true });
  await Deno.writeTextFile(`${dir}/systemctl.log`, "");
  const walk = async (root: string, rel: string, out: string[]) => {
    for await (const e of Deno.readDir(`${root}/${rel}`)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      out.push(p);
      if (e.isDirectory) await walk(root, p, out);
    }
  };
  return {
    dir,
    upper: (path) => `${dir}/upper${path}`,
    systemctlCalls: async () =>
      (await Deno.readTextFile(`${dir}/systemctl.log`)).split("\n").filter((
        l,
      ) => l !== ""),
    changes: async () => {
      const out: string[] = [];
      await walk(`${dir}/upper`, "", out);
      return out.filter((p) =>
        !OVERLAID.includes(p) && p !== "usr" && p !== "usr/local"
      ).sort();
    },
  };
}

/** What one installer run printed and returned. */
export interface InstallerRun {
  status: number;
  out: string;
  err: string;
}

/** Options of {@link runInstaller}. */
export interface RunOptions {
  env?: Record<string, string>;
  /** Pretend systemd runs (/run/systemd/system exists, systemctl is a recorder). */
  systemd?: boolean;
  /** `uname -m` answers this. */
  machine?: string;
  /** No curl on PATH: the installer must use wget. */
  withoutCurl?: boolean;
  /** Run this instead of install.sh (e.g. the installed uninstall script). */
  script?: string;
}

/** The shell lines that put `host`'s overlays over the real paths. */
function overlayMounts(host: Host): string[] {
  return OVERLAID.map((d) =>
    `mount -t overlay overlay -o lowerdir=/${d},upperdir=${host.dir}/upper/${d},workdir=${host.dir}/work/${d} /${d}`
  );
}

const installSh = new URL("../../install.sh", import.meta.url).pathname;

async function fakeBin(host: Host, options: RunOptions): Promise<string> {
  const bin = `${host.dir}/fakebin`;
  await Deno.remove(bin, { recursive: true }).catch(() => {});
  await Deno.mkdir(bin);
  const log = `${host.dir}/systemctl.log`;
  const state = `${host.dir}/systemd-state`;
  await Deno.writeTextFile(
    `${bin}/systemctl`,
    `#!/bin/sh
# Fake systemctl: records the call, keeps enabled/active as files.
echo "$*" >> '${log}'
case "$1" in
  is-active) shift; [ "$1" = --quiet ] && shift; [ -e '${state}/active' ] ;;
  is-enabled) shift; [ "$1" = --quiet ] && shift; [ -e '${state}/enabled' ] ;;
  enable) if [ "$2" = --now ]; then touch '${state}/active'; fi; touch '${state}/enabled' ;;
  disable) if [ "$2" = --now ]; then rm -f '${state}/active'; fi; rm -f '${state}/enabled' ;;
  restart|start) touch '${state}/active' ;;
  stop) rm -f '${state}/active' ;;
  daemon-reload) ;;
  *) echo "fake systemctl: unexpected $*" >&2; exit 1 ;;
esac
`,
  );
  await Deno.chmod(`${bin}/systemctl`, 0o755);
  if (options.machine) {
    await Deno.writeTextFile(
      `${bin}/uname`,
      `#!/bin/sh\nif [ "$1" = -m ]; then echo '${options.machine}'; else exec /usr/bin/uname "$@"; fi\n`,
    );
    await Deno.chmod(`${bin}/uname`, 0o755);
  }
  if (!options.withoutCurl) return bin;
  // A /usr/bin without curl.
  const usr = `${host.dir}/usr-bin-without-curl`;
  await Deno.remove(usr, { recursive: true }).catch(() => {});
  await Deno.mkdir(usr);
  for await (const e of Deno.readDir("/usr/bin")) {
    if (e.name !== "curl") {
      await Deno.symlink(`/usr/bin/${e.name}`, `${usr}/${e.name}`);
    }
  }
  return `${bin}:${usr}`;
}

/** Runs install.sh (or `options.script`) with `args` on `host`, in a private mount namespace. */
export async function runInstaller(
  rel: TestReleases,
  host: Host,
  args: string[],
  options: RunOptions = {},
): Promise<InstallerRun> {
  const bin = await fakeBin(host, options);
  const path = options.withoutCurl
    ? `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin`
    : `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
  const wgetrc = `${host.dir}/wgetrc`;
  await Deno.writeTextFile(wgetrc, `ca_certificate = ${rel.caCertFile}\n`);
  const tmp = `${host.dir}/tmp`;
  await Deno.mkdir(tmp, { recursive: true });
  return await inNamespace(host, {
    setup: [
      "mount -t tmpfs tmpfs /run/systemd",
      ...(options.systemd ? ["mkdir /run/systemd/system"] : []),
    ],
    argv: ["sh", options.script ?? installSh, ...args],
    env: {
      PATH: path,
      TMPDIR: tmp,
      CURL_CA_BUNDLE: rel.caCertFile,
      WGETRC: wgetrc,
      HA_VIP_INSTALL_URL: rel.baseUrl,
      ...options.env,
    },
  });
}

/** Runs a command inside `host`'s namespace (e.g. systemd-analyze verify on the installed unit). */
export function runOnHost(host: Host, argv: string[]): Promise<InstallerRun> {
  return inNamespace(host, { setup: [], argv });
}

/** `argv` in a private mount namespace with `host`'s overlays and `setup` lines run first. */
async function inNamespace(
  host: Host,
  o: { setup: string[]; argv: string[]; env?: Record<string, string> },
): Promise<InstallerRun> {
  const script = ["set -e", ...overlayMounts(host), ...o.setup, 'exec "$@"'];
  const r = await new Deno.Command("unshare", {
    args: [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      script.join("\n"),
      "sh",
      ...o.argv,
    ],
    clearEnv: o.env !== undefined,
    env: o.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    status: r.code,
    out: dec.decode(r.stdout),
    err: dec.decode(r.stderr),
  };
}
