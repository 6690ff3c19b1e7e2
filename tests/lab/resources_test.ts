/**
 * The lab's /proc readers: what the footprint benchmark's memory and CPU
 * figures are made of, checked against annotated /proc text.
 */
import assert from "node:assert/strict";
import {
  cpuPercent,
  cpuPercentSched,
  parseStat,
  parseStatusKb,
  parseVmRssKb,
  type TreeSample,
} from "../../lab/mod.ts";

// An excerpt of /proc/PID/status of a deno process (Linux 6.x).
const STATUS = `Name:\tdeno
VmPeak:\t18302164 kB
VmHWM:\t   78960 kB
VmRSS:\t   75240 kB
RssAnon:\t   32076 kB
RssFile:\t   43164 kB
RssShmem:\t       0 kB
Threads:\t14
`;

Deno.test("status lines: settled, peak and anonymous resident memory in KiB", () => {
  assert.equal(parseVmRssKb(STATUS), 75240);
  assert.equal(parseStatusKb(STATUS, "VmHWM"), 78960);
  assert.equal(parseStatusKb(STATUS, "RssAnon"), 32076);
  // VmPeak is virtual memory: a prefix of another key must not match.
  assert.equal(parseStatusKb(STATUS, "VmPea"), 0);
  // A zombie's status has no memory lines.
  assert.equal(parseStatusKb("Name:\tx\nState:\tZ (zombie)\n", "VmHWM"), 0);
});

Deno.test("stat: a command name with ') ' does not shift the fields", () => {
  // pid (comm) state ppid ... utime(14) stime(15)
  const line = "42 (a) b) S 7 42 42 0 -1 4194560 1 0 0 0 120 30 0 0 20 0 1 0";
  assert.deepEqual(parseStat(line), { ppid: 7, ticks: 150 });
});

Deno.test("CPU share: only PIDs present in both samples count", () => {
  const a: TreeSample = {
    pids: [1],
    names: ["d"],
    rssKb: 0,
    hwmKb: 0,
    anonKb: 0,
    ticksByPid: { 1: 100 },
    cpuNsByTask: { "1/1": 1e9 },
    at: 0,
  };
  const b: TreeSample = {
    ...a,
    pids: [1, 2],
    ticksByPid: { 1: 106, 2: 500 },
    cpuNsByTask: { "1/1": 1.06e9, "1/9": 2e6, "2/2": 5e9 },
    at: 60_000,
  };
  // 6 ticks of 10 ms over 60 s: 0.1 % of a core; PID 2 is new: ignored.
  assert.equal(cpuPercent(a, b, 100)!.toFixed(3), "0.100");
  // 60 ms of PID 1's old thread + 2 ms of its new thread, over 60 s.
  assert.equal(cpuPercentSched(a, b)!.toFixed(4), "0.1033");
});
