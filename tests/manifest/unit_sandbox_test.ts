/**
 * Can ha-vip still do its job inside the hardened unit? No systemd runs
 * here, so the test rebuilds what the unit gives the process and watches
 * what the process asks of the kernel:
 *
 * - identity and capabilities: a non-root user with CAP_NET_ADMIN and
 *   CAP_NET_RAW as ambient capabilities (AmbientCapabilities=), nothing
 *   else in the bounding set, no_new_privs (setpriv does what systemd does);
 * - the job: in a network namespace, with health checks against a
 *   simulated API server over TLS verified with a CA file, it takes the VIP
 *   (netlink, raw VRRP and ARP sockets) and hands it back on SIGTERM;
 * - the filters, checked on an strace of the whole run: every system call
 *   is in the unit's SystemCallFilter= allow list (expanded from
 *   `systemd-analyze syscall-filter`) and none in its deny list; every
 *   socket family is in RestrictAddressFamilies=; it opens nothing in /proc
 *   beyond its own process if the unit sets ProcSubset=pid, and writes
 *   only where it may.
 *
 * The container's way, file capabilities on the binary for a non-root
 * user, is checked too, with no_new_privs (allowPrivilegeEscalation: false)
 * as runc sets it up: the added capabilities in the bounding and permitted
 * sets before the exec.
 *
 * What this cannot show: systemd's own mount namespace (ProtectSystem=
 * and friends) and the compiled binary (no denort here: `deno run` of the
 * release bundle is the same runtime, plus a module cache that the
 * compiled binary does not write).
 */
