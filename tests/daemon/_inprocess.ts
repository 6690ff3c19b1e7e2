/**
 * Whole daemons in process: `runDaemon` against a fake kernel on a fake
 * segment, driven by a fake clock, with a probe the test controls. No
 * root, no sockets, no real time (except the optional /status server).
 */
import { loadConfig, type LoadedConfig } from "../../lib/config/mod.ts";
import { controlRequest, openControlServer } from "../../lib/control/mod.ts";
import { type DaemonOptions, runDaemon } from "../../lib/daemon/mod.ts";
import { type ElectionBackends, vrrpBackend } from "../../lib/election/mod.ts";
import type { ProbeResult, Verdict } from "../../lib/health/mod.ts";
import { createLogger } from "../../lib/observe/mod.ts";
import { type FakeClock, settle } from "../../testing/fake_clock.ts";
import { FakeKernel, type FakeSegment } from "../../testing/fake_net.ts";

export const VIP = "10.62.0.100";

/** One node: its kernel, its daemon, its log, its API server's answer. */
export interface Node {
  name: string;
  ip: string;
  kernel: FakeKernel;
  /** Resolves to runDaemon's exit status (or rejects with its error). */
  done: Promise<number>;
  /** Every log line so far. */
  lines: string[];
  /** What the fake probe answers from now on. */
  verdict: Verdict;
  /** SIGTERM (first call) / a second signal (second call). */
  stop(): void;
  /** Delivers a signal by name (`SIGHUP`, `SIGUSR2`, ...). */
  signal(name: string): void;
  /** Whether the log has a line matching `re`. */
  logged(re: RegExp): boolean;
}

export const READY: Verdict = { kind: "ready", detail: "ok" };
export const NOT_READY: Verdict = {
  kind: "not_ready",
  detail: "[-]etcd failed",
  status: 500,
  failingChecks: ["etcd"],
};

/** Options of {@link startNode}. */
export interface NodeOptions {
  clock: FakeClock;
  segment?: FakeSegment;
  name: string;
  /** The node's address on eth0 (a /24 with the VIP). */
  ip: string;
  priority: number;
  /** Extra configuration, by field path. */
  flags?: Record<string, unknown>;
  /** An existing kernel (default: a new one with eth0 on `segment`). */
  kernel?: FakeKernel;
  /** Health gating (default off: every node is healthy). */
  health?: boolean;
  /** Election backends (default: VRRP on the kernel's fake sockets). */
  backends?: ElectionBackends;
  /** What a SIGHUP re-reads (default: nothing to re-read). */
  reload?: () => Promise<LoadedConfig>;
  /** A control socket path (a real unix socket; default: none). */
  control?: string;
  /** The election's client of the local API server (runDaemon's option). */
  localApi?: DaemonOptions["localApi"];
}

/** Creates the node's kernel with eth0 and its address. */
export function nodeKernel(
  clock: FakeClock,
  name: string,
  ip: string,
  segment?: FakeSegment,
): FakeKernel {
  const kernel = new FakeKernel(clock, name);
  kernel.addLink("lo");
  kernel.addLink("eth0", { segment });
  kernel.addAddress("eth0", `${ip}/24`);
  return kernel;
}

/** A node's configuration: the test defaults, then `o.flags` (rejects with a ConfigError). */
export function nodeConfig(
  o: Pick<NodeOptions, "name" | "priority" | "flags" | "health" | "control">,
): Promise<LoadedConfig> {
  return loadConfig({
    env: {},
    flags: {
      vip: `${VIP}/24`,
      interface: "eth0",
      "election.node_name": o.name,
      "election.vrrp.priority": String(o.priority),
      "election.vrrp.advert_interval": "100ms",
      "k8s.enabled": o.health ?? false,
      "health.interval": "1s",
      "health.timeout": "1s",
      "health.stability_window": "2s",
      "control.socket": o.control ?? "off",
      ...o.flags,
    },
  });
}

