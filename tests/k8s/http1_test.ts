import assert from "node:assert/strict";
import { encodeRequest, ResponseDecoder } from "../../lib/k8s/_http1.ts";
import { ProtocolError } from "../../lib/k8s/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function decodeAll(
  text: string | Uint8Array,
  options: { method?: string; maxBodyBytes?: number; split?: number } = {},
) {
  const bytes = typeof text === "string" ? enc.encode(text) : text;
  const d = new ResponseDecoder({
    method: options.method ?? "GET",
    maxBodyBytes: options.maxBodyBytes,
  });
  const step = options.split ?? bytes.length;
  for (let i = 0; i < bytes.length; i += Math.max(1, step)) {
    const r = d.push(bytes.subarray(i, i + Math.max(1, step)));
    if (r) return r;
  }
  return d.end();
}

Deno.test("encodeRequest: request line, Host, headers, Content-Length, body", () => {
  const wire = dec.decode(encodeRequest({
    method: "PUT",
    target: "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/vip",
    host: "127.0.0.1:6443",
    headers: [["Accept", "application/json"], [
      "Content-Type",
      "application/json",
    ]],
    body: enc.encode('{"a":1}'),
  }));
  assert.equal(
    wire,
    "PUT /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/vip HTTP/1.1\r\n" +
      "Host: 127.0.0.1:6443\r\n" +
      "Accept: application/json\r\n" +
      "Content-Type: application/json\r\n" +
      "Content-Length: 7\r\n" +
      "\r\n" +
      '{"a":1}',
  );
});

Deno.test("encodeRequest: GET has no Content-Length; POST without body has 0", () => {
  const get = dec.decode(
    encodeRequest({ method: "GET", target: "/readyz", host: "h", headers: [] }),
  );
  assert.equal(get, "GET /readyz HTTP/1.1\r\nHost: h\r\n\r\n");
  const post = dec.decode(
    encodeRequest({ method: "POST", target: "/x", host: "h", headers: [] }),
  );
  assert.equal(
    post,
    "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
  );
});

Deno.test("encodeRequest: rejects header injection without echoing the value", () => {
  const secret = "abc\r\nX-Evil: 1";
  assert.throws(
    () =>
      encodeRequest({
        method: "GET",
        target: "/readyz",
        host: "h",
        headers: [["Authorization", `Bearer ${secret}`]],
      }),
    (err: Error) => err instanceof TypeError && !err.message.includes("abc"),
  );
  assert.throws(
    () =>
      encodeRequest({ method: "GET", target: "/a b", host: "h", headers: [] }),
    TypeError,
  );
  assert.throws(
    () =>
      encodeRequest({ method: "G ET", target: "/", host: "h", headers: [] }),
    TypeError,
  );
  assert.throws(
    () =>
      encodeRequest({
        method: "GET",
        target: "/",
        host: "h",
        headers: [["Content-Length", "1"]],
      }),
    TypeError,
  );
});

Deno.test("decoder: Content-Length body, headers lower-cased and in order", () => {
  const r = decodeAll(
    "HTTP/1.1 200 OK\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\n" + // kube-apiserver's
      "X-Content-Type-Options: nosniff\r\n" +
      "Content-Length: 2\r\n" +
      "\r\n" +
      "ok",
  );
  assert.equal(r.status, 200);
  assert.equal(r.statusText, "OK");
  assert.deepEqual(r.headers, [
    ["content-type", "text/plain; charset=utf-8"],
    ["x-content-type-options", "nosniff"],
    ["content-length", "2"],
  ]);
  assert.equal(dec.decode(r.body), "ok");
});

Deno.test("decoder: chunked with extensions and trailers, fed byte by byte", () => {
  const wire = "HTTP/1.1 500 Internal Server Error\r\n" +
    "Transfer-Encoding: chunked\r\n" +
    "\r\n" +
    "10;ext=1\r\n" + // 16 bytes
    "[-]etcd failed: \r\n" +
    "f\r\n" + // 15 bytes
    "reason withheld\r\n" +
    "0\r\n" +
    "X-Trailer: t\r\n" +
    "\r\n" +
    "garbage after the response is ignored";
  for (const split of [1, 3, 7, 1000]) {
    const r = decodeAll(wire, { split });
    assert.equal(r.status, 500);
    assert.equal(dec.decode(r.body), "[-]etcd failed: reason withheld");
  }
});

