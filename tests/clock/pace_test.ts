import { repeatPaced } from "../../lib/clock/mod.ts";
import assert from "node:assert/strict";

Deno.test("repeatPaced: the first send is synchronous, later errors are collected", async () => {
  let calls = 0;
  const done = repeatPaced({ count: 3, intervalMs: 1 }, () => {
    calls++;
    if (calls === 2) throw new Error("link flapped");
  });
  assert.equal(calls, 1, "first send before the first await");
  const r = await done;
  assert.equal(calls, 3);
  assert.equal(r.sent, 2);
  assert.deepEqual(r.errors.map((e) => e.message), ["link flapped"]);
});

Deno.test("repeatPaced: a failing first send rejects; abort stops between sends; bad counts throw", async () => {
  await assert.rejects(
    repeatPaced({ count: 3, intervalMs: 0 }, () => {
      throw new Error("EPERM");
    }),
    /EPERM/,
  );
  const ac = new AbortController();
  let calls = 0;
  const run = repeatPaced(
    { count: 100, intervalMs: 60_000, signal: ac.signal },
    () => calls++,
  );
  ac.abort();
  assert.deepEqual(await run, { sent: 1, errors: [] });
  assert.equal(calls, 1);
  await assert.rejects(
    repeatPaced({ count: 0, intervalMs: 0 }, () => {}),
    RangeError,
  );
  await assert.rejects(
    repeatPaced({ count: 1, intervalMs: -1 }, () => {}),
    RangeError,
  );
});