import assert from "node:assert/strict";
import {
  runCli,
  skipUnlessInstalled,
  skipUnlessRoot,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("unit sandbox tests") ||
  skipUnlessInstalled("unit sandbox tests", [
    "strace",
    "setpriv",
    "setcap",
    "systemd-analyze",
  ]);

const UID = 64123; // no such user: a bare uid, as DynamicUser= would use
const dec = new TextDecoder();

async function sh(cmd: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(r.stderr)}`);
  }
  return dec.decode(r.stdout);
}

/** The program as released (the bundle), readable by the test's user. */
async function bundleInto(work: string): Promise<void> {
  await sh(Deno.execPath(), [
    "bundle",
    "--quiet",
    "-o",
    `${work}/ha-vip.js`,
    new URL("../../main.ts", import.meta.url).pathname,
  ]);
  await Deno.chmod(`${work}/ha-vip.js`, 0o644);
}

/** Namespace `ns` with loopback up and a veth pair d0/d1 up, d0 holding `cidr`. */
async function namespaceWithLink(ns: string, cidr: string): Promise<void> {
  await sh("ip", ["netns", "add", ns]);
  for (
    const args of [
      ["link", "set", "lo", "up"],
      ["link", "add", "d0", "type", "veth", "peer", "name", "d1"],
      ["addr", "add", cidr, "dev", "d0"],
      ["link", "set", "d0", "up"],
      ["link", "set", "d1", "up"],
    ]
  ) {
    await sh("ip", ["-n", ns, ...args]);
  }
}

/** The unit's settings: name -> values (repeated keys in order). */
async function unitSettings(): Promise<Map<string, string[]>> {
  const r = await runCli([
    "manifest",
    "systemd",
    "--vip",
    "10.0.0.1/24",
    "--interface",
    "eth0",
  ]);
  const out = new Map<string, string[]>();
  for (const line of r.out.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

/** `systemd-analyze syscall-filter`, groups expanded to system calls. */
async function syscallGroups(): Promise<(name: string) => Set<string>> {
  const text = await sh("systemd-analyze", ["syscall-filter", "--no-pager"]);
  const groups = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("@")) {
      current = [];
      groups.set(line.trim(), current);
    } else if (current && /^\s+[@a-z0-9_-]+$/.test(line)) {
      current.push(line.trim());
    }
  }
  const expand = (name: string): Set<string> => {
    if (!name.startsWith("@")) return new Set([name]);
    const out = new Set<string>();
    for (const m of groups.get(name) ?? []) {
      for (const s of expand(m)) out.add(s);
    }
    return out;
  };
  return expand;
}

interface Trace {
  syscalls: Set<string>;
  families: Set<string>;
  opened: { path: string; flags: string }[];
  changed: string[];
}

/** `chrt --rr N` when the unit sets CPUSchedulingPolicy=rr, else nothing. */
function realtime(unit: Map<string, string[]>): string[] {
  if (unit.get("CPUSchedulingPolicy")?.at(-1) !== "rr") return [];
  return ["chrt", "--rr", unit.get("CPUSchedulingPriority")?.at(-1) ?? "1"];
}

/** The trace from the execve of `program` on (what runs before is setpriv's). */
function parseTrace(text: string, program: string): Trace {
  const syscalls = new Set<string>();
  const families = new Set<string>();
  const opened: Trace["opened"] = [];
  const changed: string[] = [];
  const lines = text.split("\n");
  const start = lines.findIndex((l) =>
    l.includes(`execve("${program}",`) && / = 0$/.test(l)
  );
  assert.ok(start >= 0, `no execve of ${program} in the trace`);
  for (const line of lines.slice(start + 1)) {
    const call = /^\d+\s+([a-z0-9_]+)\(/.exec(line) ??
      /^\d+\s+<\.\.\. ([a-z0-9_]+) resumed>/.exec(line);
    if (call) syscalls.add(call[1]);
    const fam = /\bsocket\((AF_[A-Z0-9]+)/.exec(line);
    if (fam) families.add(fam[1]);
    const open = /\bopenat\(AT_FDCWD, "([^"]*)", ([A-Z_|]+)/.exec(line);
    if (open) opened.push({ path: open[1], flags: open[2] });
    const write = /\b(mkdir|unlink|rename|rmdir)\("([^"]*)"/.exec(line);
    if (write) changed.push(write[2]);
  }
  return { syscalls, families, opened, changed };
}

Deno.test({
  name:
    "the daemon holds and hands over the VIP as a non-root user with ambient NET_ADMIN/NET_RAW, within the unit's syscall, socket and file limits",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const unit = await unitSettings();
    const work = await Deno.makeTempDir({ prefix: "ha-vip-sandbox-" });
    const ns = `hvs${Deno.pid}`;
    let api: Deno.ChildProcess | undefined;
    let daemon: Deno.ChildProcess | undefined;
    try {
      await Deno.chmod(work, 0o755);
      await bundleInto(work);
      for (const d of ["deno", "trace", "run"]) {
        await Deno.mkdir(`${work}/${d}`);
        await Deno.chown(`${work}/${d}`, UID, UID);
      }
      // What RuntimeDirectory=ha-vip gives the unit: /run/ha-vip, its own.
      await Deno.chmod(`${work}/run`, 0o750);
      await Deno.mkdir(`${work}/pki`, { mode: 0o755 });

      await namespaceWithLink(ns, "10.77.0.1/24");

      // The node's API server (root, not under test), with a kubeadm PKI.
      api = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          ns,
          Deno.execPath(),
          "run",
          "-A",
          "--cached-only",
          new URL("../../testing/api_server_main.ts", import.meta.url).pathname,
          "--port",
          "6443",
          "--cert-dir",
          `${work}/pki`,
          "--control-port",
          "-1",
        ],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = api.stdout.pipeThrough(new TextDecoderStream())
        .getReader();
      let first = "";
      while (!first.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the simulated API server did not start");
        first += value;
      }
      assert.match(first, /"event":"listening"/);
      reader.releaseLock();
      api.stdout.cancel().catch(() => {});
      await Deno.chmod(`${work}/pki/ca.crt`, 0o644);

      // The unit's process, as systemd would make it, under strace.
      const caps = "-all,+net_admin,+net_raw";
      daemon = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          ns,
          // strace as root, outside setpriv: ha-vip makes itself
          // non-dumpable, and a tracer of its own uid without
          // CAP_SYS_PTRACE then cannot read its memory (the paths opened).
          // Only what comes after setpriv's execve of Deno is ha-vip's.
          "strace",
          "-f",
          "-qq",
          "-o",
          `${work}/trace/trace.txt`,
          // CPUSchedulingPolicy=rr / CPUSchedulingPriority=: systemd sets
          // them as root before it drops the capabilities.
          ...realtime(unit),
          "setpriv",
          `--reuid=${UID}`,
          `--regid=${UID}`,
          "--clear-groups",
          `--inh-caps=${caps}`,
          `--ambient-caps=${caps}`,
          `--bounding-set=${caps}`,
          "--no-new-privs",
          Deno.execPath(),
          "run",
          "-A",
          "--no-config",
          "--quiet",
          `${work}/ha-vip.js`,
          "run",
          "--vip",
          "10.77.0.100/24",
          "--interface",
          "d0",
          "--advert-interval",
          "200ms",
          "--stability-window",
          "0s",
          "--ca-cert",
          `${work}/pki/ca.crt`,
          "--metrics-address",
          "127.0.0.1:9480",
          "--control-socket",
          `${work}/run/control.sock`,
        ],
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin", DENO_DIR: `${work}/deno` },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const log: string[] = [];
      const pump = (async () => {
        const lines = daemon!.stderr.pipeThrough(new TextDecoderStream());
        for await (const chunk of lines) log.push(chunk);
      })();
      daemon.stdout.cancel().catch(() => {});

      // The VIP comes up: health ready over verified TLS, VRRP master.
      const held = async () =>
        (await sh("ip", ["-n", ns, "-br", "addr", "show", "d0"])).includes(
          "10.77.0.100/24",
        );
      let exited = false;
      daemon.status.then(() => exited = true);
      const deadline = Date.now() + 30_000;
      while (!(await held())) {
        if (exited || Date.now() > deadline) {
          throw new Error(`the VIP never came up:\n${log.join("")}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      // SIGTERM to ha-vip itself (strace's child), then it hands over and exits.
      const straced = (await sh("pgrep", ["-P", String(daemon.pid)])).trim();
      assert.match(straced, /^\d+$/);
      Deno.kill(Number(straced), "SIGTERM");
      const status = await daemon.status;
      await pump;
      daemon = undefined;
      const text = log.join("");
      assert.equal(status.code, 0, text);
      assert.ok(!(await held()), "the VIP is removed on shutdown");
      assert.match(text, /health ready|ready/i);
      assert.match(text, /VIP added/);
      assert.match(text, /VIP removed/);
      assert.doesNotMatch(text, /EPERM|not permitted/i);

      const trace = parseTrace(
        await Deno.readTextFile(`${work}/trace/trace.txt`),
        Deno.execPath(),
      );
      const expand = await syscallGroups();
      const allowed = new Set<string>();
      const denied = new Set<string>();
      for (const v of unit.get("SystemCallFilter") ?? []) {
        const deny = v.startsWith("~");
        for (const name of v.replace(/^~/, "").split(/\s+/)) {
          for (const s of expand(name)) (deny ? denied : allowed).add(s);
        }
      }
      assert.ok(allowed.has("socket") && denied.size > 0);
      const outside = [...trace.syscalls].filter((s) =>
        !allowed.has(s) || denied.has(s)
      );
      assert.deepEqual(outside, [], "system calls the unit's filter refuses");
      const families = new Set(
        (unit.get("RestrictAddressFamilies") ?? [""])[0].split(/\s+/),
      );
      assert.deepEqual(
        [...trace.families].filter((f) => !families.has(f)),
        [],
        "socket families outside RestrictAddressFamilies=",
      );
      for (const f of ["AF_NETLINK", "AF_PACKET", "AF_INET"]) {
        assert.ok(trace.families.has(f), `used ${f}`);
      }
      // With ProcSubset=pid only the process's own /proc entries exist.
      if ((unit.get("ProcSubset") ?? []).includes("pid")) {
        const proc = trace.opened.filter((o) =>
          o.path.startsWith("/proc/") &&
          !/^\/proc\/(self|thread-self|\d+)\//.test(o.path)
        );
        assert.deepEqual(proc, [], "/proc paths hidden by ProcSubset=pid");
      }
      // The CA was read; writes only in the module cache of `deno run` and
      // in the runtime directory (the control socket).
      assert.ok(trace.opened.some((o) => o.path === `${work}/pki/ca.crt`));
      const writes = [
        ...trace.opened.filter((o) => /O_WRONLY|O_RDWR|O_CREAT/.test(o.flags))
          .map((o) => o.path),
        ...trace.changed,
      ].filter((p) =>
        !p.startsWith(`${work}/deno/`) && p !== `${work}/deno` &&
        !p.startsWith(`${work}/run/`) && p !== "/dev/null"
      );
      assert.match(text, /control channel listening/);
      assert.deepEqual(writes, [], "writes outside the module cache");
    } finally {
      if (daemon) {
        try {
          daemon.kill("SIGKILL");
        } catch { /* gone */ }
        await daemon.status;
      }
      if (api) {
        try {
          api.kill("SIGTERM");
        } catch { /* gone */ }
        await api.status;
      }
      await sh("ip", ["netns", "del", ns]).catch(() => {});
      await Deno.remove(work, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "file capabilities give a non-root process NET_ADMIN, also under no_new_privs as runc sets it up; without them, EPERM",
  ignore,
  sanitizeResources: false,
  fn: async () => {
    const work = await Deno.makeTempDir({ prefix: "ha-vip-filecaps-" });
    const ns = `hvf${Deno.pid}`;
    try {
      await Deno.chmod(work, 0o755);
      await bundleInto(work);
      await Deno.mkdir(`${work}/deno`);
      await Deno.chown(`${work}/deno`, UID, UID);
      // The runtime with file capabilities, as the image's binary has them.
      await Deno.copyFile(Deno.execPath(), `${work}/deno-caps`);
      await Deno.chmod(`${work}/deno-caps`, 0o755);
      await sh("setcap", ["cap_net_admin,cap_net_raw=ep", `${work}/deno-caps`]);
      await namespaceWithLink(ns, "10.78.0.1/24");

      const vipAdd = async (runtime: string, extra: string[], vip: string) => {
        const r = await new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            ns,
            "setpriv",
            `--reuid=${UID}`,
            `--regid=${UID}`,
            "--clear-groups",
            // The container's bounding set: what `capabilities.add` allows.
            "--bounding-set=-all,+net_admin,+net_raw",
            "--inh-caps=-all",
            ...extra,
            runtime,
            "run",
            "-A",
            "--no-config",
            "--quiet",
            `${work}/ha-vip.js`,
            "vip",
            "add",
            "--vip",
            vip,
            "--interface",
            "d0",
            "--lifetime",
            "30s",
          ],
          clearEnv: true,
          env: { PATH: "/usr/bin:/bin", DENO_DIR: `${work}/deno` },
          stdout: "piped",
          stderr: "piped",
        }).output();
        return {
          code: r.code,
          text: dec.decode(r.stdout) + dec.decode(r.stderr),
        };
      };
      const ok = await vipAdd(`${work}/deno-caps`, [], "10.78.0.100/24");
      assert.equal(ok.code, 0, ok.text);
      assert.match(
        await sh("ip", ["-n", ns, "addr", "show", "d0"]),
        /10\.78\.0\.100\/24/,
      );
      // allowPrivilegeEscalation: false. setpriv, like runc, changes the uid
      // keeping the capabilities in the permitted set, then execs: the
      // kernel grants the file capabilities the process already had.
      const nnp = await vipAdd(
        `${work}/deno-caps`,
        ["--no-new-privs"],
        "10.78.0.102/24",
      );
      assert.equal(nnp.code, 0, nnp.text);
      // Without file capabilities the same user gets EPERM from the kernel.
      const plain = await vipAdd(Deno.execPath(), [], "10.78.0.101/24");
      assert.equal(plain.code, 1, plain.text);
      assert.match(plain.text, /EPERM/);
      assert.doesNotMatch(
        await sh("ip", ["-n", ns, "addr", "show", "d0"]),
        /10\.78\.0\.101/,
      );
    } finally {
      await sh("ip", ["netns", "del", ns]).catch(() => {});
      await Deno.remove(work, { recursive: true });
    }
  },
});
