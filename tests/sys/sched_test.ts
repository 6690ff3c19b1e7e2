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
console.log(JSON.stringify({
  result,
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
    assert.deepEqual(r.flag, [false, true]);
    for (const t of r.threads) {
      assert.deepEqual({ policy: t.policy, rtPriority: t.rtPriority }, {
        policy: 2,
        rtPriority: 9,
      }, `thread ${t.tid} keeps what it was started with`);
    }
  },
});

Deno.test("setRealtimePriority refuses a priority outside 1-99 before any call", async () => {
  const { setRealtimePriority } = await import(SYS);
  for (const p of [0, 100, 1.5, -1]) {
    assert.throws(() => setRealtimePriority(p), RangeError);
  }
});
