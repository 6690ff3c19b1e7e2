import assert from "node:assert/strict";
import { skipUnlessInstalled, skipUnlessRoot } from "../../testing/mod.ts";

// Scheduling is process-wide state: each case runs in a child process, so
// the test runner keeps its own.
const ignore = skipUnlessRoot("realtime scheduling tests");
const noSetpriv = skipUnlessInstalled("realtime refusal tests", [
  "setpriv",
  "chrt",
]);

const SYS = new URL("../../lib/sys/mod.ts", import.meta.url).href;

/** Sets priority 7, starts a thread afterwards, reports every thread's policy and priority. */
const CHILD = `
import { realtimeThreads, setRealtimePriority } from ${JSON.stringify(SYS)};
const flagBefore = realtimeThreads();
let result;
try {
  result = setRealtimePriority(7);
} catch (err) {
  result = { error: err.message, errno: err.errno };
}
// A thread started afterwards: async file reads run on a new pool thread.
await Promise.all(Array.from({ length: 8 }, () => Deno.readTextFile("/proc/self/stat")));
const threads = [];
for (const e of Deno.readDirSync("/proc/self/task")) {
  const stat = Deno.readTextFileSync("/proc/self/task/" + e.name + "/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 40 (rt_priority) and 41 (policy) of proc_pid_stat(5); f[0] is field 3.
  threads.push({ tid: Number(e.name), rtPriority: Number(f[37]), policy: Number(f[38]) });
}
const limits = Deno.readTextFileSync("/proc/self/limits").split("\\n")
  .find((l) => l.startsWith("Max realtime timeout"));
console.log(JSON.stringify({
  result,
  rttime: limits.slice("Max realtime timeout".length).trim().split(/\\s+/).slice(0, 2),
  before: result.threads,
  threads,
  flag: [flagBefore, realtimeThreads()],
}));
`;

async function child(prefix: string[] = []) {
  const deno = Deno.execPath();
  const cmd = [...prefix, deno, "eval", "--no-config", "-A", CHILD];
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(
    out.success,
    `child failed: ${new TextDecoder().decode(out.stderr)}`,
  );
  return JSON.parse(text);
}

Deno.test({
  name:
    "setRealtimePriority puts every thread under SCHED_RR, and threads started later inherit it",
  ignore,
  fn: async () => {
    const r = await child();
    assert.equal(r.result.error, undefined);
    assert.equal(r.result.inherited, false);
    assert.ok(r.result.threads >= 2, `threads changed: ${r.result.threads}`);
    assert.ok(r.threads.length > r.before, "a pool thread was started after");
    assert.deepEqual(r.flag, [false, true], "realtimeThreads() before, after");
    // The runaway guard: 1 s soft (SIGXCPU), 2 s hard (SIGKILL).
    assert.deepEqual(r.rttime, ["1000000", "2000000"]);
    assert.equal(r.result.rttimeLimitUs, 1_000_000);
    for (const t of r.threads) {
      assert.deepEqual(
        { policy: t.policy, rtPriority: t.rtPriority },
        { policy: 2, rtPriority: 7 },
        `thread ${t.tid}`,
      );
    }
  },
});

Deno.test({
  name:
    "without CAP_SYS_NICE setRealtimePriority throws EPERM naming the capability, and nothing changes",
  ignore: ignore || noSetpriv,
  fn: async () => {
    const r = await child([
      "setpriv",
      "--bounding-set",
      "-sys_nice",
      "--inh-caps",
      "-sys_nice",
    ]);
    assert.equal(r.result.errno, 1);
    assert.match(r.result.error, /sched_setscheduler\(SCHED_RR, priority 7\)/);
    assert.match(r.result.error, /CAP_SYS_NICE/);
    assert.deepEqual(r.flag, [false, false], "realtimeThreads() stays false");
    for (const t of r.threads) {
      assert.deepEqual({ policy: t.policy, rtPriority: t.rtPriority }, {
        policy: 0,
        rtPriority: 0,
      });
    }
  },
});

Deno.test({
  name:
    "started realtime by the service manager (systemd's CPUSchedulingPolicy=rr), setRealtimePriority changes nothing and needs no CAP_SYS_NICE",
  ignore: ignore || noSetpriv,
  fn: async () => {
    // chrt as root, as systemd does before it drops the capabilities.
    const r = await child([
      "chrt",
      "--rr",
      "9",
      "setpriv",
      "--bounding-set",
      "-sys_nice",
      "--inh-caps",
      "-sys_nice",
    ]);
    assert.equal(r.result.error, undefined);
    assert.equal(r.result.inherited, true);
    // Nothing set: the caller warns that no runaway limit is in force.
    assert.equal(r.result.rttimeLimitUs, undefined);
    assert.deepEqual(r.rttime, ["unlimited", "unlimited"]);
    assert.deepEqual(r.flag, [false, true]);
    for (const t of r.threads) {
      assert.deepEqual({ policy: t.policy, rtPriority: t.rtPriority }, {
        policy: 2,
        rtPriority: 9,
      }, `thread ${t.tid} keeps what it was started with`);
    }
  },
});

Deno.test({
  name:
    "a realtime thread that never blocks ends the process with SIGXCPU instead of holding a CPU",
  ignore,
  fn: async () => {
    const runaway = `
import { setRealtimePriority } from ${JSON.stringify(SYS)};
setRealtimePriority(1);
console.log("realtime");
// A runaway: never blocks (performance.now() reads the vDSO clock); it
// gives up after 5 s so that a missing guard fails the test, not hangs it.
const end = performance.now() + 5000;
while (performance.now() < end) { /* spin */ }
console.log("survived");
`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-config", "-A", runaway],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "realtime");
    assert.equal(out.signal, "SIGXCPU", `ended by ${out.signal} (${out.code})`);
  },
});

Deno.test("setRealtimePriority refuses a priority outside 1-99 before any call", async () => {
  const { setRealtimePriority } = await import(SYS);
  for (const p of [0, 100, 1.5, -1]) {
    assert.throws(() => setRealtimePriority(p), RangeError);
  }
});