Deno.test("decoder: body until close when neither length nor chunked", () => {
  const d = new ResponseDecoder({ method: "GET" });
  assert.equal(
    d.push(enc.encode("HTTP/1.0 200 OK\r\n\r\npart one, ")),
    undefined,
  );
  assert.equal(d.push(enc.encode("part two")), undefined);
  assert.equal(dec.decode(d.end().body), "part one, part two");
});

Deno.test("decoder: bodyless responses (HEAD, 204, 304) and skipped 100 Continue", () => {
  assert.equal(
    decodeAll("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", {
      method: "HEAD",
    }).body.length,
    0,
  );
  assert.equal(decodeAll("HTTP/1.1 204 No Content\r\n\r\n").status, 204);
  assert.equal(
    decodeAll("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n").body
      .length,
    0,
  );
  const r = decodeAll(
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}",
  );
  assert.equal(r.status, 201);
  assert.equal(dec.decode(r.body), "{}");
});

Deno.test("decoder: tolerates bare LF and leading empty lines", () => {
  const r = decodeAll("\r\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok");
  assert.equal(r.status, 200);
  assert.equal(dec.decode(r.body), "ok");
});

Deno.test("decoder: malformed input is a ProtocolError", () => {
  const bad = [
    "HTTP/2 200 OK\r\n\r\n",
    "HTTP/1.1 2000 OK\r\n\r\n",
    "SSH-2.0-OpenSSH\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n",
  ];
  for (const text of bad) {
    assert.throws(() => decodeAll(text), ProtocolError, JSON.stringify(text));
  }
});

Deno.test("decoder: truncated responses are a ProtocolError at end()", () => {
  for (
    const text of [
      "",
      "HTTP/1.1 200 OK\r\nContent-Le",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n",
    ]
  ) {
    assert.throws(() => decodeAll(text), ProtocolError, JSON.stringify(text));
  }
});

Deno.test("decoder: body and head sizes are bounded", () => {
  assert.throws(
    () =>
      decodeAll("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", {
        maxBodyBytes: 1000,
      }),
    ProtocolError,
  );
  assert.throws(
    () =>
      decodeAll("HTTP/1.1 200 OK\r\n\r\n" + "x".repeat(1001), {
        maxBodyBytes: 1000,
      }),
    ProtocolError,
  );
  assert.throws(
    () =>
      decodeAll(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + "100\r\n" +
          "x".repeat(256) + "\r\n" +
          "400\r\n",
        { maxBodyBytes: 1000 },
      ),
    ProtocolError,
  );
  const d = new ResponseDecoder({ method: "GET", maxHeadBytes: 100 });
  assert.throws(
    () => d.push(enc.encode("HTTP/1.1 200 OK\r\nX: " + "y".repeat(200))),
    ProtocolError,
  );
});

Deno.test("decoder fuzz: random and truncated input gives a value or a ProtocolError", () => {
  // Deterministic PRNG (xorshift) so a failure is reproducible.
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const valid = [
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\r\n{}",
  ].map((t) => enc.encode(t));
  const alphabet = enc.encode(
    "HTTP/1.0 200OK\r\n:;-ChunkedTransfer-EncodingContent-Length0123456789abcdefxyz \t",
  );
  for (let i = 0; i < 3000; i++) {
    let input: Uint8Array;
    const mode = i % 3;
    if (mode === 0) {
      input = new Uint8Array(Math.floor(rand() * 200));
      for (let j = 0; j < input.length; j++) {
        input[j] = Math.floor(rand() * 256);
      }
    } else if (mode === 1) {
      input = new Uint8Array(Math.floor(rand() * 200));
      for (let j = 0; j < input.length; j++) {
        input[j] = alphabet[Math.floor(rand() * alphabet.length)];
      }
    } else {
      const base = valid[i % valid.length];
      input = base.slice(0, Math.floor(rand() * (base.length + 1)));
      if (input.length > 0 && rand() < 0.5) {
        input[Math.floor(rand() * input.length)] = Math.floor(rand() * 256);
      }
    }
    const d = new ResponseDecoder({
      method: "GET",
      maxBodyBytes: 1024,
      maxHeadBytes: 512,
    });
    try {
      let done = undefined;
      for (
        let off = 0;
        off < input.length && !done;
        off += 1 + Math.floor(rand() * 16)
      ) {
        done = d.push(input.subarray(off, off + 1 + Math.floor(rand() * 16)));
      }
      const r = done ?? d.end();
      assert.ok(r.status >= 100 && r.status <= 999);
      assert.ok(r.body.length <= 1024);
    } catch (err) {
      assert.ok(
        err instanceof ProtocolError,
        `unexpected ${(err as Error)?.name}: ${(err as Error)?.message}`,
      );
    }
  }
});
