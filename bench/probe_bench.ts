/**
 * What keeping the API connection alive saves: health probes against the
 * simulated API server (a separate process, real TLS with the kubeadm-shaped
 * test certificate), first with a fresh TCP + TLS connection per probe (the
 * client before keep-alive), then over one kept-alive connection (what the
 * daemon does now), alternating `--runs` times.
 *
 *     deno run -A bench/probe_bench.ts [--probes 400] [--runs 3] [--json]
 *
 * CPU is read from the scheduler (`/proc/PID/task/TID/schedstat`, ns, every
 * thread) for this process (the client) and for the server process, before
 * and after each batch of back-to-back probes, and divided by the number of
 * probes: CPU time per probe, not wall time. The server is Deno's (rustls),
 * not kube-apiserver (Go's crypto/tls), so its column shows the direction
 * and rough size of the server-side saving, not kube-apiserver's figure.
 * Wall time per probe is printed for reference only.
 *
 * Linux only; no root needed. Exit status 0, 1 when a probe was not ready,
 * 2 bad flags.
 *
 * @module
 */

import { Prober } from "../lib/health/mod.ts";
import { wholeNumberFlag } from "../lab/flags.ts";
import { parseSchedstatNs } from "../lab/resources.ts";

const USAGE = `usage: deno run -A bench/probe_bench.ts [flags]

  --probes N    probes per batch (default 400)
  --runs N      batches per mode, alternating (default 3)
  --json        print the results as JSON instead of the table`;

type Mode = "fresh connection per probe" | "kept-alive connection";

interface Batch {
  mode: Mode;
  probes: number;
  /** CPU of this process per probe, µs. */
  clientUs: number;
  /** CPU of the server process per probe, µs. */
  serverUs: number;
  /** Wall time per probe, ms (reference only). */
  wallMs: number;
  /** Probes that were not `ready`. */
  failures: number;
}

/**
 * ns on a CPU of every thread of `pid` (not its children), from
 * `/proc/PID/task/TID/schedstat`: cheap enough to read around a batch.
 */
async function cpuNs(pid: number): Promise<number> {
  let ns = 0;
  for await (const e of Deno.readDir(`/proc/${pid}/task`)) {
    try {
      const text = await Deno.readTextFile(
        `/proc/${pid}/task/${e.name}/schedstat`,
      );
      ns += parseSchedstatNs(text) ?? 0;
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns;
}

/** The standalone simulated API server; resolves once it listens. */
async function startServer(dir: string) {
  const script = new URL("../testing/api_server_main.ts", import.meta.url)
    .pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      script,
      ...["--port", "0", "--cert-dir", dir, "--control-port", "-1"],
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the simulated API server exited");
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const info = JSON.parse(text.split("\n")[0]);
  return { child, url: info.url as string, caCertFile: info.caCertFile };
}

async function batch(
  server: { child: Deno.ChildProcess; url: string; caCertFile: string },
  mode: Mode,
  probes: number,
): Promise<Batch> {
  const prober = new Prober({
    url: server.url,
    timeoutMs: 5000,
    caCertFile: server.caCertFile,
    keepAlive: mode === "kept-alive connection",
  });
  try {
    for (let i = 0; i < 20; i++) await prober.probe(); // warm-up
    const serverBefore = await cpuNs(server.child.pid);
    const clientBefore = await cpuNs(Deno.pid);
    const t0 = performance.now();
    let failures = 0;
    for (let i = 0; i < probes; i++) {
      if ((await prober.probe()).verdict.kind !== "ready") failures++;
    }
    const wall = performance.now() - t0;
    const clientAfter = await cpuNs(Deno.pid);
    const serverAfter = await cpuNs(server.child.pid);
    return {
      mode,
      probes,
      clientUs: (clientAfter - clientBefore) / probes / 1000,
      serverUs: (serverAfter - serverBefore) / probes / 1000,
      wallMs: wall / probes,
      failures,
    };
  } finally {
    prober.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function table(batches: Batch[]): string {
  const modes: Mode[] = ["fresh connection per probe", "kept-alive connection"];
  const rows = modes.map((mode) => {
    const of = batches.filter((b) => b.mode === mode);
    return {
      mode,
      client: median(of.map((b) => b.clientUs)),
      server: median(of.map((b) => b.serverUs)),
      wall: median(of.map((b) => b.wallMs)),
    };
  });
  const [fresh, kept] = rows;
  const pct = (a: number, b: number) => `${Math.round((1 - b / a) * 100)} %`;
  const lines = [
    "health probe CPU, medians over the runs (µs of CPU per probe)",
    "mode                         client CPU   server CPU   wall (ref.)",
    ...rows.map((r) =>
      `${r.mode.padEnd(28)} ${r.client.toFixed(0).padStart(8)} µs ${
        r.server.toFixed(0).padStart(8)
      } µs ${r.wall.toFixed(2).padStart(8)} ms`
    ),
    `saved by keep-alive          ${
      pct(fresh.client, kept.client).padStart(11)
    } ${pct(fresh.server, kept.server).padStart(11)}`,
  ];
  return lines.join("\n");
}

async function main(args: string[]): Promise<number> {
  let probes = 400;
  let runs = 3;
  let json = false;
  const number = (name: string, v: string | undefined) => {
    const n = wholeNumberFlag(name, v, 1, 100_000);
    if (typeof n === "string") throw new Error(n);
    return n;
  };
  try {
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === "--json") json = true;
      else if (a === "--probes") probes = number("probes", args[++i]);
      else if (a === "--runs") runs = number("runs", args[++i]);
      else if (a === "--help") {
        console.log(USAGE);
        return 0;
      } else throw new Error(`unknown flag ${a}`);
    }
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const dir = await Deno.makeTempDir({ prefix: "ha-vip-probe-bench-" });
  const server = await startServer(dir);
  const batches: Batch[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      for (
        const mode of [
          "fresh connection per probe",
          "kept-alive connection",
        ] as const
      ) {
        batches.push(await batch(server, mode, probes));
      }
    }
  } finally {
    server.child.kill("SIGTERM");
    await server.child.status;
    await Deno.remove(dir, { recursive: true });
  }
  console.log(json ? JSON.stringify(batches, null, 2) : table(batches));
  return batches.some((b) => b.failures > 0) ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
