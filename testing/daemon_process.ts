/**
 * Real `ha-vip run` processes inside network namespaces, for black-box
 * regression tests of what a host (or its operator) does to a running
 * daemon: its output with arrival times, the kernel's view of the
 * interface's addresses, `ip monitor address` events, and GET requests to
 * the daemon's /status and /metrics from inside its namespace.
 *
 * Needs root, like every namespace test.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MONITOR_PRIORITY_ARGV, parseAddrLine } from "../lab/mod.ts";
import { ipJson } from "./netns.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Epoch milliseconds with sub-millisecond precision. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** One output line of a daemon, stamped when it arrived. */
export interface OutputLine {
  t: number;
  line: string;
}

/** A `ha-vip` process in a namespace. */
export interface HaVipProcess {
  child: Deno.ChildProcess;
  /** The PID of the deno process running ha-vip (`ip netns exec` execs in place). */
  pid: number;
  /** Everything it printed so far (stdout and stderr). */
  log(): string;
  /** Its lines with their arrival times. */
  lines(): OutputLine[];
  /** Resolves when it has exited and its output is read. */
  done: Promise<Deno.CommandStatus>;
  /** Whether it has exited. */
  exited(): boolean;
  /** Sends a signal if it still runs. */
  kill(signal?: Deno.Signal): void;
  /** SIGKILL (if it still runs) and wait for it. */
  stop(): Promise<Deno.CommandStatus>;
}

/** Starts `ha-vip ARGS...` (e.g. `run --vip ...`) inside `ns`. */
export function startHaVip(ns: string, args: string[]): HaVipProcess {
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      Deno.execPath(),
      "run",
      "--allow-all",
      "--cached-only",
      "--quiet",
      MAIN,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: OutputLine[] = [];
  let exited = false;
  const pump = async (s: ReadableStream<Uint8Array>) => {
    let rest = "";
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let i;
      while ((i = rest.indexOf("\n")) >= 0) {
        lines.push({ t: now(), line: rest.slice(0, i) });
        rest = rest.slice(i + 1);
      }
    }
    if (rest !== "") lines.push({ t: now(), line: rest });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const done = pumps.then(() => child.status).then((s) => {
    exited = true;
    return s;
  });
  const kill = (signal: Deno.Signal = "SIGTERM") => {
    if (exited) return;
    try {
      child.kill(signal);
    } catch {
      // exited between the check and the kill
    }
  };
  return {
    child,
    pid: child.pid,
    log: () => lines.map((l) => l.line).join("\n"),
    lines: () => lines,
    done,
    exited: () => exited,
    kill,
    stop: () => {
      kill("SIGKILL");
      return done;
    },
  };
}

/** One IPv4 address of an interface, as `ip -j addr` shows it. */
export interface KernelAddress {
  local: string;
  prefixlen: number;
  /** Not the first address of its subnet on the interface. */
  secondary: boolean;
  /** Seconds; 4294967295 = forever. */
  valid: number;
  preferred: number;
}

/** The IPv4 addresses of `ifname` in `ns`, in the kernel's order ([] if gone). */
export async function addressesOf(
  ns: string,
  ifname: string,
): Promise<KernelAddress[]> {
  const links = await ipJson<
    {
      addr_info?: {
        family: string;
        local: string;
        prefixlen: number;
        secondary?: boolean;
        valid_life_time: number;
        preferred_life_time: number;
      }[];
    }[]
  >(ns, "-4", "addr", "show", "dev", ifname).catch(() => []);
  return (links[0]?.addr_info ?? []).filter((a) => a.family === "inet").map((
    a,
  ) => ({
    local: a.local,
    prefixlen: a.prefixlen,
    secondary: a.secondary === true,
    valid: a.valid_life_time,
    preferred: a.preferred_life_time,
  }));
}

/** Whether `ifname` in `ns` has `address` right now. */
export async function hasAddress(
  ns: string,
  ifname: string,
  address: string,
): Promise<boolean> {
  return (await addressesOf(ns, ifname)).some((a) => a.local === address);
}

/** An address appearing (or being refreshed) or disappearing, as `ip monitor` saw it. */
export interface AddressEvent {
  t: number;
  present: boolean;
  ifname: string;
  address: string;
}

/** `ip -ts monitor address` inside a namespace; see {@link watchAddresses}. */
export interface AddressWatch {
  readonly events: AddressEvent[];
  /**
   * When `address` was on `ifname`, as intervals (to null: still there),
   * starting from `initially` (its presence when the watch began).
   */
  intervals(
    address: string,
    ifname?: string,
  ): { from: number; to: number | null }[];
  stop(): Promise<void>;
}

