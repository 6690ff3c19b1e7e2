/**
 * The hostile host of the authentication lab test, run inside the lab's
 * client namespace as a netns agent: it captures real adverts off the wire,
 * then floods priority-254 adverts — unsigned, signed with a wrong key —
 * and replays the captures verbatim (their source address included, through
 * an IP_HDRINCL socket), the way an attacker on the segment would.
 */
import { AuthKey, createSigner } from "../../lib/vrrp_auth/mod.ts";
import {
  AF_INET,
  openSocket,
  SO_BINDTODEVICE,
  SOCK_RAW,
  sockaddrIn,
  SOL_SOCKET,
} from "../../lib/sys/mod.ts";
import { openVrrpSocket, parseIpv4Packet } from "../../lib/vrrp/mod.ts";
import { serveAgent } from "../../testing/netns.ts";

/** IPPROTO_RAW: a raw socket that sends whole IPv4 datagrams (IP_HDRINCL). */
const IPPROTO_RAW = 255;

let captured: Uint8Array[] = [];

await serveAgent({
  /** Keeps every advert from `from` heard within `ms`. */
  async capture(
    args: { ifname: string; own: string; from: string; ms: number },
  ) {
    using sock = openVrrpSocket({
      interface: args.ifname,
      primaryIp: args.own,
    });
    const end = Date.now() + args.ms;
    captured = [];
    while (Date.now() < end) {
      const d = await sock.recv({ timeoutMs: end - Date.now() });
      if (d instanceof Uint8Array && parseIpv4Packet(d).src === args.from) {
        captured.push(d);
      }
    }
    return captured.length;
  },
  /**
   * For `ms`, every `everyMs`: a priority-254 advert unsigned and one
   * signed with a wrong key (both from `own`), and the next capture again.
   * Returns what it sent.
   */
  async flood(args: {
    ifname: string;
    own: string;
    vips: string[];
    ms: number;
    everyMs: number;
  }) {
    const wrong = new AuthKey(1, new Uint8Array(32).fill(0x66));
    const signer = createSigner({
      config: {
        keys: new Map([[1, wrong]]),
        activeKeyId: 1,
        mode: "enforce",
        antiReplay: "time",
        timeWindowMs: 5000,
        replaySlots: 4,
      },
    });
    using plain = openVrrpSocket({
      interface: args.ifname,
      primaryIp: args.own,
    });
    using signed = openVrrpSocket({
      interface: args.ifname,
      primaryIp: args.own,
      sign: signer.sign,
    });
    using raw = openSocket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    raw.setsockopt(
      SOL_SOCKET,
      SO_BINDTODEVICE,
      new TextEncoder().encode(args.ifname + "\0"),
    );
    const advert = {
      vrid: 51,
      priority: 254,
      maxAdvertIntervalCs: 50,
      addresses: args.vips,
    };
    const sent = {
      unsigned: 0,
      wrongKey: 0,
      replayed: 0,
      errors: [] as string[],
    };
    const end = Date.now() + args.ms;
    for (let i = 0; Date.now() < end; i++) {
      if (plain.send(advert).length === 0) sent.unsigned++;
      if (signed.send(advert).length === 0) sent.wrongKey++;
      if (captured.length > 0) {
        try {
          raw.sendTo(captured[i % captured.length], sockaddrIn("224.0.0.18"));
          sent.replayed++;
        } catch (err) {
          if (sent.errors.length < 3) sent.errors.push(String(err));
        }
      }
      await new Promise((r) => setTimeout(r, args.everyMs));
    }
    return sent;
  },
});
