/**
 * install.sh as root against releases served over HTTPS on loopback, in a
 * private mount namespace per run (see _installer_env.ts): fresh install,
 * idempotent re-run, upgrade, tampered checksum, missing architecture,
 * server down, bad flags, air-gapped install, uninstall and purge.
 *
 * TLS: the test CA reaches curl through CURL_CA_BUNDLE and wget through
 * WGETRC (ca_certificate); install.sh has no way to skip verification.
 * systemd: the "systemd host" has /run/systemd/system and a systemctl that
 * records its calls; the other host has no systemd, as on a container or a
 * minimal VM, where the installer must say how to start ha-vip instead.
 */
import assert from "node:assert/strict";
import {
  type Host,
  newHost,
  runInstaller,
  runOnHost,
  startTestReleases,
  type TestReleases,
  V,
} from "./_installer_env.ts";
import { skipUnlessInstalled, skipUnlessRoot } from "../../testing/mod.ts";

const ignore = skipUnlessRoot("installer tests (mount namespaces)") ||
  skipUnlessInstalled("installer tests", [
    "unshare",
    "openssl",
    "curl",
    "wget",
    "useradd",
    "systemd-analyze",
  ]);

const FLAGS = [
  "--vip",
  "192.168.1.100/24",
  "--interface",
  "eth0",
  "--priority",
  "150",
];

async function manifest(rel: TestReleases, args: string[]): Promise<string> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--quiet",
      "--no-config",
      rel.bundle,
      "manifest",
      ...args,
    ],
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout);
}

async function text(path: string): Promise<string> {
  return await Deno.readTextFile(path);
}

function mode(path: string): string {
  return (Deno.statSync(path).mode! & 0o7777).toString(8);
}

function owner(path: string): string {
  const s = Deno.statSync(path);
  return `${s.uid}:${s.gid}`;
}

function userLine(host: Host): string | undefined {
  try {
    return Deno.readTextFileSync(host.upper("/etc/passwd")).split("\n")
      .find((l) => l.startsWith("ha-vip:"));
  } catch {
    return undefined;
  }
}

