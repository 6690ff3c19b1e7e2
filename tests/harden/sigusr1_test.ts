/**
 * SIGUSR1 to a running `ha-vip run` (in a namespace): a state dump in the
 * log, never a debugger port (Deno would open 127.0.0.1:9229), the process
 * still running; and the daemon is non-dumpable and cannot open new
 * listening sockets. Once as `deno run main.ts` (root), once as the
 * `deno bundle` output run by an unprivileged user with ambient
 * CAP_NET_ADMIN/CAP_NET_RAW, as a hardened systemd unit would.
 */
import assert from "node:assert/strict";
import { waitUntil } from "../../lab/mod.ts";
import {
  addVeth,
  bundleMain,
  ip,
  run,
  skipUnlessRoot,
  type Spawned,
  spawnInNetns,
  withNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("SIGUSR1 / process hardening tests");
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const AGENT = new URL("./_listen_filter_agent.ts", import.meta.url).pathname;
/**
 * Deno arms its SIGUSR1 debugger trigger 500 ms after its worker starts;
 * this long after the program's first output line, it surely has.
 */
const ARMED_AFTER_MS = 1_000;
const NOBODY = 65534;

async function stop(p: Spawned): Promise<void> {
  try {
    p.child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await p.done;
}

/** The TCP listeners of `ns`, as `ss` prints them. */
async function listeners(ns: string): Promise<string> {
  return await run("ip", ["netns", "exec", ns, "ss", "-Hltn"]);
}

/** Field `name` of /proc/PID/status. */
async function procStatus(pid: number, name: string): Promise<string> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  return new RegExp(`^${name}:\\s*(.*)$`, "m").exec(text)?.[1] ?? "";
}

function running(pid: number): Promise<boolean> {
  return procStatus(pid, "State").then((s) => !/^[ZX]/.test(s), () => false);
}

const dumps = (p: Spawned) =>
  p.output().split("\n").filter((l) => l.includes("state dump (SIGUSR1)"));

/**
 * Waits until SIGUSR1 is caught (SigCgt: ha-vip's handler, or the runtime's
 * armed debugger trigger; before that, SIGUSR1 would simply kill) and
 * {@link ARMED_AFTER_MS} have passed since `readyAt`.
 */
async function whenArmed(p: Spawned, readyAt: number): Promise<void> {
  await waitUntil(
    async () =>
      Date.now() >= readyAt + ARMED_AFTER_MS &&
      (BigInt(`0x${await procStatus(p.child.pid, "SigCgt")}`) & (1n << 9n)) !==
        0n,
    20_000,
    () => `SIGUSR1 is never caught\n${p.output()}`,
    50,
  );
}

/** Sends SIGUSR1 and waits for dump number `n`. */
async function dumpOnSignal(p: Spawned, n: number): Promise<string> {
  p.child.kill("SIGUSR1");
  await waitUntil(
    () => dumps(p).length >= n,
    10_000,
    () => `no state dump #${n} after SIGUSR1\n--- output ---\n${p.output()}`,
    50,
  );
  return dumps(p)[n - 1];
}

async function withNode(fn: (ns: string) => Promise<void>): Promise<void> {
  await withNetns(2, async ([ns, peer]) => {
    await addVeth({ ns, name: "eth0" }, { ns: peer, name: "eth0" });
    await ip("-n", ns, "addr", "add", "10.64.0.1/24", "dev", "eth0");
    await fn(ns);
  });
}

const RUN_FLAGS = [
  "run",
  "--vip",
  "10.64.0.100/24",
  "--interface",
  "eth0",
  "--no-k8s",
  "--advert-interval",
  "100ms",
  "--metrics-address",
  "127.0.0.1:9480",
];

/** Waits for the daemon's "running" line. */
function started(d: Spawned): Promise<number> {
  return waitUntil(
    () => d.output().includes("ha-vip running"),
    20_000,
    () => `daemon did not start\n${d.output()}`,
    50,
  );
}

/** The checks both shapes of the daemon must pass. */
async function assertSigusr1IsADump(ns: string, d: Spawned): Promise<void> {
  await started(d);
  await whenArmed(d, Date.now());
  const pid = d.child.pid;
  for (const n of [1, 2]) {
    const line = await dumpOnSignal(d, n);
    assert.match(line, /election\.state=\w+/, line);
    assert.match(line, /vip=10\.64\.0\.100\/24/, line);
    assert.match(
      line,
      /process\.sigusr1="state dump \(debugger trigger disabled\)"/,
    );
    assert.match(line, /process\.dumpable=false/, line);
    assert.match(line, /process\.listen_filter=true/, line);
    const ports = await listeners(ns);
    assert.ok(!ports.includes(":9229"), `a debugger listens:\n${ports}`);
    assert.match(ports, /127\.0\.0\.1:9480/, "the daemon's own listener");
    assert.ok(await running(pid), `the daemon ended:\n${d.output()}`);
  }
  assert.equal(await procStatus(pid, "NoNewPrivs"), "1");
  assert.equal(await procStatus(pid, "Seccomp"), "2", "a seccomp filter");
  assert.ok(!d.output().includes("Debugger listening"), d.output());
  // Still a normal daemon: SIGTERM hands over and exits 0.
  d.child.kill("SIGTERM");
  const status = await d.done;
  assert.equal(status.code, 0, d.output());
}

Deno.test({
  name:
    "SIGUSR1 to ha-vip run logs a state dump and opens no debugger port; the daemon keeps running",
  ignore,
  fn: () =>
    withNode(async (ns) => {
      const d = spawnInNetns(ns, [
        Deno.execPath(),
        "run",
        "--allow-all",
        "--cached-only",
        MAIN,
        ...RUN_FLAGS,
      ]);
      try {
        await assertSigusr1IsADump(ns, d);
      } finally {
        await stop(d);
      }
    }),
});

// `deno compile` needs Deno's denort runtime, which cannot be downloaded
// everywhere: .ci/run runs this file again with HA_VIP_BIN naming the binary
// when DENORT_BIN let `deno task release` build it (as the release workflow
// runs every test against its binary).
const BINARY = Deno.env.get("HA_VIP_BIN");
if (!BINARY && !ignore) {
  console.log(
    "SKIP the compiled-binary SIGUSR1 test: HA_VIP_BIN is not set (.ci/run sets it when DENORT_BIN is)",
  );
}

Deno.test({
  name:
    "the deno compile'd binary: SIGUSR1 is a dump, never a debugger port (HA_VIP_BIN)",
  ignore: ignore || !BINARY,
  fn: () =>
    withNode(async (ns) => {
      const d = spawnInNetns(ns, [BINARY!, ...RUN_FLAGS]);
      try {
        await assertSigusr1IsADump(ns, d);
      } finally {
        await stop(d);
      }
    }),
});

Deno.test({
  name:
    "the bundled daemon as an unprivileged user with ambient caps: SIGUSR1 is a dump, /proc/PID is root's (not dumpable)",
  ignore,
  fn: async () => {
    const bundle = await bundleMain();
    const home = await Deno.makeTempDir({ prefix: "ha-vip-nobody-" });
    try {
      await Deno.chmod(home, 0o777);
      await withNode(async (ns) => {
        const d = spawnInNetns(ns, [
          "setpriv",
          `--reuid=${NOBODY}`,
          `--regid=${NOBODY}`,
          "--clear-groups",
          "--inh-caps=+net_admin,+net_raw",
          "--ambient-caps=+net_admin,+net_raw",
          "env",
          "-i",
          `HOME=${home}`,
          `DENO_DIR=${home}/deno`,
          Deno.execPath(),
          "run",
          "--allow-all",
          bundle,
          ...RUN_FLAGS,
        ]);
        try {
          await started(d);
          const pid = d.child.pid;
          assert.match(await procStatus(pid, "Uid"), /^65534\s/);
          // A dumpable process's /proc/PID belongs to its own user; the
          // kernel gives a non-dumpable one's to root.
          const info = await Deno.stat(`/proc/${pid}/status`);
          assert.equal(info.uid, 0, "/proc/PID is root's: not dumpable");
          await assertSigusr1IsADump(ns, d);
        } finally {
          await stop(d);
        }
      });
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "defence in depth: with listen() filtered, a debugger the runtime starts anyway cannot listen",
  ignore,
  fn: () =>
    withNetns(1, async ([ns]) => {
      // The agent filters listen() but leaves SIGUSR1 to the runtime.
      const a = spawnInNetns(ns, [
        Deno.execPath(),
        "run",
        "--allow-all",
        "--cached-only",
        AGENT,
      ]);
      try {
        await waitUntil(
          () => a.output().includes("listen filtered"),
          20_000,
          () => `agent did not start\n${a.output()}`,
          50,
        );
        await whenArmed(a, Date.now());
        a.child.kill("SIGUSR1");
        // The runtime says it tried: positive evidence, not a wait.
        await waitUntil(
          () => a.output().includes("Failed to start inspector server"),
          10_000,
          () => `no failed inspector start\n${a.output()}`,
          50,
        );
        const ports = await listeners(ns);
        assert.ok(!ports.includes(":9229"), `a debugger listens:\n${ports}`);
        assert.ok(await running(a.child.pid), a.output());
      } finally {
        await stop(a);
      }
    }),
});
