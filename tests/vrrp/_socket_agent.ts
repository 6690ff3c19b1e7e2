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
  type VrrpSocket,
  type VrrpSocketOptions,
} from "../../lib/vrrp/mod.ts";
import { serveAgent } from "../../testing/netns.ts";

let sock: VrrpSocket | null = null;

function open(): VrrpSocket {
  if (sock === null) throw new Error("no socket: call open first");
  return sock;
}

await serveAgent({
  open(args: VrrpSocketOptions) {
    sock?.close();
    sock = openVrrpSocket(args);
    return sock.mode;
  },
  send(args: Advertisement) {
    return open().send(args).map((f) => `${f.dst}: ${f.error.message}`);
  },
  /** The first datagram that validates, with its IPv4 header fields. */
  async receiveValid(args: { timeoutMs: number; validation: ValidateOptions }) {
    const deadline = Date.now() + args.timeoutMs;
    const drops: string[] = [];
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return { drops };
      const data = await open().recv({ timeoutMs: left });
      if (data === null) return { drops };
      const r = validateAdvertisement(data, args.validation);
      if (!r.ok) {
        drops.push(`${r.drop}: ${r.detail}`);
        continue;
      }
      const ip = parseIpv4Packet(data);
      return {
        drops,
        src: r.src,
        dst: r.dst,
        ttl: ip.ttl,
        tos: ip.tos,
        advertisement: r.advertisement,
      };
    }
  },
  close() {
    sock?.close();
    sock = null;
  },
});
