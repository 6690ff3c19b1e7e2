/**
 * Abstract unix socket names (Linux): a name in the calling process's
 * network namespace that exists while a socket holds it and goes with the
 * socket (its process dying included). What `lib/instance` builds its
 * single-instance lock on.
 *
 * @module
 */
import {
  AF_UNIX,
  SO_PEERCRED,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
} from "./_constants.ts";
import { SysError } from "./_errno.ts";
import { lastErrno, libc } from "./_libc.ts";

/** The process behind a socket (`SO_PEERCRED`). */
export interface PeerCredentials {
  /** Process id (in the caller's PID namespace). */
  pid: number;
  /** User id. */
  uid: number;
  /** Group id (when the caller read it). */
  gid?: number;
}

/** A held abstract name; {@link AbstractName.close} (or exit) frees it. */
export interface AbstractName extends Disposable {
  /** Frees the name (idempotent). */
  close(): void;
}

/** `struct sockaddr_un` for an abstract name: family, NUL, the name. */
function abstractAddress(name: string): Uint8Array {
  const bytes = new TextEncoder().encode(name);
  // sun_path is 108 bytes; the leading NUL takes one.
  if (bytes.length === 0 || bytes.length > 107) {
    throw new RangeError(`an abstract socket name is 1-107 bytes: ${name}`);
  }
  const addr = new Uint8Array(2 + 1 + bytes.length);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(bytes, 3);
  return addr;
}

function openUnix(flags = 0): number {
  const fd = libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
  if (fd < 0) throw new SysError("socket AF_UNIX", lastErrno());
  return fd;
}

/**
 * Binds `name` (abstract, in this network namespace) and listens on it, so
 * that others can learn who holds it ({@link abstractNameHolder}). Null
 * when another socket holds the name. Nothing is ever accepted: a few
 * queued connections cost nothing.
 */
export function holdAbstractName(name: string): AbstractName | null {
  const addr = abstractAddress(name);
  const fd = openUnix();
  let held = false;
  try {
    // A failed bind means the name is taken (EADDRINUSE); errno is only
    // trusted for messages.
    if (libc().bind(fd, addr, addr.length) !== 0) return null;
    if (libc().listen(fd, 16) !== 0) {
      throw new SysError(`listen on @${name}`, lastErrno());
    }
    held = true;
  } finally {
    if (!held) libc().close(fd);
  }
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    libc().close(fd);
  };
  return { close, [Symbol.dispose]: close };
}

/**
 * Who holds the abstract `name`, from the kernel: a connection (without
 * blocking), then `SO_PEERCRED`. Null when that fails (nobody listens, or
 * its queue is full).
 */
export function abstractNameHolder(name: string): PeerCredentials | null {
  const addr = abstractAddress(name);
  const fd = openUnix(SOCK_NONBLOCK);
  try {
    if (libc().connect(fd, addr, addr.length) !== 0) return null;
    const cred = new Uint8Array(12);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, cred.length, true);
    if (libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len) !== 0) {
      return null;
    }
    const view = new DataView(cred.buffer);
    const pid = view.getInt32(0, true);
    return pid > 0 ? { pid, uid: view.getUint32(4, true) } : null;
  } finally {
    libc().close(fd);
  }
}
