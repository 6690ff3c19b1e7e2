/**
 * The HTTP layer of the API client (node:http over Deno's connections):
 * keep-alive and its failure modes, the response limits, and malformed
 * responses from a raw server, fuzzed.
 */

import assert from "node:assert/strict";
import {
  ApiClient,
  ApiError,
  NetworkError,
  ProtocolError,
  staticTokenSource,
} from "../../lib/k8s/mod.ts";
import { SimApiServer, testPki } from "../../testing/mod.ts";

const enc = new TextEncoder();

/** What a raw server answers to the n-th request on the c-th connection. */
type Script = (
  c: number,
  n: number,
  head: string,
) => Uint8Array | string | "close";

/** Reads one request head (and its Content-Length body); null at EOF. */
async function readRequest(conn: Deno.Conn): Promise<string | null> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  for (;;) {
    const text = new TextDecoder().decode(buf);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
      if (buf.length >= end + 4 + length) return text.slice(0, end);
    }
    const n = await conn.read(chunk).catch(() => null);
    if (n === null) return null;
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
  }
}

/**
 * A plain-HTTP server answering by `script`, counting connections; with
 * `oneShot` each connection is closed after its first answer.
 */
function rawServer(script: Script, oneShot = false) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const serve = async (conn: Deno.Conn, c: number) => {
    for (let n = 0;; n++) {
      const head = await readRequest(conn);
      if (head === null) break;
      const out = script(c, n, head);
      if (out === "close") break;
      try {
        await conn.write(typeof out === "string" ? enc.encode(out) : out);
      } catch {
        break;
      }
      if (oneShot) break;
    }
    try {
      conn.close();
    } catch {
      // closed by the client
    }
  };
  const loop = (async () => {
    const served: Promise<void>[] = [];
    try {
      for await (const conn of listener) {
        conns.push(conn);
        served.push(serve(conn, conns.length - 1));
      }
    } catch {
      // listener closed
    }
    await Promise.all(served);
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get connections() {
      return conns.length;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await loop;
    },
  };
}

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

Deno.test("keep-alive: one TLS connection serves request after request", async () => {
  const pki = await testPki();
  await using sim = await SimApiServer.start();
  using client = new ApiClient({ url: sim.url, caCert: pki.caCert });
  assert.equal(client.connected, false);
  for (let i = 0; i < 5; i++) {
    assert.equal(
      (await client.request({ method: "GET", path: "/readyz" })).status,
      200,
    );
    assert.equal(client.connected, true);
  }
  const ports = new Set(sim.requests.map((r) => r.clientPort));
  assert.equal(sim.requests.length, 5);
  assert.equal(ports.size, 1, "all five requests over one connection");
  // keepAlive: false is a connection (and handshake) per request.
  using fresh = new ApiClient({
    url: sim.url,
    caCert: pki.caCert,
    keepAlive: false,
  });
  for (let i = 0; i < 3; i++) {
    await fresh.request({ method: "GET", path: "/readyz" });
  }
  assert.equal(fresh.connected, false);
  const freshPorts = new Set(sim.requests.slice(5).map((r) => r.clientPort));
  assert.equal(freshPorts.size, 3);
});

Deno.test("keep-alive: a connection the server closed while idle is replaced", async () => {
  await using raw = rawServer((_c, n) =>
    n === 0
      ? OK
      // A second request on a connection: the server closes instead.
      : "close"
  );
  using client = new ApiClient({ url: raw.url });
  assert.equal(
    (await client.request({ method: "GET", path: "/a" })).status,
    200,
  );
  // The replay rule: a GET failing on a reused connection before any
  // response is retried once on a new one.
  assert.equal(
    (await client.request({ method: "GET", path: "/b" })).status,
    200,
  );
  assert.equal(raw.connections, 2);
  // A POST is not replayed: the caller sees the failure.
  const err = await client.request({ method: "POST", path: "/c", body: "{}" })
    .catch((e) => e);
  assert.ok(err instanceof NetworkError, String(err));
  assert.equal(err.code, "ECONNRESET");
  // ...and the next request gets a fresh connection.
  assert.equal(
    (await client.request({ method: "GET", path: "/d" })).status,
    200,
  );
});

Deno.test("keep-alive: an idle connection the server closes is dropped at once", async () => {
  // Answers keep-alive, then closes every connection after one response
  // (as a server's idle timeout does).
  await using raw = rawServer(() => OK, true);
  using client = new ApiClient({ url: raw.url });
  assert.equal(
    (await client.request({ method: "GET", path: "/" })).status,
    200,
  );
  while (client.connected) await new Promise((r) => setTimeout(r, 5));
  assert.equal(
    (await client.request({ method: "GET", path: "/" })).status,
    200,
  );
  assert.equal(raw.connections, 2);
});

