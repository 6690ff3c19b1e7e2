/**
 * A minimal HTTP/1.1 client codec (RFC 9112), pure: a request encoder and an
 * incremental response decoder that is fed bytes and says when a response is
 * complete. No I/O, so it is tested with byte fixtures and fuzzed.
 *
 * Supported framing: Content-Length, chunked, and read-until-close; bodyless
 * responses (HEAD, 1xx, 204, 304); interim 1xx responses are skipped. Sizes
 * are bounded; anything malformed throws {@link ProtocolError}.
 */

import { ProtocolError } from "./errors.ts";

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** RFC 9110 token characters (methods, header names). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A request to encode. Header values must not contain CR, LF or NUL. */
export interface RequestHead {
  method: string;
  /** Origin-form target: `/path?query`. */
  target: string;
  /** The Host header value (`host:port`). */
  host: string;
  headers: [string, string][];
  body?: Uint8Array;
}

/** Encodes a request head and body; throws `TypeError` on unsafe input (header injection). */
export function encodeRequest(req: RequestHead): Uint8Array {
  if (!TOKEN.test(req.method)) {
    throw new TypeError(`invalid HTTP method "${req.method}"`);
  }
  if (!/^\/[\x21-\x7e]*$/.test(req.target)) {
    throw new TypeError(
      "request target must start with / and contain only visible ASCII",
    );
  }
  const lines = [`${req.method} ${req.target} HTTP/1.1`, `Host: ${req.host}`];
  for (
    const [name, value] of [
      ["Host", req.host] as [string, string],
      ...req.headers,
    ]
  ) {
    if (!TOKEN.test(name)) throw new TypeError(`invalid header name "${name}"`);
    // Only say which header: the value may be a credential.
    if (/[\r\n\0]/.test(value)) {
      throw new TypeError(`header ${name} contains CR, LF or NUL`);
    }
  }
  for (const [name, value] of req.headers) {
    // The codec owns framing: a caller's Host/Content-Length would duplicate it.
    if (/^(host|content-length|transfer-encoding)$/i.test(name)) {
      throw new TypeError(`header ${name} is set by the client`);
    }
    lines.push(`${name}: ${value}`);
  }
  const hasBody = req.body !== undefined ||
    ["POST", "PUT", "PATCH"].includes(req.method);
  if (hasBody) lines.push(`Content-Length: ${req.body?.length ?? 0}`);
  const head = encoder.encode(lines.join("\r\n") + "\r\n\r\n");
  if (!req.body || req.body.length === 0) return head;
  const out = new Uint8Array(head.length + req.body.length);
  out.set(head);
  out.set(req.body, head.length);
  return out;
}

/** A complete response. Header names are lower-case, in arrival order. */
export interface DecodedResponse {
  httpVersion: string;
  status: number;
  statusText: string;
  headers: [string, string][];
  body: Uint8Array;
}

/** Limits of {@link ResponseDecoder}. */
export interface DecoderOptions {
  /** The request method (HEAD responses have no body). */
  method: string;
  /** Status line + headers, each response head. Default 64 KiB. */
  maxHeadBytes?: number;
  /** Decoded body. Default 1 MiB. */
  maxBodyBytes?: number;
}

type Framing =
  | { type: "length"; remaining: number }
  | {
    type: "chunked";
    state: "size" | "data" | "data-end" | "trailer";
    remaining: number;
  }
  | { type: "close" };

const MAX_LINE = 8 * 1024;

/** Finds "\n" at or after `from`; -1 if absent. */
function indexOfLf(buf: Uint8Array, from: number): number {
  return buf.indexOf(0x0a, from);
}

/** Decodes one response from a byte stream, fed with {@link push}. */
export class ResponseDecoder {
  readonly #method: string;
  readonly #maxHead: number;
  readonly #maxBody: number;
  // Unconsumed input is #pending[#off..]; compacted once per push so that
  // many small chunks cost linear, not quadratic, time.
  #pending: Uint8Array = new Uint8Array(0);
  #off = 0;
  // Where the head scan resumes (start of the first unscanned line in #rest()).
  #scan = 0;
  #head?: Omit<DecodedResponse, "body">;
  #framing?: Framing;
  #chunks: Uint8Array[] = [];
  #bodyBytes = 0;
  #done?: DecodedResponse;

