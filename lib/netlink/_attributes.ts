/**
 * The netlink attribute layer (`struct rtattr` / `struct nlattr`): type,
 * length, value, each padded to 4. Encoders build them; the
 * {@link AttributeDecoder} walks them and keeps the first error, so a
 * message decoder reads like a list of fields and checks once at the end.
 *
 * @module
 */

/** Size of the `struct rtattr` header. */
export const RTA_HDRLEN = 4;

/** Kernel (or network) bytes that do not decode. Carries the offset. */
export class NetlinkDecodeError extends Error {
  /** Byte offset (within the decoded buffer) where decoding failed. */
  readonly offset: number;
  /** What is wrong and the byte offset where it was found. */
  constructor(message: string, offset: number) {
    super(`netlink decode: ${message} (at byte ${offset})`);
    this.name = "NetlinkDecodeError";
    this.offset = offset;
  }
}

/** Rounds up to the netlink alignment (4). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** A DataView over exactly `b`. */
export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Throws a `RangeError` unless `v` fits an unsigned field of `bits`. */
export function checkUint(name: string, v: number, bits: 8 | 16 | 32): void {
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`${name} must be an integer 0..${max}, got ${v}`);
  }
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One `rtattr`: type (raw, including NLA_F_* bits) and data (no padding). */
export interface Attribute {
  /** `rta_type`. */
  type: number;
  /** The value bytes. */
  data: Uint8Array;
}

/** Encodes attributes, each padded to 4 (`rta_len` excludes the padding). */
export function encodeAttributes(attrs: readonly Attribute[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const a of attrs) {
    const len = RTA_HDRLEN + a.data.length;
    checkUint("rta_len", len, 16);
    checkUint("rta_type", a.type, 16);
    const out = new Uint8Array(align4(len));
    const v = view(out);
    v.setUint16(0, len, true);
    v.setUint16(2, a.type, true);
    out.set(a.data, RTA_HDRLEN);
    parts.push(out);
  }
  return concat(parts);
}

/** A u8 attribute value. */
export function u8Attr(type: number, value: number): Attribute {
  checkUint("u8 attribute", value, 8);
  return { type, data: Uint8Array.of(value) };
}

/** A host-order u32 attribute value. */
export function u32Attr(type: number, value: number): Attribute {
  checkUint("u32 attribute", value, 32);
  const data = new Uint8Array(4);
  view(data).setUint32(0, value, true);
  return { type, data };
}

/** A NUL-terminated string attribute value. */
export function stringAttr(type: number, value: string): Attribute {
  const s = new TextEncoder().encode(value);
  const data = new Uint8Array(s.length + 1);
  data.set(s);
  return { type, data };
}

/**
 * Walks a run of attributes. `next()` advances (false at the end or after
 * an error); the accessors read the current value and record a
 * {@link NetlinkDecodeError} instead of throwing; {@link finish} throws the
 * first error, if any. Like the kernel's `nla_parse` and iproute2's
 * `parse_rtattr`, fewer than 4 bytes left over are ignored.
 *
 * ```ts
 * const d = new AttributeDecoder(payload.subarray(8), 24);
 * while (d.next()) if (d.type === IFA_LABEL) label = d.string();
 * d.finish();
 * ```
 */
export class AttributeDecoder {
  readonly #b: Uint8Array;
  readonly #base: number;
  #next = 0;
  #at = 0;
  #type = 0;
  #data = new Uint8Array(0);
  #err: NetlinkDecodeError | null = null;

  /** `base` is added to offsets in errors (where `b` starts in the message). */
  constructor(b: Uint8Array, base = 0) {
    this.#b = b;
    this.#base = base;
  }

  /** Advances to the next attribute; false at the end or after an error. */
  next(): boolean {
    if (this.#err !== null || this.#b.length - this.#next < RTA_HDRLEN) {
      return false;
    }
    const o = this.#next;
    const v = view(this.#b.subarray(o));
    const len = v.getUint16(0, true);
    if (len < RTA_HDRLEN) return this.#fail(`rta_len ${len} < 4`, o);
    if (len > this.#b.length - o) {
      return this.#fail(
        `rta_len ${len} exceeds the ${this.#b.length - o} bytes left`,
        o,
      );
    }
    this.#at = o;
    this.#type = v.getUint16(2, true);
    this.#data = this.#b.slice(o + RTA_HDRLEN, o + len);
    this.#next = o + Math.min(align4(len), this.#b.length - o);
    return true;
  }

  /** The current attribute's type. */
  get type(): number {
    return this.#type;
  }

  /** The current attribute's value bytes (a copy). */
  get data(): Uint8Array {
    return this.#data;
  }

  /** The first error, or null. */
  get err(): NetlinkDecodeError | null {
    return this.#err;
  }

  /** The value as a u8 (at least 1 byte). */
  uint8(what: string): number {
    return this.#need(what, 1) ? this.#data[0] : 0;
  }

  /** The value as a host-order u32 (at least 4 bytes). */
  uint32(what: string): number {
    return this.#need(what, 4) ? view(this.#data).getUint32(0, true) : 0;
  }

  /** The value up to its first NUL, as UTF-8. */
  string(): string {
    const end = this.#data.indexOf(0);
    return new TextDecoder().decode(
      end < 0 ? this.#data : this.#data.subarray(0, end),
    );
  }

  /** The value bytes, which must be exactly `length` long. */
  bytes(what: string, length: number): Uint8Array {
    if (this.#data.length !== length) {
      this.#fail(`${what} of ${this.#data.length} bytes, want ${length}`);
      return new Uint8Array(0);
    }
    return this.#data;
  }

  /** Decodes the value with `fn`; a {@link NetlinkDecodeError} it throws is kept. */
  do<T>(fn: (data: Uint8Array, offset: number) => T): T | undefined {
    if (this.#err !== null) return undefined;
    try {
      return fn(this.#data, this.#base + this.#at + RTA_HDRLEN);
    } catch (err) {
      if (!(err instanceof NetlinkDecodeError)) throw err;
      this.#err = err;
      return undefined;
    }
  }

  /** Throws the first error, if there was one. */
  finish(): void {
    if (this.#err !== null) throw this.#err;
  }

  #need(what: string, bytes: number): boolean {
    if (this.#data.length >= bytes) return true;
    this.#fail(`${what} needs ${bytes} bytes, got ${this.#data.length}`);
    return false;
  }

  #fail(message: string, at = this.#at): false {
    this.#err ??= new NetlinkDecodeError(message, this.#base + at);
    return false;
  }
}

/**
 * Decodes a run of attributes into a list; an `rta_len` below 4 or past
 * the end throws {@link NetlinkDecodeError}. `base` is added to offsets.
 */
export function decodeAttributes(b: Uint8Array, base = 0): Attribute[] {
  const out: Attribute[] = [];
  const d = new AttributeDecoder(b, base);
  while (d.next()) out.push({ type: d.type, data: d.data });
  d.finish();
  return out;
}
