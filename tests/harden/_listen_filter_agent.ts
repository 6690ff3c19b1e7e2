/**
 * Test agent: forbids listen() like `ha-vip run` does once its listeners are
 * up, but leaves SIGUSR1 to the runtime, so the seccomp filter is the only
 * thing between the runtime's debugger trigger and a port.
 */
import { denyNewListeners } from "../../lib/harden/mod.ts";

const why = denyNewListeners();
console.log(why === undefined ? "listen filtered" : `not filtered: ${why}`);
setInterval(() => {}, 1000);
