/**
 * A reader for classic pcap files (what `tcpdump -w` writes), for tests
 * that check captured packets: frames with their capture time, and the IP
 * packet inside an Ethernet frame. Written independently of lib/.
 *
 * @module
 */

/** One captured frame. */
export interface PcapFrame {
  /** Capture time, seconds since the epoch. */
  time: number;
  /** The link-layer frame as captured. */
  data: Uint8Array;
}

/** A pcap file's link type and frames. */
export interface Pcap {
  /** 1 = Ethernet, 113 = Linux cooked (`tcpdump -i any`). */
  linkType: number;
  frames: PcapFrame[];
}

/** Parses a classic pcap file (either byte order, µs or ns timestamps). */
export function parsePcap(bytes: Uint8Array): Pcap {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  let little: boolean;
  let nanos: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    little = true;
    nanos = magic === 0xa1b23c4d;
  } else if (view.getUint32(0, false) === 0xa1b2c3d4) {
    little = false;
    nanos = false;
  } else if (view.getUint32(0, false) === 0xa1b23c4d) {
    little = false;
    nanos = true;
  } else {
    throw new Error(`not a pcap file (magic 0x${magic.toString(16)})`);
  }
  const linkType = view.getUint32(20, little);
  const frames: PcapFrame[] = [];
  let at = 24;
  while (at + 16 <= bytes.length) {
    const sec = view.getUint32(at, little);
    const frac = view.getUint32(at + 4, little);
    const captured = view.getUint32(at + 8, little);
    at += 16;
    if (at + captured > bytes.length) throw new Error("pcap file is cut");
    frames.push({
      time: sec + frac / (nanos ? 1e9 : 1e6),
      data: bytes.slice(at, at + captured),
    });
    at += captured;
  }
  return { linkType, frames };
}

/** The IP packet inside a frame of `linkType` (Ethernet or cooked). */
export function ipPacketOf(linkType: number, frame: Uint8Array): Uint8Array {
  if (linkType === 1) {
    const etherType = (frame[12] << 8) | frame[13];
    if (etherType !== 0x0800 && etherType !== 0x86dd) {
      throw new Error(`frame carries ethertype 0x${etherType.toString(16)}`);
    }
    return frame.subarray(14);
  }
  if (linkType === 113) return frame.subarray(16);
  throw new Error(`unsupported pcap link type ${linkType}`);
}