/**
 * Watches every IPv4 address change in `ns` with the kernel's timing
 * (`ip -ts monitor address`). Resolves once the monitor runs and the
 * initial state is known.
 */
export async function watchAddresses(ns: string): Promise<AddressWatch> {
  const [chrt, ...chrtArgs] = MONITOR_PRIORITY_ARGV;
  const child = new Deno.Command(chrt, {
    args: [...chrtArgs, "ip", "-n", ns, "-ts", "monitor", "address"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const events: AddressEvent[] = [];
  const pumped = (async () => {
    let rest = "";
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      rest += chunk;
      let i;
      while ((i = rest.indexOf("\n")) >= 0) {
        const e = parseAddrLine(rest.slice(0, i));
        rest = rest.slice(i + 1);
        if (e) {
          events.push({
            t: e.t,
            present: e.present,
            ifname: e.ifname,
            address: e.address,
          });
        }
      }
    }
  })();
  // `ip monitor` prints nothing once subscribed: give it a moment, then
  // take the snapshot every interval starts from.
  await new Promise((r) => setTimeout(r, 300));
  const start = now();
  const snapshot = await ipJson<
    { ifname: string; addr_info?: { family: string; local: string }[] }[]
  >(ns, "-4", "addr", "show");
  const initially = new Set(
    snapshot.flatMap((l) =>
      (l.addr_info ?? []).map((a) => `${l.ifname} ${a.local}`)
    ),
  );
  return {
    events,
    intervals(address, ifname = "eth0") {
      const out: { from: number; to: number | null }[] = [];
      let present = initially.has(`${ifname} ${address}`);
      if (present) out.push({ from: start, to: null });
      for (const e of events) {
        if (e.address !== address || e.ifname !== ifname) continue;
        if (e.t < start && !e.present) continue;
        if (e.present === present) continue; // a lifetime refresh
        present = e.present;
        if (present) out.push({ from: e.t, to: null });
        else out[out.length - 1].to = e.t;
      }
      return out;
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await pumped;
    },
  };
}

/**
 * The part of `intervals` that lies within [from, to], summed (ms); open
 * intervals count up to `to`.
 */
export function presentWithin(
  intervals: { from: number; to: number | null }[],
  from: number,
  to: number,
): number {
  let sum = 0;
  for (const i of intervals) {
    const a = Math.max(i.from, from);
    const b = Math.min(i.to ?? to, to);
    if (b > a) sum += b - a;
  }
  return sum;
}

/**
 * GET `url` from inside `ns` (the daemon's loopback is only reachable
 * there). Resolves the body, or rejects with why not.
 */
export async function fetchInNetns(ns: string, url: string): Promise<string> {
  const code = `const r = await fetch(${JSON.stringify(url)});
if (!r.ok) throw new Error("HTTP " + r.status);
await Deno.stdout.write(new Uint8Array(await r.arrayBuffer()));`;
  const r = await new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      Deno.execPath(),
      "eval",
      "--no-config",
      "--quiet",
      code,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!r.success) {
    throw new Error(`GET ${url} in ${ns}: ${dec.decode(r.stderr).trim()}`);
  }
  return dec.decode(r.stdout);
}

/** The daemon's `GET /status` document (shape checked by the caller). */
export async function statusIn(
  ns: string,
  port: number,
): Promise<Record<string, unknown>> {
  return JSON.parse(
    await fetchInNetns(ns, `http://127.0.0.1:${port}/status`),
  );
}

/**
 * One sample from the daemon's `GET /metrics`: `name` with exactly the
 * given labels (none: the unlabelled series), or undefined if absent.
 */
export async function metricIn(
  ns: string,
  port: number,
  name: string,
  labels = "",
): Promise<number | undefined> {
  const text = await fetchInNetns(ns, `http://127.0.0.1:${port}/metrics`);
  const series = labels === "" ? name : `${name}{${labels}}`;
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) {
      return Number(line.slice(series.length + 1));
    }
  }
  return undefined;
}

/**
 * Polls `cond` every 50 ms up to `ms`; fails with `what` and `diag()` (the
 * daemon's log, say). The bound only guards against hangs; timing bounds a
 * test asserts are checked on recorded times.
 */
export async function waitFor(
  what: string,
  ms: number,
  cond: () => Promise<boolean> | boolean,
  diag: () => string = () => "",
): Promise<number> {
  const end = now() + ms;
  while (now() < end) {
    if (await cond()) return now();
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out after ${ms} ms waiting for: ${what}\n${diag()}`);
}

/** Waits `ms` (to watch that something does NOT happen meanwhile). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
