/**
 * Authentication keys: the `ID:FILE` specification, the key file format
 * keepalived accepts for `auth_hmac` keys (raw bytes, or `hex:` and hex
 * digits), and a holder that never prints its secret.
 *
 * @module
 */

/** Fewest key bytes (HMAC-SHA256 wants at least its output size). */
export const AUTH_KEY_MIN_BYTES = 32;
/** Most key bytes (SHA-256's block size; longer keys would be hashed). */
export const AUTH_KEY_MAX_BYTES = 64;

/** What a key prints as, everywhere. */
const REDACTED = "<redacted>";

/**
 * One authentication key: its id (1-255, carried in every trailer) and
 * its secret bytes. String conversion, JSON, `Deno.inspect` and
 * `node:util.inspect` show only the id.
 */
export class AuthKey {
  /** The key id, 1-255. */
  readonly id: number;
  // A private field: Deno.inspect and util.inspect do not show it.
  #bytes: Uint8Array;

  /**
   * Wraps a copy of `bytes` ({@link AUTH_KEY_MIN_BYTES}-{@link AUTH_KEY_MAX_BYTES}
   * of them). Throws a `RangeError` (without the bytes) otherwise.
   */
  constructor(id: number, bytes: Uint8Array) {
    if (!Number.isInteger(id) || id < 1 || id > 255) {
      throw new RangeError(`key id must be an integer 1-255, got ${id}`);
    }
    if (
      bytes.length < AUTH_KEY_MIN_BYTES || bytes.length > AUTH_KEY_MAX_BYTES
    ) {
      throw new RangeError(
        `key ${id} has ${bytes.length} bytes; a key has ${AUTH_KEY_MIN_BYTES} to ${AUTH_KEY_MAX_BYTES}`,
      );
    }
    this.id = id;
    this.#bytes = bytes.slice();
  }

  /** The secret bytes, for the HMAC only. Never log or format them. */
  reveal(): Uint8Array {
    return this.#bytes;
  }

  /** Number of secret bytes (safe to report). */
  get length(): number {
    return this.#bytes.length;
  }

  /** `AuthKey(1, <redacted>)`. */
  toString(): string {
    return `AuthKey(${this.id}, ${REDACTED})`;
  }

  /** `{ id, key: "<redacted>" }` in JSON. */
  toJSON(): { id: number; key: string } {
    return { id: this.id, key: REDACTED };
  }

  /** For `Deno.inspect` / `console.log`. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /** For `node:util.inspect`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** A parsed `ID:FILE` key specification. */
export interface KeySpec {
  /** Key id, 1-255. */
  id: number;
  /** Path of the file holding the key. */
  file: string;
}

/**
 * Parses `ID:FILE` (`"1:/etc/ha-vip/vrrp-key-1"`). Returns the spec or a
 * sentence saying what is wrong and what would be valid (the text holds
 * a path, never a secret, so it may be quoted).
 */
export function parseKeySpec(text: string): KeySpec | { error: string } {
  const m = /^\s*(\d{1,3})\s*:(.+)$/.exec(text);
  if (!m) {
    return {
      error: `${
        JSON.stringify(text)
      } is not ID:FILE; use a key id 1-255, a colon and the key file, e.g. "1:/etc/ha-vip/vrrp-key-1"`,
    };
  }
  const id = Number(m[1]);
  if (id < 1 || id > 255) {
    return {
      error: `${JSON.stringify(text)} has key id ${id}; key ids are 1-255`,
    };
  }
  const file = m[2].trim();
  if (file === "") {
    return {
      error: `${JSON.stringify(text)} names no key file after the colon`,
    };
  }
  return { id, file };
}

const HEX_PREFIX = "hex:";

function isPrintable(bytes: Uint8Array, end: number): boolean {
  for (let i = 0; i < end; i++) {
    if (bytes[i] < 0x20 || bytes[i] > 0x7e) return false;
  }
  return true;
}

/**
 * The key bytes a key file holds, as keepalived reads a key: `hex:`
 * followed by 64-128 hex digits, or the raw bytes themselves. A text key
 * (printable ASCII) may end with one line break, which is not part of it
 * (editors and `echo` add one); binary keys are taken byte for byte.
 * Returns the bytes, or a problem sentence that never contains them.
 */
export function decodeKeyFile(
  content: Uint8Array,
): Uint8Array | { error: string } {
  const prefix = new TextDecoder().decode(
    content.subarray(0, HEX_PREFIX.length),
  );
  if (prefix.toLowerCase() === HEX_PREFIX) {
    const digits = new TextDecoder().decode(content.subarray(HEX_PREFIX.length))
      .replace(/\s+$/, "");
    const bad = digits.search(/[^0-9a-fA-F]/);
    if (bad >= 0) {
      return {
        error:
          `has a character that is not a hex digit after "hex:" (position ${
            bad + HEX_PREFIX.length + 1
          })`,
      };
    }
    if (digits.length % 2 !== 0) {
      return { error: `has an odd number of hex digits (${digits.length})` };
    }
    const out = new Uint8Array(digits.length / 2);
    for (let i = 0; i < out.length; i++) {
      out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
    }
    return checkLength(out, "hex:");
  }
  let end = content.length;
  if (end > 0 && content[end - 1] === 0x0a) {
    let cut = end - 1;
    if (cut > 0 && content[cut - 1] === 0x0d) cut--;
    if (isPrintable(content, cut)) end = cut;
  }
  return checkLength(content.slice(0, end), "raw");
}

function checkLength(
  key: Uint8Array,
  form: string,
): Uint8Array | { error: string } {
  if (key.length >= AUTH_KEY_MIN_BYTES && key.length <= AUTH_KEY_MAX_BYTES) {
    return key;
  }
  const hint = form === "hex:"
    ? `write ${AUTH_KEY_MIN_BYTES * 2} to ${
      AUTH_KEY_MAX_BYTES * 2
    } hex digits after "hex:"`
    : `e.g. "hex:" followed by the output of \`openssl rand -hex 32\``;
  return {
    error:
      `holds a ${key.length}-byte key (${form}); a key has ${AUTH_KEY_MIN_BYTES} to ${AUTH_KEY_MAX_BYTES} bytes: ${hint}`,
  };
}

/** Reads key files; a seam so tests need no files. */
export interface KeyFileReader {
  /** The file's bytes. */
  readFile(path: string): Promise<Uint8Array>;
  /** Its permission bits (`st_mode & 0o7777`), or null when unknown. */
  mode(path: string): Promise<number | null>;
}

const DENO_READER: KeyFileReader = {
  readFile: (path) => Deno.readFile(path),
  mode: async (path) => (await Deno.stat(path)).mode,
};

/** A key that could not be loaded. */
export class AuthKeyError extends Error {
  /** One sentence per bad key, each naming the key id and the file. */
  readonly problems: readonly string[];