async function withReleases(
  fn: (rel: TestReleases, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ha-vip-installer-" });
  const rel = await startTestReleases(dir);
  console.log(`installer tests: the v${V.first} binary is ${rel.binaryKind}`);
  try {
    await fn(rel, dir);
  } finally {
    await rel.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "install.sh on a systemd host: install, idempotent re-run, upgrade, new flags, uninstall, purge",
  ignore,
  sanitizeResources: false,
  fn: () =>
    withReleases(async (rel, dir) => {
      const host = await newHost(dir, "systemd-host");
      const env = { HA_VIP_VERSION: V.first };

      // Fresh install.
      let r = await runInstaller(rel, host, FLAGS, { env, systemd: true });
      assert.equal(r.status, 0, r.err + r.out);
      assert.match(
        r.out,
        /verified ha-vip-0\.1\.0-linux-x86_64 against SHA256SUMS/,
      );
      const bin = host.upper("/usr/local/bin/ha-vip");
      const conf = host.upper("/etc/ha-vip/config.yaml");
      const unit = host.upper("/etc/systemd/system/ha-vip.service");
      const served = await Deno.readFile(
        `${rel.dir}/releases/v${V.first}/ha-vip-${V.first}-linux-x86_64`,
      );
      assert.deepEqual(await Deno.readFile(bin), served);
      assert.equal(mode(bin), "755");
      // The unit and the configuration are the binary's own output.
      assert.equal(
        await text(unit),
        await manifest(rel, ["systemd", ...FLAGS]),
      );
      assert.equal(await text(conf), await manifest(rel, ["config", ...FLAGS]));
      const user = userLine(host);
      assert.ok(user, "the ha-vip user was created");
      const [, , uid, gid, , , shell] = user!.split(":");
      assert.match(shell, /nologin/);
      assert.equal(mode(conf), "640");
      assert.equal(owner(conf), `0:${gid}`);
      assert.equal(mode(host.upper("/etc/ha-vip")), "750");
      assert.ok(Number(uid) > 0 && Number(uid) < 1000, `system uid ${uid}`);
      assert.deepEqual(await host.systemctlCalls(), [
        "daemon-reload",
        "enable --now ha-vip.service",
      ]);
      // The installed unit passes systemd's own check on the installed paths.
      const verify = await runOnHost(host, [
        "systemd-analyze",
        "verify",
        "/etc/systemd/system/ha-vip.service",
      ]);
      assert.equal(verify.status, 0, verify.err);
      assert.ok(
        await Deno.stat(host.upper("/usr/local/bin/ha-vip-uninstall.sh")),
      );

      // Same version, same flags: nothing changes, nothing restarts.
      const before = await snapshot(host);
      r = await runInstaller(rel, host, FLAGS, { env, systemd: true });
      assert.equal(r.status, 0, r.err);
      assert.match(
        r.out,
        /already installed with this configuration; nothing changed/,
      );
      assert.deepEqual(await snapshot(host), before);
      assert.deepEqual((await host.systemctlCalls()).slice(2), [
        "is-active --quiet ha-vip.service",
      ]);

      // A new version (the latest: no HA_VIP_VERSION): replaced atomically, restarted.
      r = await runInstaller(rel, host, FLAGS, { systemd: true });
      assert.equal(r.status, 0, r.err);
      assert.match(r.out, /downloading ha-vip 0\.1\.1/);
      assert.match(
        r.out,
        /restarting ha-vip\.service: the old process hands the VIP over/,
      );
      assert.match(await text(bin), /v0\.1\.1/);
      assert.deepEqual((await host.systemctlCalls()).slice(3), [
        "daemon-reload",
        "is-active --quiet ha-vip.service",
        "enable ha-vip.service",
        "restart ha-vip.service",
      ]);

      // New flags, same version: the configuration changes, the service restarts.
      const flags2 = [
        ...FLAGS.slice(0, 5),
        "100",
        "--token",
        "s3cret-token-value",
      ];
      r = await runInstaller(rel, host, flags2, {
        env: { HA_VIP_VERSION: V.second },
        systemd: true,
      });
      assert.equal(r.status, 0, r.err);
      assert.ok(
        !(r.out + r.err).includes("s3cret-token-value"),
        "the token is never printed",
      );
      const token = host.upper("/etc/ha-vip/token");
      assert.equal(await text(token), "s3cret-token-value");
      assert.equal(mode(token), "640");
      assert.equal(owner(token), `0:${gid}`);
      const conf2 = await text(conf);
      assert.match(conf2, /token_file: \/etc\/ha-vip\/token/);
      assert.match(conf2, /priority: 100/);
      assert.ok(!conf2.includes("s3cret"));
      assert.equal(
        (await host.systemctlCalls()).at(-1),
        "restart ha-vip.service",
      );

      // Uninstall with the installed script: stopped (handing over), files gone, config kept.
      r = await runInstaller(rel, host, [], {
        systemd: true,
        script: host.upper("/usr/local/bin/ha-vip-uninstall.sh"),
      });
      assert.equal(r.status, 0, r.err);
      assert.ok(
        (await host.systemctlCalls()).includes("disable --now ha-vip.service"),
      );
      const gone = await runOnHost(host, [
        "sh",
        "-c",
        "ls /usr/local/bin/ha-vip /etc/systemd/system/ha-vip.service /usr/local/bin/ha-vip-uninstall.sh 2>&1; ls /etc/ha-vip",
      ]);
      assert.match(gone.out, /'\/usr\/local\/bin\/ha-vip': No such file/);
      assert.match(gone.out, /ha-vip\.service': No such file/);
      assert.match(gone.out, /ha-vip-uninstall\.sh': No such file/);
      assert.match(gone.out, /config\.yaml/);

      // install.sh --uninstall --purge: the configuration and the user go too.
      r = await runInstaller(rel, host, ["--uninstall", "--purge"], {
        systemd: true,
      });
      assert.equal(r.status, 0, r.err);
      const purged = await runOnHost(host, [
        "sh",
        "-c",
        "ls -d /etc/ha-vip 2>&1; id ha-vip 2>&1 || true",
      ]);
      assert.match(purged.out, /'\/etc\/ha-vip': No such file/);
      assert.match(purged.out, /no such user/);
    }),
});

async function snapshot(host: Host): Promise<string[]> {
  const out = [];
  for (const p of await host.changes()) {
    const s = await Deno.lstat(host.upper("/" + p));
    out.push(`${p} ${s.mtime?.getTime()} ${s.mode} ${s.size}`);
  }
  return out;
}

Deno.test({
  name:
    "install.sh refuses, changing nothing: tampered checksum, missing architecture, unknown architecture, server down, bad flags, lease mode, http",
  ignore,
  sanitizeResources: false,
  fn: () =>
    withReleases(async (rel, dir) => {
      const cases: {
        name: string;
        args?: string[];
        env?: Record<string, string>;
        machine?: string;
        status: number;
        message: RegExp;
      }[] = [
        {
          name: "tampered",
          env: { HA_VIP_VERSION: V.tampered },
          status: 1,
          message:
            /checksum mismatch for ha-vip-0\.1\.2-linux-x86_64: SHA256SUMS says [0-9a-f]{64}, the file is [0-9a-f]{64}; nothing was installed/,
        },
        {
          name: "missing-arch",
          env: { HA_VIP_VERSION: V.first },
          machine: "aarch64",
          status: 1,
          message: /release 0\.1\.0 has no build for aarch64/,
        },
        {
          name: "unknown-arch",
          env: { HA_VIP_VERSION: V.first },
          machine: "riscv64",
          status: 1,
          message:
            /no ha-vip build for the architecture riscv64; releases are for x86_64 and aarch64/,
        },
        {
          name: "server-down",
          env: { HA_VIP_VERSION: V.first, HA_VIP_INSTALL_URL: rel.downUrl },
          status: 1,
          message:
            /cannot download https:\/\/127\.0\.0\.1:\d+\/gh\/releases\/download\/v0\.1\.0\/SHA256SUMS/,
        },
        {
          name: "bad-flags",
          args: ["--vip", "192.168.1.100", "--interface", "eth0"],
          env: { HA_VIP_VERSION: V.first },
          status: 2,
          message:
            /vip: "192\.168\.1\.100" is not an address with a prefix length[\s\S]*'ha-vip check' refused the flags above; nothing was installed or changed/,
        },
        {
          name: "lease",
          args: [...FLAGS, "--mode", "lease", "--lease-duration", "3s"],
          env: { HA_VIP_VERSION: V.first },
          status: 2,
          message:
            /election\.lease\.duration: 3s gives the VIP a fenced lifetime of only 1s/,
        },
        {
          name: "token-and-token-file",
          args: [...FLAGS, "--token", "x", "--token-file", "/etc/ha-vip/token"],
          env: { HA_VIP_VERSION: V.first },
          status: 2,
          message: /--token and --token-file: give only one/,
        },
        {
          name: "http",
          env: {
            HA_VIP_VERSION: V.first,
            HA_VIP_INSTALL_URL: rel.baseUrl.replace("https:", "http:"),
          },
          status: 2,
          message: /HA_VIP_INSTALL_URL must be an https:\/\/ URL/,
        },
        {
          name: "dry-run",
          args: [...FLAGS, "--dry-run"],
          env: { HA_VIP_VERSION: V.first },
          status: 0,
          message:
            /dry run: would change: binary config unit uninstall-script user/,
        },
      ];
      for (const c of cases) {
        const host = await newHost(dir, c.name);
        const r = await runInstaller(rel, host, c.args ?? FLAGS, {
          env: c.env,
          machine: c.machine,
          systemd: true,
        });
        assert.equal(r.status, c.status, `${c.name}: ${r.out}${r.err}`);
        assert.match(r.out + r.err, c.message, c.name);
        assert.deepEqual(
          await host.changes(),
          [],
          `${c.name} changed the host`,
        );
        assert.deepEqual(
          (await host.systemctlCalls()).filter((l) => !l.startsWith("is-")),
          [],
          c.name,
        );
      }
    }),
});

Deno.test({
  name:
    "install.sh without systemd, with wget only, and air-gapped from a copied release folder",
  ignore,
  sanitizeResources: false,
  fn: () =>
    withReleases(async (rel, dir) => {
      // wget instead of curl, no systemd: installed, not started, told how.
      const host = await newHost(dir, "no-systemd");
      let r = await runInstaller(rel, host, FLAGS, {
        env: { HA_VIP_VERSION: V.first },
        withoutCurl: true,
      });
      assert.equal(r.status, 0, r.err + r.out);
      assert.match(
        r.out,
        /systemd is not running on this host, so nothing was started/,
      );
      assert.match(
        r.out,
        /\/usr\/local\/bin\/ha-vip run --config \/etc\/ha-vip\/config\.yaml/,
      );
      assert.deepEqual(await host.systemctlCalls(), []);
      assert.equal(
        await text(host.upper("/etc/systemd/system/ha-vip.service")),
        await manifest(rel, ["systemd", ...FLAGS]),
      );
      // wget also finds the latest release through the releases/latest redirect.
      r = await runInstaller(rel, host, [...FLAGS, "--dry-run"], {
        withoutCurl: true,
      });
      assert.equal(r.status, 0, r.err + r.out);
      assert.match(r.out, /downloading ha-vip 0\.1\.1/);

      // The binary already in place: only the configuration changes.
      const bin = await Deno.readFile(host.upper("/usr/local/bin/ha-vip"));
      r = await runInstaller(rel, host, [...FLAGS.slice(0, 5), "100"], {
        env: {
          HA_VIP_INSTALL_SKIP_DOWNLOAD: "true",
          HA_VIP_INSTALL_URL: rel.downUrl,
        },
      });
      assert.equal(r.status, 0, r.err + r.out);
      assert.match(
        r.out,
        /using the binary already at \/usr\/local\/bin\/ha-vip/,
      );
      assert.deepEqual(
        await Deno.readFile(host.upper("/usr/local/bin/ha-vip")),
        bin,
      );
      assert.match(
        await text(host.upper("/etc/ha-vip/config.yaml")),
        /priority: 100/,
      );

      // Air-gapped: the release folder copied to the host, the server down.
      const gapped = await newHost(dir, "air-gapped");
      const artifact =
        `${rel.dir}/releases/v${V.first}/ha-vip-${V.first}-linux-x86_64`;
      r = await runInstaller(rel, gapped, FLAGS, {
        env: {
          HA_VIP_INSTALL_ARTIFACT: artifact,
          HA_VIP_INSTALL_URL: rel.downUrl,
        },
      });
      assert.equal(r.status, 0, r.err + r.out);
      assert.match(
        r.out,
        /verified ha-vip-0\.1\.0-linux-x86_64 against SHA256SUMS/,
      );
      assert.ok(await Deno.stat(gapped.upper("/usr/local/bin/ha-vip")));

      // A tampered artifact is refused the same way.
      const tampered = await newHost(dir, "air-gapped-tampered");
      r = await runInstaller(rel, tampered, FLAGS, {
        env: {
          HA_VIP_INSTALL_ARTIFACT:
            `${rel.dir}/releases/v${V.tampered}/ha-vip-${V.tampered}-linux-x86_64`,
        },
      });
      assert.equal(r.status, 1);
      assert.match(r.err, /checksum mismatch/);
      assert.deepEqual(await tampered.changes(), []);
    }),
});
