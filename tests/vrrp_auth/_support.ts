/**
 * The keepalived 2.4.3 vectors as test values: the key, the captured
 * packets split into source, PDU and trailer, and a key that counts how
 * often its secret was used (to prove a drop cost no HMAC).
 */
import { AuthKey } from "../../lib/vrrp_auth/mod.ts";

const VECTORS = new URL("./vectors/", import.meta.url);
const json = JSON.parse(
  await Deno.readTextFile(new URL("keepalived-2.4.3.json", VECTORS)),
);

/** Hex text (spaces allowed) to bytes. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** The key keepalived signed the captures with (id 1). */
export const VECTOR_KEY_BYTES: Uint8Array = hex(json.config.auth_hmac.key_hex);

/** An {@link AuthKey} that counts every use of its secret. */
export class CountingKey extends AuthKey {
  /** How often the secret was read (one per HMAC). */
  uses = 0;
  override reveal(): Uint8Array {
    this.uses++;
    return super.reveal();
  }
}

/** One captured IPv4 advert, split. */
export interface CapturedAdvert {
  /** Capture time, ms since the epoch. */
  wallMs: number;
  /** The whole IPv4 packet. */
  packet: Uint8Array;
  /** Source address bytes. */
  src: Uint8Array;
  /** The VRRP PDU. */
  pdu: Uint8Array;
  /** The 28-byte trailer. */
  trailer: Uint8Array;
}

/** The captures of one anti-replay mode, in capture order. */
export function capturedAdverts(
  mode: "time" | "monotonic",
): CapturedAdvert[] {
  const list = json.captures[`anti_replay_${mode}`] as {
    captured_unix: number;
    ip_packet_hex: string;
  }[];
  return list.map((c) => {
    const packet = hex(c.ip_packet_hex);
    const payload = packet.subarray(20);
    const pduLength = 8 + 4 * payload[3];
    return {
      wallMs: c.captured_unix * 1000,
      packet,
      src: packet.subarray(12, 16),
      pdu: payload.subarray(0, pduLength),
      trailer: payload.subarray(pduLength),
    };
  });
}
