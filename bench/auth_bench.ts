/**
 * What signed VRRP adverts cost on the receive path, per packet: the whole
 * validation of a keepalived 2.4.3 advert with and without authentication,
 * the drops that cost no HMAC (stale, replayed, unknown key) against one
 * that does (bad HMAC), and the HMAC itself with node:crypto (synchronous,
 * what the receive path uses) against Web Crypto (asynchronous).
 *
 *     deno bench --allow-read bench/auth_bench.ts
 *
 * No root needed: pure functions over the captured vectors.
 *
 * @module
 */

import { createHmac } from "node:crypto";
import { validateAdvertisement } from "../lib/vrrp/mod.ts";
import {
  type AuthConfig,
  AuthKey,
  EMPTY_REPLAY_STATE,
  recordSequence,
  replayPolicy,
} from "../lib/vrrp_auth/mod.ts";
import {
  capturedAdverts,
  VECTOR_KEY_BYTES,
} from "../tests/vrrp_auth/_support.ts";

const [a, b] = capturedAdverts("time");
const config: AuthConfig = {
  keys: new Map([[1, new AuthKey(1, VECTOR_KEY_BYTES)]]),
  activeKeyId: 1,
  mode: "enforce",
  antiReplay: "time",
  timeWindowMs: 5000,
  replaySlots: 4,
};
const options = {
  vrid: 51,
  addresses: ["10.201.0.100"],
  primaryIp: "10.201.0.12",
};
// The receiver has accepted `b` already: replaying it is a replay.
const seen = recordSequence(
  EMPTY_REPLAY_STATE,
  "10.201.0.11",
  0x6b0ce26c_c0630000n,
  b.wallMs,
  replayPolicy(config),
);
const forged = b.packet.slice();
forged[20 + 12 + 27] ^= 1; // last HMAC byte
const unknownKey = b.packet.slice();
unknownKey[20 + 12 + 1] = 9;
const unsigned = a.packet.slice(0, 20 + 12);
unsigned[3] = 32; // IPv4 total length without the trailer

function check(
  packet: Uint8Array,
  wallMs: number,
  replay = EMPTY_REPLAY_STATE,
) {
  return validateAdvertisement(packet, options, { config, replay, wallMs });
}

Deno.bench({
  name: "validate: unsigned advert, authentication off",
  group: "receive",
  baseline: true,
  fn: () => {
    validateAdvertisement(unsigned, options);
  },
});
Deno.bench({
  name: "validate: signed advert, verified (one HMAC)",
  group: "receive",
  fn: () => {
    check(b.packet, b.wallMs);
  },
});
Deno.bench({
  name: "drop: replayed advert (no HMAC)",
  group: "receive",
  fn: () => {
    check(b.packet, b.wallMs, seen);
  },
});
Deno.bench({
  name: "drop: stale capture, time mode (no HMAC)",
  group: "receive",
  fn: () => {
    check(a.packet, a.wallMs + 60_000);
  },
});
Deno.bench({
  name: "drop: unknown key id (no HMAC)",
  group: "receive",
  fn: () => {
    check(unknownKey, b.wallMs);
  },
});
Deno.bench({
  name: "drop: bad HMAC (one HMAC)",
  group: "receive",
  fn: () => {
    check(forged, b.wallMs);
  },
});

const input = new Uint8Array(20 + 12 + 28);
const webKey = await crypto.subtle.importKey(
  "raw",
  VECTOR_KEY_BYTES.slice(),
  { name: "HMAC", hash: "SHA-256" },
  false,
  ["sign"],
);
Deno.bench({
  name: "HMAC-SHA256: node:crypto createHmac (sync)",
  group: "hmac",
  baseline: true,
  fn: () => {
    createHmac("sha256", VECTOR_KEY_BYTES).update(input).digest();
  },
});
Deno.bench({
  name: "HMAC-SHA256: Web Crypto subtle.sign (async)",
  group: "hmac",
  fn: async () => {
    await crypto.subtle.sign("HMAC", webKey, input);
  },
});
