/**
 * Limits of the configuration: values that pass a naive check but cannot
 * work (durations no timer holds, addresses that are not a host's, names the
 * kernel refuses, files and lists too large to be meant).
 */
import assert from "node:assert/strict";
import {
  ConfigError,
  FIELDS,
  loadConfig,
  renderReference,
} from "../../lib/config/mod.ts";
import { runCli } from "../../testing/mod.ts";

/** Deno's timers hold at most 2^31-1 ms and fire a longer one after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const BASE = { vip: "10.0.0.100/24", interface: "eth0" };
const CHECK = ["check", "--vip", BASE.vip, "--interface", BASE.interface];

/** The issues of a configuration that must be refused, one line each. */
async function refused(
  flags: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<string[]> {
  try {
    await loadConfig({ flags: { ...BASE, ...flags }, env });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.message.split("\n");
  }
  assert.fail(`accepted: ${JSON.stringify(flags)}`);
}

async function accepted(flags: Record<string, unknown>): Promise<void> {
  await loadConfig({ flags: { ...BASE, ...flags }, env: {} });
}

Deno.test("every duration field has a maximum a timer can hold, shown in the reference", () => {
  const table = renderReference();
  for (const f of FIELDS.filter((f) => f.kind === "duration")) {
    assert.ok(f.max !== undefined, `${f.path} has no maximum`);
    assert.ok(f.max <= MAX_TIMER_MS, `${f.path}: ${f.max} > 2^31-1 ms`);
    const row = table.split("\n").find((l) => l.startsWith(`| \`${f.path}\``));
    assert.match(row!, /Valid: from \S+ to \S+\./, f.path);
  }
});

Deno.test("durations beyond their maximum are refused, naming the field and the range", async () => {
  // Both were accepted and then fired every millisecond (issue 7, item 10).
  let issues = await refused({ "announce.refresh_interval": "720h" });
  assert.ok(
    issues.some((l) =>
      l.startsWith(
        `announce.refresh_interval: "720h" is out of range; use from 0s to 1h (from --announce-refresh-interval)`,
      )
    ),
    issues.join("\n"),
  );
  issues = await refused({ "health.interval": "9999999h" });
  assert.ok(
    issues.some((l) =>
      l.startsWith(`health.interval: "9999999h" is out of range`)
    ),
    issues.join("\n"),
  );
  // Far beyond what a double holds: still a range error, never "Infinity".
  issues = await refused({ "health.stability_window": "9".repeat(400) + "h" });
  assert.ok(
    issues.some((l) =>
      /health\.stability_window: "9+h" is out of range; use from 0s to 1h/.test(
        l,
      )
    ),
    issues.join("\n"),
  );
  assert.ok(!issues.join("\n").includes("Infinity"));
  for (const f of FIELDS.filter((f) => f.kind === "duration")) {
    await refused({ [f.path]: `${f.max! + 10}ms` });
  }
  await accepted({
    "announce.refresh_interval": "1h",
    "health.interval": "10m",
    "health.timeout": "1m",
  });
});

Deno.test("vip add refuses a lifetime the kernel's 32-bit seconds cannot hold", async () => {
  // The interface does not exist: had the lifetime passed, the kernel
  // lookup would fail with exit 1 instead.
  const r = await runCli([
    "vip",
    "add",
    "--vip",
    "10.0.0.100/24",
    "--interface",
    "hvnone0",
    "--lifetime",
    "9999999999h",
  ]);
  assert.equal(r.status, 2, r.err);
  assert.match(
    r.err,
    /--lifetime "9999999999h" is not valid; use whole seconds up to 4294967294s/,
  );
});

/** Asserts that `flags` are refused with a line starting `field: "value" reason`. */
async function refusedFor(
  flags: Record<string, unknown>,
  line: RegExp,
): Promise<void> {
  const issues = await refused(flags);
  assert.ok(issues.some((l) => line.test(l)), `${line}\n${issues.join("\n")}`);
}

Deno.test("a VIP that cannot be one host's unicast address is refused, with the reason", async () => {
  const cases: [string, RegExp][] = [
    [
      "10.0.0.0/24",
      /^vip: "10\.0\.0\.0\/24" is the network address of its \/24 subnet/,
    ],
    [
      "10.0.0.255/24",
      /^vip: "10\.0\.0\.255\/24" is the broadcast address of its \/24 subnet/,
    ],
    ["0.0.0.0/24", /^vip: "0\.0\.0\.0\/24" is the unspecified address/],
    ["0.1.2.3/24", /^vip: "0\.1\.2\.3\/24" is in 0\.0\.0\.0\/8/],
    [
      "255.255.255.255/32",
      /^vip: "255\.255\.255\.255\/32" is the limited broadcast address/,
    ],
    ["224.0.0.18/24", /^vip: "224\.0\.0\.18\/24" is a multicast address/],
    ["239.1.1.1/32", /^vip: "239\.1\.1\.1\/32" is a multicast address/],
    ["127.0.0.5/8", /^vip: "127\.0\.0\.5\/8" is a loopback address/],
    ["::/64", /^vip: "::\/64" is the unspecified address/],
    ["::1/128", /^vip: "::1\/128" is the loopback address/],
    ["ff02::1/64", /^vip: "ff02::1\/64" is a multicast address/],
    ["fe80::5/64", /^vip: "fe80::5\/64" is a link-local address/],
    [
      "::ffff:10.0.0.1/120",
      /^vip: "::ffff:10\.0\.0\.1\/120" is an IPv4-mapped address/,
    ],
    ["fd00::/64", /^vip: "fd00::\/64" is the subnet-router anycast address/],
  ];
  for (const [vip, line] of cases) await refusedFor({ vip }, line);
  // Every VIP message says what a VIP must be.
  const issues = await refused({ vip: "10.0.0.0/24" });
  assert.match(
    issues[0],
    /a VIP must be a free unicast address of the nodes' subnet/,
  );
  // Point-to-point prefixes have no network or broadcast address.
  await accepted({ vip: "10.0.0.0/31" });
  await accepted({ vip: "10.0.0.1/31" });
  await accepted({ vip: "10.0.0.255/32" });
  await accepted({ vip: "10.0.0.100/24" });
});

Deno.test("IPv6 VIPs are accepted in VRRP mode; unusable IPv6 addresses are refused", async () => {
  await accepted({ vip: "fd00::100/64" });
  await refusedFor(
    { vip: "fe80::100/64" },
    /^vip: "fe80::100\/64" is a link-local address/,
  );
});

Deno.test("interface names the kernel would refuse are refused, naming the rule", async () => {
  const cases: [string, RegExp][] = [
    [
      "a-very-long-name0",
      /^interface: "a-very-long-name0" is 17 bytes long; Linux interface names have at most 15/,
    ],
    ["éééééééé", /is 16 bytes long/], // 8 characters, 16 bytes
    ["eth0/1", /^interface: "eth0\/1" contains "\/"/],
    ["eth0:1", /^interface: "eth0:1" contains ":" \(an alias label/],
    ["eth 0", /^interface: "eth 0" contains white space/],
    ["eth0\n", /contains white space/],
    ["..", /^interface: "\.\." is not a name/],
    [".", /^interface: "\." is not a name/],
  ];
  for (const [name, line] of cases) {
    await refusedFor({ interface: name }, line);
  }
  await accepted({ interface: "bond0.100" });
  await accepted({ interface: "enp0s31f6" });
  await accepted({ interface: "fifteen-bytes-0" });
});

Deno.test("unicast peers: duplicates, this node's own source address, the VIP and non-unicast addresses are refused", async () => {
  await refusedFor(
    { "election.vrrp.unicast_peers": ["10.0.0.2", "10.0.0.3", "10.0.0.2"] },
    /^election\.vrrp\.unicast_peers: "10\.0\.0\.2" is listed twice/,
  );
  await refusedFor(
    {
      "election.vrrp.source_address": "10.0.0.1",
      "election.vrrp.unicast_peers": ["10.0.0.1", "10.0.0.2"],
    },
    /^election\.vrrp\.unicast_peers: "10\.0\.0\.1" is this node's own election\.vrrp\.source_address/,
  );
  await refusedFor(
    { "election.vrrp.unicast_peers": ["10.0.0.100"] },
    /^election\.vrrp\.unicast_peers: "10\.0\.0\.100" is the VIP/,
  );
  await refusedFor(
    { "election.vrrp.unicast_peers": ["224.0.0.18"] },
    /^election\.vrrp\.unicast_peers: "224\.0\.0\.18" is a multicast address/,
  );
  await refusedFor(
    { "election.vrrp.source_address": "10.0.0.100" },
    /^election\.vrrp\.source_address: "10\.0\.0\.100" is the VIP itself/,
  );
  await refusedFor(
    { "election.vrrp.source_address": "127.0.0.1" },
    /^election\.vrrp\.source_address: "127\.0\.0\.1" is a loopback address/,
  );
  await accepted({
    "election.vrrp.source_address": "10.0.0.1",
    "election.vrrp.unicast_peers": ["10.0.0.2", "10.0.0.3"],
  });
});

Deno.test("a token with a line break or other unsendable character is refused without showing it", async () => {
  const token = "abcdefgh12345678\nsecond-line-of-token";
  for (
    const issues of [
      await refused({ "k8s.token": token }),
      await refused({}, { HA_VIP_K8S_TOKEN: token }),
    ]
  ) {
    const text = issues.join("\n");
    assert.match(
      text,
      /^k8s\.token: has a line break at position 16 \(length 37\)/m,
    );
    assert.ok(
      !text.includes("abcdefgh") && !text.includes("second-line"),
      text,
    );
  }
  // The trailing newline of `echo $TOKEN` or a pasted line is trimmed.
  await accepted({ "k8s.token": "abcdefgh12345678\n" });
});

Deno.test("credentials in api_server or health.url are refused and never printed", async () => {
  for (
    const [flag, field] of [["--api-server", "k8s.api_server"], [
      "--health-url",
      "health.url",
    ]]
  ) {
    for (
      const url of [
        "https://admin:s3cr3tpass@10.0.0.1:6443",
        "https://s3cr3tpass@10.0.0.1:6443/",
        "https://admin:s3cr3tpass@", // no host: not even a URL
      ]
    ) {
      const r = await runCli([...CHECK, flag, url]);
      assert.equal(r.status, 2, `${url}: ${r.out}`);
      assert.ok(!r.out.includes("s3cr3t") && !r.err.includes("s3cr3t"), r.err);
      assert.match(
        r.err,
        new RegExp(`${field.replace(".", "\\.")}: "https://<redacted>@`),
      );
    }
    const r = await runCli([
      ...CHECK,
      flag,
      "https://admin:s3cr3tpass@10.0.0.1:6443",
    ]);
    assert.match(r.err, /carries credentials in the URL/);
  }
});

/** The issues of loading `text` as the configuration file. */
async function fileIssues(text: string | Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({
    prefix: "ha-vip-limits-",
    suffix: ".yaml",
  });
  try {
    if (typeof text === "string") await Deno.writeTextFile(path, text);
    else await Deno.writeFile(path, text);
    await loadConfig({ file: path, env: {} });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.message;
  } finally {
    await Deno.remove(path);
  }
  assert.fail("the file was accepted");
}

const HEAD = "vip: 10.0.0.100/24\ninterface: eth0\n";

Deno.test("a configuration file over 1 MiB is refused at once, whatever it holds", async () => {
  // 2 MiB of comments: valid YAML, so only the size can refuse it.
  const text = await fileIssues(
    HEAD + "# padding padding padding padding\n".repeat(60_000),
  );
  assert.match(text, /cannot read config file .*: it is larger than 1 MiB/);
});

Deno.test("--config /dev/zero is read only up to the limit", async () => {
  // Not run against the old code: it read /dev/zero until memory ran out.
  let message = "";
  try {
    await loadConfig({ file: "/dev/zero", env: {} });
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(
    message,
    /cannot read config file \/dev\/zero: it is larger than 1 MiB/,
  );
});

Deno.test("lists longer than the field's maximum are refused, from the file, the environment and flags", async () => {
  const peers = Array.from({ length: 65 }, (_, i) => `10.0.1.${i + 1}`);
  const yaml = HEAD + "election:\n  vrrp:\n    unicast_peers:\n" +
    peers.map((p) => `      - ${p}\n`).join("");
  assert.match(
    await fileIssues(yaml),
    /election\.vrrp\.unicast_peers: has 65 entries; at most 64 are allowed/,
  );
  const issues = await refused({}, {
    HA_VIP_ELECTION_VRRP_UNICAST_PEERS: peers.join(","),
  });
  assert.ok(
    issues.some((l) => /unicast_peers: has 65 entries/.test(l)),
    issues.join("\n"),
  );
  await accepted({ "election.vrrp.unicast_peers": peers.slice(0, 64) });
});

Deno.test("YAML aliases, extra documents, huge numbers and tags get messages in ha-vip's words", async () => {
  let text = await fileIssues("vip: &v 10.0.0.100/24\ninterface: *v\n");
  assert.match(
    text,
    /^interface: uses the YAML alias \*v; ha-vip does not follow aliases: write the value itself \(from .*:2:12\)$/m,
  );
  assert.ok(!text.includes('"source"'), text);

  text = await fileIssues(
    "election: &e\n  vrrp:\n    vrid: 5\nhealth: *e\n" + HEAD,
  );
  assert.match(text, /^health: uses the YAML alias \*e/m);

  text = await fileIssues(HEAD + "---\n" + HEAD);
  assert.match(
    text,
    /YAML syntax error at .*:3:1: the file holds more than one YAML document/,
  );
  assert.ok(!/parseAllDocuments|YAML\./.test(text), text);

  text = await fileIssues(
    HEAD +
      "election:\n  vrrp:\n    priority: 1e309\nhealth:\n  interval: .inf\n",
  );
  assert.match(
    text,
    /^election\.vrrp\.priority: "1e309" is not a whole number; use from 1 to 254/m,
  );
  assert.match(text, /^health\.interval: "\.inf" is not a duration/m);
  assert.ok(!/\bnull\b|Infinity/.test(text), text);

  text = await fileIssues(HEAD + "election:\n  node_name: !custom cp-1\n");
  assert.match(
    text,
    /an unknown YAML tag \(!custom\) is used; remove it and write the plain value \(from .*:4:14\)/,
  );

  text = await fileIssues(HEAD + "election:\n  node_name: !!binary aGk=\n");
  assert.match(
    text,
    /^election\.node_name: is a tagged YAML value \(tag:yaml\.org,2002:binary\)/m,
  );

  text = await fileIssues(HEAD + "health:\n  interval: {every: 2s}\n");
  assert.match(
    text,
    /^health\.interval: is a mapping; it takes a single value/m,
  );
});

Deno.test("nesting no configuration has is refused before the parser recurses", async () => {
  let text = await fileIssues("vip: " + "[".repeat(100_000) + "\n");
  assert.match(
    text,
    /:1 nests \[ \] or \{ \} more than 32 deep; an ha-vip configuration is a few flat sections/,
  );
  let staircase = "";
  for (let i = 0; i < 1000; i++) staircase += " ".repeat(i) + "a:\n";
  text = await fileIssues(staircase);
  assert.match(text, /:258 is indented by more than 256 spaces/);
  assert.ok(!text.includes("call stack"), text);
});

Deno.test("a file that is not UTF-8 text is named as such", async () => {
  const bytes = new Uint8Array([
    ...new TextEncoder().encode(HEAD),
    0xff,
    0xfe,
    0x0a,
  ]);
  assert.match(
    await fileIssues(bytes),
    /cannot read config file .*: it is not UTF-8 text/,
  );
});

Deno.test("a metrics address beyond loopback is warned about; loopback and off are quiet", async () => {
  const warned = async (address: string) =>
    (await loadConfig({
      flags: { ...BASE, "observe.metrics_address": address },
      env: {},
    })).warnings.filter((w) => w.startsWith("observe.metrics_address"));
  for (const address of [":9480", "0.0.0.0:9480", "[::]:9480"]) {
    const w = await warned(address);
    assert.equal(w.length, 1, address);
    assert.match(
      w[0],
      /binds every interface: \/metrics and \/status .* without authentication; use 127\.0\.0\.1:9480/,
    );
  }
  assert.match(
    (await warned("10.0.0.1:9480"))[0],
    /binds 10\.0\.0\.1, which is not a loopback address/,
  );
  for (
    const address of [
      "127.0.0.1:9480",
      "127.0.0.53:9480",
      "[::1]:9480",
      "localhost:9480",
    ]
  ) {
    assert.deepEqual(await warned(address), [], address);
  }
  const off = await loadConfig({ flags: BASE, env: {} });
  assert.equal(off.config.observe.metrics_address, undefined, "off by default");
  // check prints it where an operator sees it.
  const r = await runCli([...CHECK, "--metrics-address", ":9480"]);
  assert.equal(r.status, 0, r.err);
  assert.match(
    r.err,
    /^warning: observe\.metrics_address :9480 binds every interface/m,
  );
});
