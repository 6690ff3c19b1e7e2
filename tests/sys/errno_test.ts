import assert from "node:assert/strict";
import { Errno, errnoHint, errnoName, SysError } from "../../lib/sys/mod.ts";

Deno.test("errno names match Linux numbers", () => {
  assert.equal(errnoName(1), "EPERM");
  assert.equal(errnoName(17), "EEXIST");
  assert.equal(errnoName(19), "ENODEV");
  assert.equal(errnoName(99), "EADDRNOTAVAIL");
  assert.equal(errnoName(101), "ENETUNREACH");
  assert.equal(errnoName(105), "ENOBUFS");
  assert.equal(errnoName(4242), "E?4242");
  assert.equal(Errno.EAGAIN, 11);
  assert.equal(Errno.EINTR, 4);
  assert.equal(Errno.EACCES, 13);
  assert.equal(Errno.EINVAL, 22);
  // Names are unique: no number maps to two names.
  const nums = Object.values(Errno);
  assert.equal(new Set(nums).size, nums.length);
});

Deno.test("SysError keeps op, errno, name and hint", () => {
  const e = new SysError("socket AF_PACKET/SOCK_DGRAM/0", Errno.EPERM);
  assert.equal(e.name, "SysError");
  assert.equal(e.op, "socket AF_PACKET/SOCK_DGRAM/0");
  assert.equal(e.errno, 1);
  assert.equal(e.code, "EPERM");
  assert.match(e.hint!, /CAP_NET_ADMIN \/ CAP_NET_RAW \(run as root\)/);
  assert.equal(
    e.message,
    "socket AF_PACKET/SOCK_DGRAM/0: EPERM (errno 1): needs CAP_NET_ADMIN / CAP_NET_RAW (run as root)",
  );
  assert.equal(errnoHint(4242), undefined);
  assert.equal(new SysError("x", 4242).message, "x: E?4242 (errno 4242)");
});
