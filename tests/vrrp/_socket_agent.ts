/**
 * Agent run inside a test namespace (`ip netns exec NS deno run ...`):
 * FFI sockets act in the namespace of the process that opens them.
 */

import {
  type Advertisement,
  openVrrpSocket,
  parseIpv4Packet,
  validateAdvertisement,
  type ValidateOptions,
  validatePacket,
  type VrrpSocket,
  type VrrpSocketOptions,
} from "../../lib/vrrp/mod.ts";
import {
  type AuthConfig,
  AuthKey,
  createSigner,
  EMPTY_REPLAY_STATE,
  type ReplayState,
} from "../../lib/vrrp_auth/mod.ts";
import { serveAgent } from "../../testing/netns.ts";

let sock: VrrpSocket | null = null;
let auth: AuthConfig | undefined;
let replay: ReplayState = EMPTY_REPLAY_STATE;

function open(): VrrpSocket {
  if (sock === null) throw new Error("no socket: call open first");
  return sock;
}

function hexBytes(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
}

await serveAgent({
  /** Opens the socket; `keyHex` turns authentication on (key id 1, enforce). */
  open(args: Omit<VrrpSocketOptions, "sign"> & { keyHex?: string }) {
    sock?.close();
    const { keyHex, ...options } = args;
    auth = keyHex === undefined ? undefined : {
      keys: new Map([[1, new AuthKey(1, hexBytes(keyHex))]]),
      activeKeyId: 1,
      mode: "enforce",
      antiReplay: "time",
      timeWindowMs: 5000,
      replaySlots: 4,
    };
    replay = EMPTY_REPLAY_STATE;
    const signer = auth === undefined
      ? undefined
      : createSigner({ config: auth });
    sock = openVrrpSocket({ ...options, sign: signer?.sign });
    return sock.mode;
  },
  send(args: Advertisement) {
    return open().send(args).map((f) => `${f.dst}: ${f.error.message}`);
  },
  /** The first datagram that validates, with its IP header fields. */
  async receiveValid(args: { timeoutMs: number; validation: ValidateOptions }) {
    const deadline = Date.now() + args.timeoutMs;
    const drops: string[] = [];
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return { drops };
      const data = await open().recv({ timeoutMs: left });
      if (data === null) return { drops };
      const withAuth = auth === undefined
        ? undefined
        : { config: auth, replay, wallMs: Date.now() };
      const r = data instanceof Uint8Array
        ? validateAdvertisement(data, args.validation, withAuth)
        : validatePacket(data, args.validation, withAuth);
      if (!r.ok) {
        drops.push(`${r.drop}: ${r.detail}`);
        continue;
      }
      if (r.replay !== undefined) replay = r.replay;
      const header = data instanceof Uint8Array
        ? parseIpv4Packet(data)
        : { ttl: data.ttl, tos: undefined };
      return {
        drops,
        src: r.src,
        dst: r.dst,
        ttl: header.ttl,
        tos: header.tos,
        keyId: r.keyId,
        advertisement: r.advertisement,
      };
    }
  },
  close() {
    sock?.close();
    sock = null;
  },
});
