/**
 * Signals a running daemon gets from operators and init systems (issue 7,
 * items 6 and 7), with real `ha-vip run` processes in a namespace:
 *
 * - SIGUSR1 logs a state dump of the typed /status document
 *   (keepalived's convention; the mechanism is lib/harden's, tested in
 *   tests/harden) and never opens a debugger port;
 * - SIGHUP re-reads the configuration file: what can change live is
 *   applied and logged, what cannot is named (restart needed) and the
 *   daemon keeps running; a bad file changes nothing; values set by flags
 *   keep beating the file;
 * - SIGUSR2 is ignored (logged), never fatal.
 *
 * Needs root; skips with one line otherwise.
 */
import assert from "node:assert/strict";
import {
  addVeth,
  hasAddress,
  type HaVipProcess,
  ip,
  skipUnlessRoot,
  sleep,
  startHaVip,
  statusIn,
  waitFor,
  withNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("daemon signal tests");

const VIP = "10.64.0.100";
const PORT = 9480;
/** Deno's inspector-on-SIGUSR1 acts 500 ms after start at the earliest. */
const INSPECTOR_GRACE_MS = 500;

function config(o: {
  vip?: string;
  priority: number;
  logLevel?: string;
  extra?: string;
}): string {
  return `vip: ${o.vip ?? `${VIP}/24`}
interface: eth0
election:
  vrrp:
    priority: ${o.priority}
    advert_interval: 100ms
k8s:
  enabled: false
observe:
  log_level: ${o.logLevel ?? "info"}
  metrics_address: 127.0.0.1:${PORT}
${o.extra ?? ""}`;
}

/** A namespace with eth0 (10.64.0.1/24, carrier up) and a config dir. */
function withNode(
  fn: (ns: string, dir: string) => Promise<void>,
): Promise<void> {
  return withNetns(2, async ([ns, peer]) => {
    await addVeth({ ns, name: "eth0" }, { ns: peer, name: "eth0" });
    await ip("-n", ns, "addr", "add", "10.64.0.1/24", "dev", "eth0");
    const dir = await Deno.makeTempDir({ prefix: "ha-vip-signals-" });
    try {
      await fn(ns, dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

async function masterWithStatus(ns: string, d: HaVipProcess): Promise<void> {
  await waitFor(
    "master with the VIP",
    10_000,
    () => hasAddress(ns, "eth0", VIP),
    d.log,
  );
  await waitFor(
    "status endpoint",
    5_000,
    () => d.log().includes("serving /metrics"),
    d.log,
  );
}

async function priorityIn(ns: string): Promise<unknown> {
  const st = await statusIn(ns, PORT) as {
    election?: { priority?: unknown };
  };
  return st.election?.priority;
}

/** TCP ports listening inside `ns` (from its /proc/net/tcp and tcp6). */
async function listeningPorts(ns: string): Promise<number[]> {
  const ports: number[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await ip("netns", "exec", ns, "cat", file);
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 3 && f[3] === "0A") {
        ports.push(parseInt(f[1].split(":").pop()!, 16));
      }
    }
  }
  return ports;
}

/** Output lines from index `from` on. */
function since(d: HaVipProcess, from: number): string {
  return d.lines().slice(from).map((l) => l.line).join("\n");
}

Deno.test({
  name:
    "signals: SIGUSR1 logs the typed /status document (the kernel's view included) and opens no debugger port",
  ignore,
  fn: () =>
    withNode(async (ns, dir) => {
      const file = `${dir}/config.yaml`;
      await Deno.writeTextFile(file, config({ priority: 100 }));
      const d = startHaVip(ns, ["run", "--config", file]);
      try {
        await masterWithStatus(ns, d);
        await sleep(INSPECTOR_GRACE_MS + 500);
        const mark = d.lines().length;
        d.kill("SIGUSR1");
        // Give whatever the signal might open its chance.
        await sleep(1000);
        const ports = await listeningPorts(ns);
        assert.deepEqual(
          ports.filter((p) => p !== PORT),
          [],
          `SIGUSR1 opened a listening port (9229 is V8's inspector)\n${d.log()}`,
        );
        await waitFor("the state dump", 5_000, () =>
          /state dump \(SIGUSR1\)/.test(since(d, mark)), d.log);
        // One line, the /status document flattened: what the kernel has,
        // what the election says, and why not when not eligible.
        const dump = d.lines().slice(mark).map((l) =>
          l.line
        ).find((l) =>
          /state dump \(SIGUSR1\)/.test(l)
        )!;
        for (
          const field of [
            "vip=10.64.0.100/24",
            "holding=true",
            "vip_on_interface=true",
            "election.state=master",
            "election.priority=100",
            "election.eligible=true",
          ]
        ) {
          assert.ok(dump.includes(field), `${field} in: ${dump}`);
        }
        assert.ok(!d.exited(), "SIGUSR1 ended the daemon");
        assert.ok(await hasAddress(ns, "eth0", VIP));
      } finally {
        await d.stop();
      }
    }),
});

Deno.test({
  name:
    "signals: SIGHUP applies live changes, names what needs a restart, keeps the old config on a bad file; SIGUSR2 is ignored",
  ignore,
  fn: () =>
    withNode(async (ns, dir) => {
      const file = `${dir}/config.yaml`;
      await Deno.writeTextFile(file, config({ priority: 100 }));
      const d = startHaVip(ns, ["run", "--config", file]);
      const hup = async (what: RegExp): Promise<string> => {
        const mark = d.lines().length;
        d.kill("SIGHUP");
        await waitFor(`SIGHUP: ${what}`, 5_000, () =>
          what.test(since(d, mark)), d.log);
        return since(d, mark);
      };
      try {
        await masterWithStatus(ns, d);

        // Live: priority and log level.
        await Deno.writeTextFile(
          file,
          config({ priority: 150, logLevel: "debug" }),
        );
        let out = await hup(/SIGHUP.*configuration/);
        assert.match(out, /election\.vrrp\.priority: 100 -> 150/);
        assert.match(out, /observe\.log_level: info -> debug/);
        assert.equal(await priorityIn(ns), 150);

        // Not live: the VIP. Said so; the rest still applies.
        await Deno.writeTextFile(
          file,
          config({ vip: "10.64.0.200/24", priority: 160, logLevel: "debug" }),
        );
        out = await hup(/SIGHUP.*configuration/);
        assert.match(out, /vip: .*restart/);
        assert.equal(await priorityIn(ns), 160);
        assert.ok(await hasAddress(ns, "eth0", VIP), "the old VIP is kept");
        assert.equal(await hasAddress(ns, "eth0", "10.64.0.200"), false);

        // Bad: nothing of it applies, the errors are named.
        await Deno.writeTextFile(
          file,
          config({
            priority: 170,
            extra: "health:\n  interval: 2\n",
          }),
        );
        out = await hup(/health\.interval/);
        assert.match(out, /ERROR/);
        assert.equal(await priorityIn(ns), 160, "a bad file half-applied");

        // SIGUSR2: ignored, said so.
        const mark = d.lines().length;
        d.kill("SIGUSR2");
        await waitFor("SIGUSR2 logged", 5_000, () =>
          /SIGUSR2.*ignored/.test(since(d, mark)), d.log);

        assert.ok(!d.exited(), `a signal ended the daemon\n${d.log()}`);
        assert.ok(await hasAddress(ns, "eth0", VIP));
        // And a clean handover still ends it.
        d.kill("SIGTERM");
        assert.equal((await d.done).code, 0, d.log());
      } finally {
        await d.stop();
      }
    }),
});

Deno.test({
  name:
    "signals: on SIGHUP flags still beat the file; without --config there is nothing to re-read",
  ignore,
  fn: () =>
    withNode(async (ns, dir) => {
      const file = `${dir}/config.yaml`;
      await Deno.writeTextFile(file, config({ priority: 100 }));
      let d = startHaVip(ns, ["run", "--config", file, "--priority", "120"]);
      try {
        await masterWithStatus(ns, d);
        assert.equal(await priorityIn(ns), 120);
        await Deno.writeTextFile(file, config({ priority: 150 }));
        const mark = d.lines().length;
        d.kill("SIGHUP");
        await waitFor("the reload", 5_000, () =>
          /SIGHUP.*configuration/.test(since(d, mark)), d.log);
        assert.equal(await priorityIn(ns), 120, "the flag lost to the file");
      } finally {
        await d.stop();
      }

      d = startHaVip(ns, [
        "run",
        "--vip",
        `${VIP}/24`,
        "--interface",
        "eth0",
        "--no-k8s",
        "--advert-interval",
        "100ms",
        "--metrics-address",
        `127.0.0.1:${PORT}`,
      ]);
      try {
        await masterWithStatus(ns, d);
        const mark = d.lines().length;
        d.kill("SIGHUP");
        await waitFor("SIGHUP answered", 5_000, () =>
          /SIGHUP.*no configuration file/.test(since(d, mark)), d.log);
        assert.ok(!d.exited(), d.log());
      } finally {
        await d.stop();
      }
    }),
});
