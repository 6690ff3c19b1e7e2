/**
 * A small text file (token, CA bundle) re-read only when it changes: one
 * `stat` per use, a read only when the identity/size/times differ.
 *
 * Timestamps have a granularity (ms in Deno, up to 2 s on some file
 * systems), so a rewrite with the same size within the same tick would look
 * unchanged. Like git's "racily clean" rule, a cached read is trusted only
 * once the file's mtime is well before the moment we read it; until then the
 * content is re-read (and compared) on every use.
 *
 * Files that block. A read of a FIFO, or of a file on a hung NFS, FUSE or
 * CSI mount, occupies a thread of Deno's blocking pool and cannot be
 * cancelled. So:
 * - only regular files are read (a FIFO, socket or device is refused with
 *   its own error before any `open`), and at most {@link MAX_FILE_BYTES};
 * - each path has at most ONE refresh (stat + read) outstanding in the whole
 *   process, however many readers and however often they ask: a hung file
 *   costs one thread, never one per health check;
 * - callers pass an `AbortSignal` (their deadline) and stop waiting when it
 *   fires; the refresh goes on in the background and its result is cached
 *   when (if ever) it arrives;
 * - while a refresh started by an earlier call is still outstanding, a
 *   reader that has a previous content gets that at once, marked `stale`.
 */

import { CredentialsError } from "./_errors.ts";

/** How far mtime must lie before the read for the cache to be trusted. */
const RACY_MS = 2_000;

/** The largest token or CA file read: 1 MiB (a CA bundle of a few hundred certificates). */
export const MAX_FILE_BYTES = 1024 * 1024;

interface Cached {
  signature: string;
  text: string;
  trusted: boolean;
  /** Permission bits (`mode & 0o7777`), when the platform has them. */
  mode: number | null;
}

/** What the process knows about one path, shared by every reader of it. */
interface FileState {
  cached?: Cached;
  /** The one outstanding stat + read of this path. */
  refresh?: Promise<Cached>;
  /** When it started (the reader's clock). */
  refreshSince?: number;
}

const files = new Map<string, FileState>();

/** Result of {@link WatchedFile.read}. */
export interface WatchedRead {
  text: string;
  /** The content differs from this reader's previous read (false on the first). */
  changed: boolean;
  /** Identity, size, times and mode: changes whenever the file does. */
  signature: string;
  /** Permission bits, when known. */
  mode: number | null;
  /**
   * A refresh started earlier has not finished (the file may hang): this is
   * the content of the last one that did.
   */
  stale: boolean;
  /** When stale: how long that refresh has been outstanding, ms. */
  stalledMs: number;
}

function signatureOf(info: Deno.FileInfo): string {
  return [
    info.dev,
    info.ino,
    info.size,
    info.mtime?.getTime(),
    info.ctime?.getTime(),
    info.mode,
  ].join(":");
}

/** A typed error for a stat or read failure of `path`. */
function fileError(what: string, path: string, err: unknown): CredentialsError {
  if (err instanceof CredentialsError) return err;
  const name = (err as Error)?.name ?? "Error";
  if (err instanceof Deno.errors.NotFound) {
    return new CredentialsError(`${what} ${path} does not exist`, {
      reason: "not_found",
      path,
    });
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new CredentialsError(
      `cannot read ${what} ${path}: permission denied`,
      { reason: "unreadable", path },
    );
  }
  return new CredentialsError(`cannot read ${what} ${path}: ${name}`, {
    reason: "unreadable",
    path,
  });
}

function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isSocket) return "a socket";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  return "not a regular file";
}

/** The file operations used (a seam: tests fake a read that never returns). */
export interface FileReader {
  /** `Deno.stat`. */
  stat(path: string): Promise<Deno.FileInfo>;
  /** The text of `path`; a `RangeError` when it has more than `max` bytes. */
  read(path: string, max: number): Promise<string>;
}

