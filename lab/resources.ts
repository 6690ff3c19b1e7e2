/**
 * What a daemon costs the machine, from `/proc`: resident memory (VmRSS,
 * summed over the process and its descendants, so keepalived's parent and
 * VRRP child count together) and CPU time (utime + stime) turned into a
 * share of one core over an interval. Linux only; reads, never signals.
 *
 * ```ts
 * const a = await sampleTree(pid);
 * await new Promise((r) => setTimeout(r, 20000));
 * const b = await sampleTree(pid);
 * console.log(b.rssKb, cpuPercent(a, b, await clockTicks()));
 * ```
 *
 * @module
 */

/** One look at a process tree. */
export interface TreeSample {
  /** The root PID and its live descendants at sampling time. */
  pids: number[];
  /** Command names (`/proc/PID/comm`) in the order of `pids`. */
  names: string[];
  /** Sum of VmRSS over `pids`, KiB. */
  rssKb: number;
  /** Sum of VmHWM (each process's peak resident set) over `pids`, KiB. */
  hwmKb: number;
  /** Sum of RssAnon (heap, stacks: not backed by a file) over `pids`, KiB. */
  anonKb: number;
  /** utime + stime of each of `pids`, in clock ticks. */
  ticksByPid: Record<number, number>;
  /**
   * Time on a CPU of every thread of `pids`, ns, keyed `pid/tid`, from
   * `/proc/PID/task/TID/schedstat` (the scheduler's clock: far finer than
   * the 10 ms ticks of utime/stime). Empty when the kernel has no schedstat.
   */
  cpuNsByTask: Record<string, number>;
  /** Epoch ms of the sample. */
  at: number;
}

/** Resources of one daemon over an idle interval. */
export interface ResourceUsage {
  /** `node1` ... */
  node: string;
  /** PIDs measured (root first). */
  pids: number[];
  /** Their command names. */
  names: string[];
  /** VmRSS summed over the tree at the end of the interval, KiB. */
  rssKb: number;
  /** VmHWM (peak resident set since start) summed over the tree, KiB. */
  hwmKb: number;
  /** RssAnon summed over the tree at the end of the interval, KiB. */
  anonKb: number;
  /** CPU used over the interval (utime + stime), percent of one core. */
  cpuPercent: number;
  /** The same from the scheduler's clock (schedstat); null if unavailable. */
  cpuPercentSched: number | null;
  /** Length of the interval, ms. */
  intervalMs: number;
}

let ticksPerSecond: number | undefined;

