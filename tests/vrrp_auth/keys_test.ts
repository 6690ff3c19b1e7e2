import assert from "node:assert/strict";
import { inspect } from "node:util";
import {
  AuthKey,
  AuthKeyError,
  decodeKeyFile,
  type KeyFileReader,
  loadAuthKeys,
  parseKeySpec,
} from "../../lib/vrrp_auth/mod.ts";

const text = (s: string) => new TextEncoder().encode(s);
const HEX32 =
  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

Deno.test("parseKeySpec reads ID:FILE and names what is wrong", () => {
  assert.deepEqual(parseKeySpec("1:/etc/ha-vip/k1"), {
    id: 1,
    file: "/etc/ha-vip/k1",
  });
  assert.deepEqual(parseKeySpec("255:relative/k"), {
    id: 255,
    file: "relative/k",
  });
  // Only the first colon separates: paths may contain colons.
  assert.deepEqual(parseKeySpec("7:/k:x"), { id: 7, file: "/k:x" });
  for (const bad of ["0:/k", "256:/k", "/k", "x:/k", "1:", "1: ", ""]) {
    const r = parseKeySpec(bad);
    assert.ok("error" in r, bad);
  }
  assert.match((parseKeySpec("0:/k") as { error: string }).error, /1-255/);
});

Deno.test("decodeKeyFile: hex: like keepalived, 32 to 64 bytes", () => {
  const k = decodeKeyFile(text(`hex:${HEX32}\n`));
  assert.ok(k instanceof Uint8Array);
  assert.deepEqual(k, Uint8Array.from({ length: 32 }, (_, i) => i));
  assert.ok(
    decodeKeyFile(text(`HEX:${HEX32.toUpperCase()}`)) instanceof Uint8Array,
  );
  assert.ok(decodeKeyFile(text(`hex:${HEX32}${HEX32}`)) instanceof Uint8Array);
  for (
    const [bad, why] of [
      [`hex:${HEX32.slice(2)}`, /31-byte key/],
      [`hex:${HEX32}${HEX32}00`, /65-byte key/],
      [`hex:${HEX32}0`, /odd number/],
      [`hex:${HEX32.slice(0, 10)}zz${HEX32.slice(12)}`, /position 15/],
    ] as const
  ) {
    const r = decodeKeyFile(text(bad));
    assert.ok(!(r instanceof Uint8Array), bad);
    assert.match(r.error, why);
  }
});

Deno.test("decodeKeyFile: raw keys, a text key's final newline dropped", () => {
  const phrase = "correct horse battery staple, 32+ bytes long";
  assert.deepEqual(decodeKeyFile(text(phrase + "\n")), text(phrase));
  assert.deepEqual(decodeKeyFile(text(phrase + "\r\n")), text(phrase));
  assert.deepEqual(decodeKeyFile(text(phrase)), text(phrase));
  // Binary keys are taken byte for byte, a final 0x0a included.
  const binary = Uint8Array.from({ length: 32 }, (_, i) => (i * 37) & 0xff);
  binary[31] = 0x0a;
  assert.deepEqual(decodeKeyFile(binary), binary);
  const short = decodeKeyFile(text("too short\n"));
  assert.ok(!(short instanceof Uint8Array));
  assert.match(short.error, /9-byte key/);
  // The message never carries key material.
  assert.doesNotMatch(short.error, /too short/);
});

Deno.test("AuthKey never prints its secret", () => {
  const secret = "a-very-secret-key-that-is-32-bytes!!";
  const key = new AuthKey(3, text(secret));
  for (
    const shown of [
      String(key),
      JSON.stringify({ key }),
      Deno.inspect(key),
      Deno.inspect({ nested: [key] }),
      inspect(key),
      `${key}`,
    ]
  ) {
    assert.doesNotMatch(shown, /very-secret/);
    assert.match(shown, /3/);
  }
  assert.throws(() => new AuthKey(0, text(secret)), RangeError);
  assert.throws(() => new AuthKey(1, new Uint8Array(31)), /31 bytes/);
  assert.throws(() => new AuthKey(1, new Uint8Array(65)), /65 bytes/);
});

function fakeReader(
  files: Record<string, { content?: string; mode?: number }>,
) {
  const reader: KeyFileReader = {
    readFile(path) {
      const f = files[path];
      if (f?.content === undefined) {
        return Promise.reject(new Deno.errors.NotFound(`open '${path}'`));
      }
      return Promise.resolve(text(f.content));
    },
    mode(path) {
      const f = files[path];
      if (f === undefined) {
        return Promise.reject(new Deno.errors.NotFound(`stat '${path}'`));
      }
      return Promise.resolve(f.mode ?? 0o100600);
    },
  };
  return reader;
}

Deno.test("loadAuthKeys loads every key or reports every problem", async () => {
  const secret = "s3cret-".repeat(6);
  const reader = fakeReader({
    "/k1": { content: `hex:${HEX32}\n` },
    "/k2": { content: secret, mode: 0o100644 },
    "/short": { content: "hex:00" },
    "/shortraw": { content: "s3cret" },
  });
  const warnings: string[] = [];
  const keys = await loadAuthKeys([{ id: 1, file: "/k1" }, {
    id: 2,
    file: "/k2",
  }], { reader, warn: (m) => warnings.push(m) });
  assert.deepEqual([...keys.keys()], [1, 2]);
  assert.equal(keys.get(2)!.length, secret.length);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /\/k2 is readable by every user \(mode 0644\): anyone who can read it can forge VRRP adverts/,
  );
  assert.match(warnings[0], /chmod 600/);

  await assert.rejects(
    () =>
      loadAuthKeys([
        { id: 1, file: "/k1" },
        { id: 1, file: "/k2" },
        { id: 3, file: "/missing" },
        { id: 4, file: "/short" },
        { id: 5, file: "/shortraw" },
      ], { reader }),
    (err: unknown) => {
      assert.ok(err instanceof AuthKeyError);
      assert.equal(err.problems.length, 4);
      assert.match(err.problems[0], /key 1 \(\/k2\): key id 1 is given twice/);
      assert.match(
        err.problems[1],
        /key 3 \(\/missing\): cannot read the key file: no such file/,
      );
      assert.match(
        err.problems[2],
        /key 4 \(\/short\): the key file holds a 1-byte key/,
      );
      assert.match(err.problems[3], /key 5 .* 6-byte key/);
      assert.doesNotMatch(err.message, /s3cret/);
      return true;
    },
  );
});

Deno.test("loadAuthKeys reads real files and warns about their mode", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/key`;
    await Deno.writeTextFile(path, `hex:${HEX32}`);
    await Deno.chmod(path, 0o664);
    const warnings: string[] = [];
    const keys = await loadAuthKeys([{ id: 9, file: path }], {
      warn: (m) => warnings.push(m),
    });
    assert.equal(keys.get(9)!.reveal()[31], 0x1f);
    assert.match(
      warnings.join(),
      /readable by every user and writable by its group \(mode 0664\)/,
    );
    // Group read is how the service user reads a root-owned key: fine.
    await Deno.chmod(path, 0o640);
    warnings.length = 0;
    await loadAuthKeys([{ id: 9, file: path }], {
      warn: (m) => warnings.push(m),
    });
    assert.deepEqual(warnings, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
