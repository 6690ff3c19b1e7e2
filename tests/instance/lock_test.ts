/**
 * The single-instance lock: held once per interface and VIP, the second
 * taker learns the holder's PID from the kernel, and the lock goes with its
 * holder, SIGKILL included. Abstract unix sockets need no privileges, so
 * this runs as any user (names carry this test's PID: other test runs on
 * the machine share the network namespace).
 */
import assert from "node:assert/strict";
import {
  acquireInstanceLock,
  AlreadyRunningError,
} from "../../lib/instance/mod.ts";

const key = (vip: string) => ({ interface: `hvt${Deno.pid}`, vip });

/** The error a second take throws. */
function refused(vip: string): AlreadyRunningError {
  try {
    acquireInstanceLock(key(vip)).release();
  } catch (err) {
    assert.ok(err instanceof AlreadyRunningError, String(err));
    return err;
  }
  assert.fail(`the lock for ${vip} was taken twice`);
}

Deno.test("instance lock: a second take fails naming the holder; release frees it", () => {
  const lock = acquireInstanceLock(key("10.9.0.1"));
  try {
    assert.equal(lock.name, `@ha-vip/hvt${Deno.pid}/10.9.0.1`);
    const err = refused("10.9.0.1");
    assert.equal(err.holder?.pid, Deno.pid);
    assert.match(
      err.message,
      new RegExp(
        `already running for 10\\.9\\.0\\.1 on hvt${Deno.pid} .*pid ${Deno.pid}\\b`,
      ),
    );
    // Another VIP on the same interface is another lock.
    acquireInstanceLock(key("10.9.0.2")).release();
  } finally {
    lock.release();
    lock.release(); // idempotent
  }
  using again = acquireInstanceLock(key("10.9.0.1"));
  assert.ok(again.name);
});

Deno.test("instance lock: dies with a SIGKILLed holder", async () => {
  const mod = new URL("../../lib/instance/mod.ts", import.meta.url).href;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--no-config",
      `import { acquireInstanceLock } from ${JSON.stringify(mod)};
const lock = acquireInstanceLock(${JSON.stringify(key("10.9.0.3"))});
console.log("held");
setInterval(() => {}, 1000);`,
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const first = await reader.read();
    assert.equal(first.value?.trim(), "held");
    const err = refused("10.9.0.3");
    assert.equal(err.holder?.pid, child.pid);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
  }
  using lock = acquireInstanceLock(key("10.9.0.3"));
  assert.ok(lock.name);
});
