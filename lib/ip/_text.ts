/**
 * IP and MAC address text <-> bytes. Pure: no I/O. The one parser of
 * addresses in ha-vip: configuration checks, sockaddr builders, codecs and
 * netlink all use it.
 *
 * @module
 */

/** Thrown for address text that does not parse. */
export class AddressParseError extends TypeError {
  /** `kind` of address, the offending `text`, and `why` it is invalid. */
  constructor(kind: string, text: string, why: string) {
    super(`invalid ${kind} ${JSON.stringify(text)}: ${why}`);
    this.name = "AddressParseError";
  }
}

/** Parses dotted-quad IPv4 text (`"10.0.0.1"`) into 4 network-order bytes. */
export function parseIPv4(text: string): Uint8Array {
  const parts = text.split(".");
  if (parts.length !== 4) {
    throw new AddressParseError("IPv4 address", text, "expected a.b.c.d");
  }
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    // No leading zeros: "010" is octal to some tools and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) {
      throw new AddressParseError(
        "IPv4 address",
        text,
        `octet ${JSON.stringify(p)} is not 0-255`,
      );
    }
    out[i] = Number(p);
  }
  return out;
}

/** Formats 4 bytes as dotted-quad IPv4 text. */
export function formatIPv4(bytes: Uint8Array): string {
  if (bytes.length !== 4) {
    throw new RangeError(`IPv4 address needs 4 bytes, got ${bytes.length}`);
  }
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** The 16-bit groups of one side of `::` (a trailing dotted quad is two). */
function ipv6Groups(text: string, side: string): number[] {
  if (side === "") return [];
  const parts = side.split(":");
  const words: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i === parts.length - 1 && p.includes(".")) {
      const v4 = parseIPv4(p);
      words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
      words.push(parseInt(p, 16));
    } else {
      throw new AddressParseError(
        "IPv6 address",
        text,
        `group ${JSON.stringify(p)} is not 1-4 hex digits`,
      );
    }
  }
  return words;
}

/**
 * Parses IPv6 text (RFC 4291 §2.2, including `::` and a trailing dotted
 * quad) into 16 bytes. Zone suffixes (`%eth0`) are rejected: the interface
 * is configured separately.
 */
export function parseIPv6(text: string): Uint8Array {
  const kind = "IPv6 address";
  if (text.includes("%")) {
    throw new AddressParseError(kind, text, "zone suffixes are not accepted");
  }
  const halves = text.split("::");
  if (halves.length > 2) {
    throw new AddressParseError(kind, text, "more than one '::'");
  }
  const head = ipv6Groups(text, halves[0]);
  let words = head;
  if (halves.length === 2) {
    const tail = ipv6Groups(text, halves[1]);
    if (halves[0].includes(".")) {
      throw new AddressParseError(kind, text, "dotted quad must come last");
    }
    const missing = 8 - head.length - tail.length;
    if (missing < 1) {
      throw new AddressParseError(kind, text, "'::' stands for no groups");
    }
    words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  }
  if (words.length !== 8) {
    throw new AddressParseError(kind, text, "expected 8 groups");
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >> 8;
    out[2 * i + 1] = words[i] & 0xff;
  }
  return out;
}

/** Formats 16 bytes as canonical IPv6 text (RFC 5952). */
export function formatIPv6(bytes: Uint8Array): string {
  if (bytes.length !== 16) {
    throw new RangeError(`IPv6 address needs 16 bytes, got ${bytes.length}`);
  }
  const words: number[] = [];
  for (let i = 0; i < 8; i++) {
    words.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  }
  // Longest run of >= 2 zero groups, first one on ties (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${
    hex(words.slice(bestStart + bestLen))
  }`;
}

/** An IP version: 4 or 6. */
export type IpFamily = 4 | 6;

/** Parses IPv4 or IPv6 text; returns the family and the bytes. */
export function parseIP(text: string): { family: IpFamily; bytes: Uint8Array } {
  if (text.includes(":")) return { family: 6, bytes: parseIPv6(text) };
  return { family: 4, bytes: parseIPv4(text) };
}

/** Formats 4 or 16 bytes as IPv4 or IPv6 text. */
export function formatIP(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIPv4(bytes);
  if (bytes.length === 16) return formatIPv6(bytes);
  throw new RangeError(`an IP address has 4 or 16 bytes, got ${bytes.length}`);
}

/** Whether `text` is an IPv4 address as {@link parseIPv4} accepts it. */
export function isIPv4(text: string): boolean {
  return parses(() => parseIPv4(text));
}

/** Whether `text` is an IPv6 address as {@link parseIPv6} accepts it. */
export function isIPv6(text: string): boolean {
  return parses(() => parseIPv6(text));
}

function parses(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch (err) {
    if (err instanceof AddressParseError) return false;
    throw err;
  }
}

/** Parses `"aa:bb:cc:dd:ee:ff"` into 6 bytes. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(":");
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    throw new AddressParseError(
      "MAC address",
      text,
      "expected aa:bb:cc:dd:ee:ff",
    );
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** Formats bytes as lower-case colon-separated hex (`"aa:bb:cc:dd:ee:ff"`). */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}