/** `sysconf(_SC_CLK_TCK)` via `getconf` (100 on every mainstream kernel). */
export async function clockTicks(): Promise<number> {
  if (ticksPerSecond !== undefined) return ticksPerSecond;
  try {
    const out = await new Deno.Command("getconf", {
      args: ["CLK_TCK"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    ticksPerSecond = Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/** Fields of `/proc/PID/stat` after the command name (field 3 onward). */
function statFields(text: string): string[] | null {
  // The command name is in parentheses and may itself contain ") ".
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  return text.slice(close + 2).trim().split(/\s+/);
}

/** Parses the parent PID and utime + stime out of a `/proc/PID/stat` line. */
export function parseStat(
  text: string,
): { ppid: number; ticks: number } | null {
  const f = statFields(text);
  // f[0] = state (field 3), f[1] = ppid (4), f[11] = utime (14), f[12] = stime (15).
  if (!f || f.length < 13) return null;
  const ppid = Number(f[1]);
  const ticks = Number(f[11]) + Number(f[12]);
  if (!Number.isFinite(ppid) || !Number.isFinite(ticks)) return null;
  return { ppid, ticks };
}

/** VmRSS in KiB from a `/proc/PID/status` text (0 for a kernel thread or zombie). */
export function parseVmRssKb(text: string): number {
  return parseStatusKb(text, "VmRSS");
}

/**
 * A `kB` line of a `/proc/PID/status` text (`VmRSS`, `VmHWM`, `RssAnon`,
 * ...), in KiB; 0 when absent (a kernel thread or zombie).
 */
export function parseStatusKb(text: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** Parses the first field of a `schedstat` line: ns spent on a CPU. */
export function parseSchedstatNs(text: string): number | null {
  const n = Number(text.trim().split(/\s+/)[0]);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** ns on a CPU of every thread of `pid`. */
async function threadCpuNs(pid: number): Promise<[number, number][]> {
  const out: [number, number][] = [];
  try {
    for await (const e of Deno.readDir(`/proc/${pid}/task`)) {
      try {
        const ns = parseSchedstatNs(
          await Deno.readTextFile(`/proc/${pid}/task/${e.name}/schedstat`),
        );
        if (ns !== null) out.push([Number(e.name), ns]);
      } catch {
        // thread gone, or no schedstat in this kernel
      }
    }
  } catch {
    // process gone
  }
  return out;
}

/** `pid` and all its live descendants (breadth first). */
export async function processTree(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const st = parseStat(await Deno.readTextFile(`/proc/${e.name}/stat`));
      if (!st) continue;
      const list = children.get(st.ppid) ?? [];
      list.push(Number(e.name));
      children.set(st.ppid, list);
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    if (out.includes(p)) continue;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Samples a process tree; PIDs that vanish meanwhile are left out. */
export async function sampleTree(pid: number): Promise<TreeSample> {
  const at = performance.timeOrigin + performance.now();
  const sample: TreeSample = {
    pids: [],
    names: [],
    rssKb: 0,
    hwmKb: 0,
    anonKb: 0,
    ticksByPid: {},
    cpuNsByTask: {},
    at,
  };
  for (const p of await processTree(pid)) {
    try {
      const st = parseStat(await Deno.readTextFile(`/proc/${p}/stat`));
      const status = await Deno.readTextFile(`/proc/${p}/status`);
      const comm = (await Deno.readTextFile(`/proc/${p}/comm`)).trim();
      if (!st) continue;
      sample.pids.push(p);
      sample.names.push(comm);
      sample.rssKb += parseVmRssKb(status);
      sample.hwmKb += parseStatusKb(status, "VmHWM");
      sample.anonKb += parseStatusKb(status, "RssAnon");
      sample.ticksByPid[p] = st.ticks;
      for (const [tid, ns] of await threadCpuNs(p)) {
        sample.cpuNsByTask[`${p}/${tid}`] = ns;
      }
    } catch {
      // exited between the listing and the read
    }
  }
  return sample;
}

/**
 * CPU between two samples of the same tree, percent of one core. Only
 * PIDs present in both count, so a child that came or went meanwhile
 * cannot fake a jump. Null when the samples share no PID.
 */
export function cpuPercent(
  a: TreeSample,
  b: TreeSample,
  ticksPerSecond: number,
): number | null {
  const ms = b.at - a.at;
  if (ms <= 0) return null;
  let ticks = 0;
  let shared = 0;
  for (const [pid, t] of Object.entries(b.ticksByPid)) {
    const before = a.ticksByPid[Number(pid)];
    if (before === undefined) continue;
    shared++;
    ticks += t - before;
  }
  if (shared === 0) return null;
  return Math.max(0, ticks / ticksPerSecond * 1000 / ms * 100);
}

/**
 * CPU between two samples from the scheduler's clock, percent of one
 * core. Threads of a PID present in both samples count; a thread born in
 * between counts from zero (all its time falls in the interval). Null
 * without schedstat data.
 */
export function cpuPercentSched(a: TreeSample, b: TreeSample): number | null {
  const ms = b.at - a.at;
  if (ms <= 0) return null;
  let ns = 0;
  let any = false;
  for (const [key, t] of Object.entries(b.cpuNsByTask)) {
    const pid = Number(key.split("/")[0]);
    if (a.ticksByPid[pid] === undefined) continue;
    any = true;
    ns += t - (a.cpuNsByTask[key] ?? 0);
  }
  if (!any) return null;
  return Math.max(0, ns / 1e6 / ms * 100);
}
