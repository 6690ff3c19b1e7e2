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
import { runCli } from "../support/cli.ts";

/** Deno's timers hold at most 2^31-1 ms and fire a longer one after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const BASE = { vip: "10.0.0.100/24", interface: "eth0" };

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

Deno.test("IPv6 VIPs say plainly that IPv6 is not available yet, without pointing at lease mode", async () => {
  const issues = await refused({ vip: "fd00::100/64" });
  const line = issues.find((l) => l.startsWith("vip:"))!;
  assert.match(
    line,
    /IPv6 VIPs are not available in this version yet; use an IPv4 VIP/,
  );
  assert.ok(!line.includes("lease"), line);
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
      const r = await runCli([
        "check",
        "--vip",
        "10.0.0.100/24",
        "--interface",
        "eth0",
        flag,
        url,
      ]);
      assert.equal(r.status, 2, `${url}: ${r.out}`);
      assert.ok(!r.out.includes("s3cr3t") && !r.err.includes("s3cr3t"), r.err);
      assert.match(
        r.err,
        new RegExp(`${field.replace(".", "\\.")}: "https://<redacted>@`),
      );
    }
    const r = await runCli([
      "check",
      "--vip",
      "10.0.0.100/24",
      "--interface",
      "eth0",
      flag,
      "https://admin:s3cr3tpass@10.0.0.1:6443",
    ]);
    assert.match(r.err, /carries credentials in the URL/);
  }
});