  constructor(options: DecoderOptions) {
    this.#method = options.method.toUpperCase();
    this.#maxHead = options.maxHeadBytes ?? 64 * 1024;
    this.#maxBody = options.maxBodyBytes ?? 1024 * 1024;
  }

  /** Feeds bytes; returns the response once complete (bytes after it are ignored). */
  push(chunk: Uint8Array): DecodedResponse | undefined {
    if (this.#done) return this.#done;
    const rest = this.#pending.subarray(this.#off);
    this.#pending = rest.length === 0 ? chunk.slice() : concat(rest, chunk);
    this.#off = 0;
    for (;;) {
      if (!this.#head) {
        if (!this.#parseHead()) return undefined;
        continue;
      }
      const progressed = this.#parseBody();
      if (this.#done) return this.#done;
      if (!progressed) return undefined;
    }
  }

  /** The unconsumed input. */
  #rest(): Uint8Array {
    return this.#pending.subarray(this.#off);
  }

  /** The stream ended: returns the response if it is complete, else throws. */
  end(): DecodedResponse {
    if (this.#done) return this.#done;
    if (!this.#head) {
      throw new ProtocolError(
        this.#rest().length === 0
          ? "connection closed before a response"
          : "connection closed inside the response head",
      );
    }
    if (this.#framing?.type === "close") return this.#finish();
    throw new ProtocolError(
      "connection closed before the end of the response body",
    );
  }

  #parseHead(): boolean {
    if (this.#scan === 0) {
      // Tolerate stray empty lines before the status line (RFC 9112 §2.2).
      const raw = this.#rest();
      let skip = 0;
      while (skip < raw.length && (raw[skip] === 0x0d || raw[skip] === 0x0a)) {
        skip++;
      }
      this.#off += skip;
    }
    const buf = this.#rest();
    // The head ends at an empty line; tolerate bare LF line endings.
    let end = -1;
    let lineStart = this.#scan;
    for (;;) {
      const lf = indexOfLf(buf, lineStart);
      if (lf < 0) break;
      const lineLen = lf - lineStart -
        (lf > lineStart && buf[lf - 1] === 0x0d ? 1 : 0);
      if (lineLen === 0) {
        end = lf + 1;
        break;
      }
      lineStart = lf + 1;
    }
    if (end < 0) {
      this.#scan = lineStart;
      if (buf.length > this.#maxHead) {
        throw new ProtocolError(
          `response head larger than ${this.#maxHead} bytes`,
        );
      }
      return false;
    }
    if (end > this.#maxHead) {
      throw new ProtocolError(
        `response head larger than ${this.#maxHead} bytes`,
      );
    }
    const lines = latin1.decode(buf.subarray(0, end)).split("\n").map((l) =>
      l.replace(/\r$/, "")
    );
    const statusLine = lines.shift() ?? "";
    const m = /^(HTTP\/1\.[01]) (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) {
      throw new ProtocolError(
        `malformed status line ${JSON.stringify(statusLine.slice(0, 80))}`,
      );
    }
    const status = Number(m[2]);
    const headers: [string, string][] = [];
    for (const line of lines) {
      if (line === "") continue;
      if (line[0] === " " || line[0] === "\t") {
        throw new ProtocolError("obsolete header line folding");
      }
      const colon = line.indexOf(":");
      const name = colon > 0 ? line.slice(0, colon) : "";
      if (!TOKEN.test(name)) {
        throw new ProtocolError(
          `malformed header line ${JSON.stringify(line.slice(0, 80))}`,
        );
      }
      headers.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
    }
    this.#off += end;
    this.#scan = 0;
    if (status >= 100 && status < 200 && status !== 101) return true; // interim: parse the next head
    this.#head = { httpVersion: m[1], status, statusText: m[3] ?? "", headers };
    this.#framing = this.#framingOf(status, headers);
    return true;
  }

  #framingOf(status: number, headers: [string, string][]): Framing {
    if (
      this.#method === "HEAD" || status === 204 || status === 304 ||
      status < 200
    ) {
      return { type: "length", remaining: 0 };
    }
    const te = headers.filter(([n]) => n === "transfer-encoding").map(([, v]) =>
      v
    ).join(",");
    if (te.trim() !== "") {
      const codings = te.split(",").map((c) => c.trim().toLowerCase()).filter((
        c,
      ) => c !== "");
      // Chunked must be last to frame the message; otherwise read until close.
      return codings[codings.length - 1] === "chunked"
        ? { type: "chunked", state: "size", remaining: 0 }
        : { type: "close" };
    }
    const lengths = headers.filter(([n]) => n === "content-length").flatMap((
      [, v],
    ) => v.split(","))
      .map((v) => v.trim());
    if (lengths.length === 0) return { type: "close" };
    if (
      !lengths.every((v) => /^\d{1,15}$/.test(v)) || new Set(lengths).size !== 1
    ) {
      throw new ProtocolError(
        `invalid Content-Length ${
          JSON.stringify(lengths.join(",").slice(0, 40))
        }`,
      );
    }
    const length = Number(lengths[0]);
    if (length > this.#maxBody) {
      throw new ProtocolError(
        `response body of ${length} bytes exceeds the limit of ${this.#maxBody}`,
      );
    }
    return { type: "length", remaining: length };
  }

  #appendBody(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#bodyBytes += bytes.length;
    if (this.#bodyBytes > this.#maxBody) {
      throw new ProtocolError(
        `response body exceeds the limit of ${this.#maxBody} bytes`,
      );
    }
    this.#chunks.push(bytes.slice());
  }

  #finish(): DecodedResponse {
    const body = new Uint8Array(this.#bodyBytes);
    let off = 0;
    for (const c of this.#chunks) {
      body.set(c, off);
      off += c.length;
    }
    this.#done = { ...this.#head!, body };
    this.#chunks = [];
    return this.#done;
  }

  /** Consumes what it can; returns whether anything was consumed. */
  #parseBody(): boolean {
    const f = this.#framing!;
    const buf = this.#rest();
    if (f.type === "close") {
      this.#appendBody(buf);
      this.#off += buf.length;
      return false;
    }
    if (f.type === "length") {
      const take = Math.min(f.remaining, buf.length);
      this.#appendBody(buf.subarray(0, take));
      f.remaining -= take;
      this.#off += take;
      if (f.remaining === 0) this.#finish();
      return take > 0;
    }
    // Chunked.
    if (f.state === "data") {
      const take = Math.min(f.remaining, buf.length);
      this.#appendBody(buf.subarray(0, take));
      f.remaining -= take;
      this.#off += take;
      if (f.remaining === 0) f.state = "data-end";
      return take > 0;
    }
    const lf = indexOfLf(buf, 0);
    if (lf < 0) {
      if (buf.length > MAX_LINE) throw new ProtocolError("chunk line too long");
      return false;
    }
    if (lf + 1 > MAX_LINE) throw new ProtocolError("chunk line too long");
    const line = latin1.decode(buf.subarray(0, lf)).replace(/\r$/, "");
    this.#off += lf + 1;
    if (f.state === "data-end") {
      if (line !== "") throw new ProtocolError("missing CRLF after chunk data");
      f.state = "size";
      return true;
    }
    if (f.state === "trailer") {
      if (line === "") this.#finish();
      return true;
    }
    const sizeText = line.split(";")[0].trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) {
      throw new ProtocolError(
        `malformed chunk size ${JSON.stringify(sizeText.slice(0, 20))}`,
      );
    }
    const size = parseInt(sizeText, 16);
    if (size === 0) {
      f.state = "trailer";
      return true;
    }
    if (this.#bodyBytes + size > this.#maxBody) {
      throw new ProtocolError(
        `response body exceeds the limit of ${this.#maxBody} bytes`,
      );
    }
    f.state = "data";
    f.remaining = size;
    return true;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
