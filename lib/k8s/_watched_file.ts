/**
 * A small text file (token, CA bundle) re-read only when it changes: one
 * `stat` per use, a read only when the identity/size/times differ.
 *
 * Timestamps have a granularity (ms in Deno, up to 2 s on some file
 * systems), so a rewrite with the same size within the same tick would look
 * unchanged. Like git's "racily clean" rule, a cached read is trusted only
 * once the file's mtime is well before the moment we read it; until then the
 * content is re-read (and compared) on every use.
 */

/** How far mtime must lie before the read for the cache to be trusted. */
const RACY_MS = 2_000;

interface Cached {
  signature: string;
  text: string;
  trusted: boolean;
}

/** Result of {@link WatchedFile.read}. */
export interface WatchedRead {
  text: string;
  /** The content differs from the previous successful read (false on the first). */
  changed: boolean;
}

function signatureOf(info: Deno.FileInfo): string {
  return [
    info.dev,
    info.ino,
    info.size,
    info.mtime?.getTime(),
    info.ctime?.getTime(),
  ].join(":");
}

/** A file whose current content is fetched cheaply on every use. */
export class WatchedFile {
  readonly path: string;
  #cached?: Cached;
  #now: () => number;

  constructor(path: string, now: () => number = Date.now) {
    this.path = path;
    this.#now = now;
  }

  /** The current content; throws the `Deno.errors` of stat/read. */
  async read(): Promise<WatchedRead> {
    // stat follows symlinks: the kubelet's atomic `..data` swap changes dev/ino.
    const info = await Deno.stat(this.path);
    const signature = signatureOf(info);
    const cached = this.#cached;
    if (cached && cached.trusted && cached.signature === signature) {
      return { text: cached.text, changed: false };
    }
    const readAt = this.#now();
    const text = await Deno.readTextFile(this.path);
    const mtime = info.mtime?.getTime();
    const trusted = mtime !== undefined && mtime < readAt - RACY_MS;
    this.#cached = { signature, text, trusted };
    return { text, changed: cached !== undefined && cached.text !== text };
  }
}