/** Starts `ha-vip run` for one node, in process. */
export async function startNode(o: NodeOptions): Promise<Node> {
  const kernel = o.kernel ?? nodeKernel(o.clock, o.name, o.ip, o.segment);
  const { config } = await nodeConfig(o);
  const lines: string[] = [];
  const ac = new AbortController();
  let signals = 0;
  const second = new AbortController();
  const named = new EventTarget();
  const node: Node = {
    name: o.name,
    ip: o.ip,
    kernel,
    lines,
    verdict: READY,
    done: Promise.resolve(0),
    stop: () => (signals++ === 0 ? ac : second).abort(),
    signal: (name) =>
      named.dispatchEvent(new CustomEvent("s", { detail: name })),
    logged: (re) => lines.some((l) => re.test(l)),
  };
  const probe = (): Promise<ProbeResult> =>
    Promise.resolve({
      verdict: node.verdict,
      tcp: { ok: true, ms: 1 },
      ms: 1,
    });
  node.done = runDaemon({
    config,
    log: createLogger({ level: "debug", sink: (l) => lines.push(l) }),
    platform: o.control === undefined
      ? kernel.platform()
      : { ...kernel.platform(), openControl: openControlServer },
    backends: o.backends ?? {
      vrrp: vrrpBackend({ openSocket: (s) => kernel.openVrrpSocket(s) }),
    },
    probe,
    handleSignals: false,
    signal: ac.signal,
    reload: o.reload,
    localApi: o.localApi,
    signals: [{
      subscribe(handler) {
        const l = () => handler("SIGTERM");
        second.signal.addEventListener("abort", l);
        return {
          [Symbol.dispose]: () => second.signal.removeEventListener("abort", l),
        };
      },
    }, {
      subscribe(handler) {
        const l = (e: Event) => handler((e as CustomEvent<string>).detail);
        named.addEventListener("s", l);
        return { [Symbol.dispose]: () => named.removeEventListener("s", l) };
      },
    }],
  });
  // Surface a start-up failure at once, but keep the promise for the test.
  node.done.catch(() => {});
  await settle();
  return node;
}

/** The nodes that hold the VIP in their kernel right now. */
export function holders(nodes: Node[]): string[] {
  return holdersOf(nodes, VIP);
}

/** The nodes whose interface has `vip` (dual stack: either VIP). */
export function holdersOf(nodes: Node[], vip: string): string[] {
  return nodes.filter((n) => n.kernel.hasAddress(vip)).map((n) => n.name);
}

/** SIGTERM, then a second signal, then each daemon must exit 0. */
export async function stopAll(clock: FakeClock, nodes: Node[]): Promise<void> {
  for (const n of nodes) n.stop();
  for (const n of nodes) n.stop();
  await clock.advance(1000);
  for (const n of nodes) {
    const status = await n.done;
    if (status !== 0) {
      throw new Error(`${n.name} exited ${status}\n${logs(nodes)}`);
    }
  }
}

/** A node with only a link-local IPv6 address (`fe80::<host>`) on eth0. */
export function ipv6Kernel(
  clock: FakeClock,
  name: string,
  host: number,
  segment?: FakeSegment,
): FakeKernel {
  const kernel = new FakeKernel(clock, name);
  kernel.addLink("lo");
  kernel.addLink("eth0", { segment });
  kernel.addAddress("eth0", `fe80::${host}/64`);
  return kernel;
}

/** A node with `10.62.0.<host>/24` and `fe80::<host>/64` on eth0. */
export function dualKernel(
  clock: FakeClock,
  name: string,
  host: number,
  segment?: FakeSegment,
): FakeKernel {
  const kernel = nodeKernel(clock, name, `10.62.0.${host}`, segment);
  kernel.addAddress("eth0", `fe80::${host}/64`);
  return kernel;
}

/** The log of every node, for failure messages. */
export function logs(nodes: Node[]): string {
  return nodes.map((n) => `--- ${n.name}\n${n.lines.join("\n")}`).join("\n");
}

export async function withControl(
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "hv-ctl-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A control request over the real socket, answered while the fake clock
 * moves on in small steps (so fake time cannot race ahead of the socket).
 */
export async function ask(
  clock: FakeClock,
  path: string,
  request: Parameters<typeof controlRequest>[1],
) {
  let answer: Awaited<ReturnType<typeof controlRequest>> | undefined;
  const p = controlRequest(path, request, { timeoutMs: 30_000 }).then((a) =>
    answer = a
  );
  for (let i = 0; answer === undefined && i < 5000; i++) {
    await clock.advance(20);
    await new Promise((r) => setTimeout(r, 2));
  }
  return await p;
}