/** Reads at most `max` bytes of the regular file `path`; more is an error. */
async function readBounded(path: string, max: number): Promise<string> {
  using file = await Deno.open(path, { read: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const buf = new Uint8Array(64 * 1024);
    const n = await file.read(buf);
    if (n === null) break;
    size += n;
    if (size > max) throw new RangeError("too large");
    chunks.push(buf.subarray(0, n));
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

const realFileReader: FileReader = {
  stat: (path) => Deno.stat(path),
  read: readBounded,
};

/** One stat (+ read when changed) of `path`, updating `state`. */
async function refresh(
  path: string,
  what: string,
  state: FileState,
  o: { now: () => number; fs: FileReader },
): Promise<Cached> {
  let info: Deno.FileInfo;
  try {
    // stat follows symlinks: the kubelet's atomic `..data` swap changes dev/ino.
    info = await o.fs.stat(path);
  } catch (err) {
    throw fileError(what, path, err);
  }
  if (!info.isFile) {
    throw new CredentialsError(
      `${what} ${path} is ${
        kindOf(info)
      }; ha-vip reads it only from a regular file (a FIFO or device could block the health check)`,
      { reason: "not_regular", path },
    );
  }
  const tooLarge = () =>
    new CredentialsError(
      `${what} ${path} is larger than ${MAX_FILE_BYTES} bytes`,
      { reason: "too_large", path },
    );
  if (info.size > MAX_FILE_BYTES) throw tooLarge();
  const signature = signatureOf(info);
  const cached = state.cached;
  if (cached && cached.trusted && cached.signature === signature) return cached;
  const readAt = o.now();
  let text: string;
  try {
    text = await o.fs.read(path, MAX_FILE_BYTES);
  } catch (err) {
    throw err instanceof RangeError ? tooLarge() : fileError(what, path, err);
  }
  const mtime = info.mtime?.getTime();
  const mode = info.mode === null ? null : info.mode & 0o7777;
  state.cached = {
    signature,
    text,
    trusted: mtime !== undefined && mtime < readAt - RACY_MS,
    mode,
  };
  return state.cached;
}

/** Rejects with `signal.reason` when it fires first. */
function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", onAbort)
    );
  });
}

/** A file whose current content is fetched cheaply on every use. */
export class WatchedFile {
  /** The path (followed through symlinks). */
  readonly path: string;
  /** What the file is, for messages: `token file`, `CA certificate file`. */
  readonly what: string;
  #lastText?: string;
  #now: () => number;
  #fs: FileReader;

  /** A handle on `path`; nothing is read yet. */
  constructor(
    path: string,
    what = "file",
    options: { now?: () => number; fs?: FileReader } = {},
  ) {
    this.path = path;
    this.what = what;
    this.#now = options.now ?? Date.now;
    this.#fs = options.fs ?? realFileReader;
  }

  /**
   * The current content. Throws a {@link CredentialsError} (`not_found`,
   * `not_regular`, `too_large`, `unreadable`), or `signal.reason` when the
   * signal fires first.
   */
  async read(signal?: AbortSignal): Promise<WatchedRead> {
    let state = files.get(this.path);
    if (!state) files.set(this.path, state = {});
    let stale = false;
    let pending = state.refresh;
    if (pending && state.cached) {
      stale = true; // an earlier refresh is stuck: serve the last content
    } else if (!pending) {
      const s = state;
      pending = refresh(this.path, this.what, s, {
        now: this.#now,
        fs: this.#fs,
      });
      s.refresh = pending;
      s.refreshSince = this.#now();
      // Forget the refresh once it settles, whoever is still waiting.
      pending.then(
        () => {
          if (s.refresh === pending) s.refresh = undefined;
        },
        () => {
          if (s.refresh === pending) s.refresh = undefined;
        },
      );
    }
    const got = stale ? state.cached! : await untilAborted(pending, signal);
    const changed = this.#lastText !== undefined && this.#lastText !== got.text;
    this.#lastText = got.text;
    return {
      text: got.text,
      changed,
      signature: got.signature,
      mode: got.mode,
      stale,
      stalledMs: stale ? this.#now() - (state.refreshSince ?? this.#now()) : 0,
    };
  }
}
