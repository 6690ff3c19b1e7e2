/**
 * `ha-vip run` start-up failures that are configuration problems: exit 2
 * with the field named, like `check`, and never a stack trace.
 */
import assert from "node:assert/strict";
import {
  addVeth,
  ip,
  runInNetns,
  skipUnlessRoot,
  withNetns,
} from "../../testing/mod.ts";

const ignore = skipUnlessRoot("ha-vip run start-up tests");

const FLAGS = ["--no-k8s", "--advert-interval", "100ms"];

function assertNoStack(text: string): void {
  assert.ok(!/^\s+at /m.test(text), `a stack trace was printed:\n${text}`);
}

Deno.test({
  name:
    "run: an interface that does not exist is a usage error (exit 2) naming interface",
  ignore,
  fn: () =>
    withNetns(1, async ([ns]) => {
      const r = await runInNetns(ns, [
        "run",
        "--vip",
        "10.63.0.100/24",
        "--interface",
        "nosuch0",
        ...FLAGS,
      ], { signal: AbortSignal.timeout(60_000) });
      assert.equal(r.status, 2, r.err);
      assert.match(
        r.err,
        /^ha-vip: invalid configuration:\n {2}interface: get link "nosuch0": ENODEV.*no interface "nosuch0".* \(from --interface\)$/m,
      );
      assertNoStack(r.err);
    }),
});

Deno.test({
  name:
    "run: a metrics port in use is a usage error (exit 2) naming observe.metrics_address",
  ignore,
  fn: () =>
    withNetns(2, async ([ns, peer]) => {
      await addVeth({ ns, name: "eth0" }, { ns: peer, name: "eth0" });
      await ip("-n", ns, "addr", "add", "10.63.0.1/24", "dev", "eth0");
      // Something else already listens on the port, in the same namespace.
      const squatter = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          ns,
          Deno.execPath(),
          "eval",
          `Deno.listen({ hostname: "127.0.0.1", port: 9480 }); console.log("listening"); setInterval(() => {}, 1000);`,
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      try {
        const reader = squatter.stdout.getReader();
        const first = await reader.read();
        assert.match(new TextDecoder().decode(first.value), /listening/);
        reader.releaseLock();
        const r = await runInNetns(ns, [
          "run",
          "--vip",
          "10.63.0.100/24",
          "--interface",
          "eth0",
          "--metrics-address",
          "127.0.0.1:9480",
          ...FLAGS,
        ], { signal: AbortSignal.timeout(60_000) });
        assert.equal(r.status, 2, r.err);
        assert.match(
          r.err,
          /^ {2}observe\.metrics_address: cannot listen on 127\.0\.0\.1:9480: the port is in use .* \(from --metrics-address\)$/m,
        );
        assertNoStack(r.err);
      } finally {
        squatter.kill("SIGKILL");
        await squatter.status;
        await squatter.stdout.cancel().catch(() => {});
      }
    }),
});