Deno.test("keep-alive: Connection: close from the server is honoured", async () => {
  await using raw = rawServer(() =>
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
  );
  using client = new ApiClient({ url: raw.url });
  for (let i = 0; i < 3; i++) {
    assert.equal(
      (await client.request({ method: "GET", path: "/" })).status,
      200,
    );
    assert.equal(client.connected, false);
  }
  assert.equal(raw.connections, 3);
});

Deno.test("limits: response head and body sizes are bounded", async () => {
  const bigHeader = `X-Big: ${"a".repeat(70 * 1024)}\r\n`;
  await using raw = rawServer((_c, _n, head) => {
    if (head.startsWith("GET /head")) {
      return `HTTP/1.1 200 OK\r\n${bigHeader}Content-Length: 0\r\n\r\n`;
    }
    if (head.startsWith("GET /declared")) {
      // Announces more than the limit; the client stops before reading it.
      return "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n";
    }
    if (head.startsWith("GET /chunked")) {
      const chunk = "x".repeat(600);
      return `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`;
    }
    return OK;
  });
  using client = new ApiClient({ url: raw.url, maxResponseBytes: 1000 });
  for (const path of ["/head", "/declared", "/chunked"]) {
    const err = await client.request({ method: "GET", path }).catch((e) => e);
    assert.ok(err instanceof ProtocolError, `${path}: ${err}`);
  }
  assert.equal(
    (await client.request({ method: "GET", path: "/ok" })).body,
    "ok",
  );
});

Deno.test("malformed responses are ProtocolErrors", async () => {
  const cases: Record<string, string> = {
    "/garbage": "SSH-2.0-OpenSSH_9.6\r\n",
    "/status": "HTTP/1.1 abc OK\r\n\r\n",
    "/length": "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "/two-lengths":
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "/chunk": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  };
  await using raw = rawServer((_c, _n, head) =>
    cases[head.split(" ")[1]] ?? OK
  );
  using client = new ApiClient({ url: raw.url });
  for (const path of Object.keys(cases)) {
    const err = await client.request({ method: "GET", path }).catch((e) => e);
    assert.ok(err instanceof ProtocolError, `${path}: ${err}`);
    assert.match(err.message, /invalid HTTP response/);
  }
});

Deno.test("fuzz: random and truncated responses give a response or an ApiError, never a hang", async () => {
  let seed = 0x5eed;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const valid = enc.encode(
    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n" +
      "Transfer-Encoding: chunked\r\n\r\n5\r\n[-]et\r\n8\r\ncd failed\r\n0\r\n\r\n",
  );
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < 60; i++) {
    if (i % 2 === 0) {
      payloads.push(valid.slice(0, Math.floor(random() * valid.length)));
    } else {
      const p = valid.slice();
      for (let k = 0; k < 4; k++) {
        p[Math.floor(random() * p.length)] = Math.floor(random() * 256);
      }
      payloads.push(p);
    }
  }
  // Each payload on its own connection, which then closes.
  await using raw = rawServer((c) => payloads[c] ?? "close", true);
  using client = new ApiClient({
    url: raw.url,
    keepAlive: false,
    timeoutMs: 5000,
  });
  let responses = 0;
  for (let i = 0; i < payloads.length; i++) {
    try {
      await client.request({ method: "GET", path: `/${i}` });
      responses++;
    } catch (err) {
      assert.ok(err instanceof ApiError, `payload ${i}: ${err}`);
      assert.notEqual(err.kind, "timeout", `payload ${i} hung`);
    }
  }
  assert.ok(responses < payloads.length);
});

Deno.test("keep-alive: every request on a reused connection carries the token", async () => {
  // Both requests on one connection still carry the (current) token.
  const pki = await testPki();
  const token = "reuse-token-0123456789ab";
  await using sim = await SimApiServer.start({
    tokens: { [token]: { user: "u", allow: "*" } },
  });
  using client = new ApiClient({
    url: sim.url,
    caCert: pki.caCert,
    tokenSource: staticTokenSource(token),
  });
  await client.request({ method: "GET", path: "/version" });
  await client.request({ method: "GET", path: "/version" });
  assert.deepEqual(sim.requests.map((r) => r.token), [token, token]);
  assert.equal(new Set(sim.requests.map((r) => r.clientPort)).size, 1);
});
