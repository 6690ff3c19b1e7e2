import assert from "node:assert/strict";
import {
  describePeer,
  encodeRequest,
  encodeResponse,
  MAX_HANDOFF_MS,
  parseRequest,
  parseResponse,
  refusePeer,
} from "../../lib/control/mod.ts";
import { property } from "../sys/_fuzz.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("requests: one JSON line each way", () => {
  assert.equal(
    text(encodeRequest({ op: "handoff", forMs: 600_000 })),
    '{"op":"handoff","for_ms":600000}\n',
  );
  assert.equal(
    text(encodeRequest({ op: "handoff", forMs: null })),
    '{"op":"handoff","for_ms":null}\n',
  );
  assert.equal(text(encodeRequest({ op: "cancel" })), '{"op":"cancel"}\n');
  for (
    const r of [
      { op: "handoff", forMs: 1 },
      { op: "handoff", forMs: null },
      { op: "cancel" },
      { op: "status" },
    ] as const
  ) {
    assert.deepEqual(parseRequest(text(encodeRequest(r)).trim()), r);
  }
  // for_ms may be left out: until cancelled.
  assert.deepEqual(parseRequest('{"op":"handoff"}'), {
    op: "handoff",
    forMs: null,
  });
});

Deno.test("requests: every bad one is named", () => {
  for (
    const [line, why] of [
      ["nope", /not JSON/],
      ["[1]", /not a JSON object/],
      ['{"op":"reboot"}', /unknown op "reboot"/],
      ['{"op":"handoff","for_ms":0}', /for_ms/],
      ['{"op":"handoff","for_ms":1.5}', /for_ms/],
      [`{"op":"handoff","for_ms":${MAX_HANDOFF_MS + 1}}`, /for_ms/],
      ['{"op":"handoff","for_ms":"10m"}', /for_ms/],
    ] as const
  ) {
    const r = parseRequest(line);
    assert.ok("error" in r, line);
    assert.match(r.error, why);
  }
});

Deno.test("responses round-trip; garbage is a failed response", () => {
  const r = { ok: true, message: "done", handoff: null };
  assert.deepEqual(parseResponse(text(encodeResponse(r)).trim()), r);
  assert.equal(parseResponse("{}").ok, false);
  assert.equal(parseResponse("x").ok, false);
});

Deno.test("only root and the service user may use the channel", () => {
  const peer = { pid: 42, uid: 1000, gid: 1000 };
  assert.equal(refusePeer({ ...peer, uid: 0 }, 999), undefined);
  assert.equal(refusePeer({ ...peer, uid: 999 }, 999), undefined);
  assert.match(
    refusePeer(peer, 999)!,
    /uid 1000 \(pid 42\) is neither root nor the service user \(uid 999\)/,
  );
  assert.equal(describePeer(peer), "uid 1000, pid 42");
});

Deno.test("fuzz: parseRequest never throws", () => {
  property("parseRequest", 3000, (prng) => {
    const pieces = [
      '{"op":',
      '"handoff"',
      '"cancel"',
      ',"for_ms":',
      "1",
      "-1",
      "null",
      "}",
      "[",
      '"',
      "\\u0000",
      "1e400",
    ];
    let line = "";
    for (let i = prng.int(0, 8); i > 0; i--) line += prng.pick(pieces);
    const r = parseRequest(line);
    assert.ok("error" in r || "op" in r);
  });
});
