import assert from "node:assert/strict";
import {
  ControlClientError,
  type ControlRequest,
  controlRequest,
  ControlSocketError,
  openControlServer,
} from "../../lib/control/mod.ts";
import { skipUnlessRoot } from "../../testing/mod.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "hv-ctl-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a request reaches the handler with the peer's credentials", () =>
  withDir(async (dir) => {
    const path = `${dir}/run/ha-vip/control.sock`;
    const seen: { request: ControlRequest; uid: number; pid: number }[] = [];
    const server = await openControlServer({
      path,
      handle: (request, peer) => {
        seen.push({ request, uid: peer.uid, pid: peer.pid });
        return Promise.resolve({ ok: true, message: `did ${request.op}` });
      },
    });
    try {
      // The socket is private to its owner, in a private directory.
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(`${dir}/run/ha-vip`)).mode! & 0o777, 0o700);
      const r = await controlRequest(path, { op: "handoff", forMs: 5000 }, {
        timeoutMs: 5000,
      });
      assert.deepEqual(r, { ok: true, message: "did handoff" });
      assert.deepEqual(seen, [{
        request: { op: "handoff", forMs: 5000 },
        uid: Deno.uid(),
        pid: Deno.pid,
      }]);
    } finally {
      await server.close();
    }
    // Closing removes the socket.
    await assert.rejects(() => Deno.lstat(path), Deno.errors.NotFound);
  }));

Deno.test("bad requests and failing handlers get an answer, not a hang", () =>
  withDir(async (dir) => {
    const path = `${dir}/c.sock`;
    const problems: string[] = [];
    const server = await openControlServer({
      path,
      handle: () => Promise.reject(new Error("backend says no")),
      onProblem: (m) => problems.push(m),
    });
    try {
      const r = await controlRequest(path, { op: "cancel" }, {
        timeoutMs: 5000,
      });
      assert.deepEqual(r, { ok: false, message: "failed: backend says no" });
      // A raw client that sends junk.
      const conn = await Deno.connect({ transport: "unix", path });
      await conn.write(new TextEncoder().encode('{"op":"x"}\n'));
      const buf = new Uint8Array(512);
      const n = await conn.read(buf);
      conn.close();
      assert.match(
        new TextDecoder().decode(buf.subarray(0, n!)),
        /unknown op \\"x\\"/,
      );
    } finally {
      await server.close();
    }
  }));

Deno.test("a live socket is not taken over; a stale one is replaced; other files are left alone", () =>
  withDir(async (dir) => {
    const path = `${dir}/c.sock`;
    const handle = () => Promise.resolve({ ok: true, message: "" });
    const first = await openControlServer({ path, handle });
    try {
      await assert.rejects(
        () => openControlServer({ path, handle }),
        (e: unknown) =>
          e instanceof ControlSocketError &&
          /in use by another running ha-vip/.test(e.message),
      );
    } finally {
      await first.close();
    }
    // A dead daemon's socket file (bound, never listening, closed).
    const stale = Deno.listen({ transport: "unix", path });
    stale.close();
    const exists = await Deno.lstat(path).then(() => true, () => false);
    if (!exists) {
      // Deno removed it on close: make a socket file that nobody serves.
      const { AF_UNIX, openSocket, SOCK_STREAM, sockaddrUn } = await import(
        "../../lib/sys/mod.ts"
      );
      const s = openSocket(AF_UNIX, SOCK_STREAM, 0);
      s.bind(sockaddrUn(path));
      s.close();
    }
    const second = await openControlServer({ path, handle });
    await second.close();
    await Deno.writeTextFile(path, "not a socket");
    await assert.rejects(
      () => openControlServer({ path, handle }),
      /exists and is not a socket/,
    );
    assert.equal(await Deno.readTextFile(path), "not a socket");
  }));

Deno.test("the client says what to do when nobody listens", () =>
  withDir(async (dir) => {
    await assert.rejects(
      () =>
        controlRequest(`${dir}/none.sock`, { op: "status" }, {
          timeoutMs: 1000,
        }),
      (e: unknown) =>
        e instanceof ControlClientError && /is ha-vip running/.test(e.message),
    );
  }));

const ignore = skipUnlessRoot("control channel tests as another user");

/** Runs a client as `nobody` (setpriv), resolving its output. */
async function asNobody(path: string): Promise<string> {
  const denoDir = await Deno.makeTempDir({ prefix: "hv-nobody-deno-" });
  await Deno.chmod(denoDir, 0o777);
  try {
    const script = `
      try {
        const c = await Deno.connect({ transport: "unix", path: ${
      JSON.stringify(path)
    } });
        await c.write(new TextEncoder().encode('{"op":"cancel"}\\n'));
        const b = new Uint8Array(512);
        const n = await c.read(b);
        console.log(new TextDecoder().decode(b.subarray(0, n ?? 0)).trim());
      } catch (e) { console.log("error: " + e.name); }`;
    const out = await new Deno.Command("setpriv", {
      args: [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        Deno.execPath(),
        "eval",
        script,
      ],
      env: { DENO_DIR: denoDir, HOME: denoDir, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).trim() ||
      new TextDecoder().decode(out.stderr).trim();
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
}

Deno.test({
  name:
    "another user is refused: by the socket's mode, and by SO_PEERCRED when the mode is opened up",
  ignore,
  fn: () =>
    withDir(async (dir) => {
      await Deno.chmod(dir, 0o755);
      const path = `${dir}/c.sock`;
      const calls: number[] = [];
      const problems: string[] = [];
      const server = await openControlServer({
        path,
        handle: (_r, peer) => {
          calls.push(peer.uid);
          return Promise.resolve({ ok: true, message: "served" });
        },
        onProblem: (m) => problems.push(m),
      });
      try {
        assert.equal(await asNobody(path), "error: PermissionDenied");
        await Deno.chmod(path, 0o666); // what a careless chmod would do
        const answer = JSON.parse(await asNobody(path));
        assert.equal(answer.ok, false);
        assert.match(
          answer.message,
          /permission denied: uid 65534 .* is neither root nor the service user/,
        );
        assert.deepEqual(calls, []);
        assert.match(problems.join(), /control request refused: uid 65534/);
      } finally {
        await server.close();
      }
    }),
});