  /** One error for all of `problems` (the message joins them). */
  constructor(problems: string[]) {
    super(problems.join("; "));
    this.name = "AuthKeyError";
    this.problems = problems;
  }
}

/** Options of {@link loadAuthKeys}. */
export interface LoadKeysOptions {
  /** Called once per key file every user may read (or someone may write). */
  warn?: (message: string) => void;
  /** File access (default: the real file system). */
  reader?: KeyFileReader;
}

/**
 * Why a key file's mode exposes it, or null. Group read is fine (the
 * hardened unit runs as a service user that may read a root-owned key
 * through its group); every-user access and group write are not.
 */
function exposure(mode: number): string | null {
  const problems: string[] = [];
  if (mode & 0o004) problems.push("readable by every user");
  if (mode & 0o002) problems.push("writable by every user");
  else if (mode & 0o020) problems.push("writable by its group");
  return problems.length > 0 ? problems.join(" and ") : null;
}

function errorName(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "is a directory";
  return err instanceof Error ? err.name : "unknown error";
}

/**
 * Reads every key file. Throws one {@link AuthKeyError} listing every
 * problem (unreadable, wrong length, bad hex, a key id given twice);
 * nothing is returned half-loaded. The messages name the id and the path,
 * never a key byte.
 */
export async function loadAuthKeys(
  specs: readonly KeySpec[],
  options: LoadKeysOptions = {},
): Promise<Map<number, AuthKey>> {
  const reader = options.reader ?? DENO_READER;
  const keys = new Map<number, AuthKey>();
  const problems: string[] = [];
  const seen = new Set<number>();
  for (const spec of specs) {
    const what = `key ${spec.id} (${spec.file})`;
    if (seen.has(spec.id)) {
      problems.push(
        `${what}: key id ${spec.id} is given twice; give each key its own id`,
      );
      continue;
    }
    seen.add(spec.id);
    let content: Uint8Array;
    try {
      const mode = await reader.mode(spec.file);
      const exposed = mode === null ? null : exposure(mode);
      if (exposed !== null) {
        const octal = (mode! & 0o7777).toString(8).padStart(4, "0");
        options.warn?.(
          `authentication key file ${spec.file} is ${exposed} (mode ${octal}): anyone who can read it can forge VRRP adverts; fix: chmod 600 ${spec.file}`,
        );
      }
      content = await reader.readFile(spec.file);
    } catch (err) {
      problems.push(`${what}: cannot read the key file: ${errorName(err)}`);
      continue;
    }
    const decoded = decodeKeyFile(content);
    content.fill(0);
    if ("error" in decoded) {
      problems.push(`${what}: the key file ${decoded.error}`);
      continue;
    }
    keys.set(spec.id, new AuthKey(spec.id, decoded));
    decoded.fill(0);
  }
  if (problems.length > 0) throw new AuthKeyError(problems);
  return keys;
}
