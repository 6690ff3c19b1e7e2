/**
 * The generated files in examples/: a three-node control plane
 * (192.168.1.11-13 on eth0, VIP 192.168.1.100/24, priorities 150/100/50,
 * unicast VRRP), each file the output of `ha-vip manifest` for the flags
 * listed here. `deno task examples` rewrites them;
 * tests/manifest/examples_test.ts fails when one differs from what
 * `ha-vip manifest` prints now.
 */
import { main } from "../lib/cli/mod.ts";

const VIP = ["--vip", "192.168.1.100/24", "--interface", "eth0"];
const NODES = [
  { name: "cp-1", ip: "192.168.1.11", priority: "150" },
  { name: "cp-2", ip: "192.168.1.12", priority: "100" },
  { name: "cp-3", ip: "192.168.1.13", priority: "50" },
];

function nodeFlags(n: typeof NODES[number]): string[] {
  return [
    ...VIP,
    "--priority",
    n.priority,
    ...NODES.filter((o) => o !== n).flatMap((o) => ["--unicast-peer", o.ip]),
  ];
}

/** One generated example: its path under examples/ and the `ha-vip` arguments. */
export interface Example {
  file: string;
  args: string[];
}

/** Every generated example. */
export const EXAMPLES: Example[] = [
  // The seed guide's file names.
  { file: "config.yaml", args: ["manifest", "config", ...VIP] },
  {
    file: "config-external.yaml",
    args: [
      "manifest",
      "config",
      ...nodeFlags(NODES[0]),
      "--token-file",
      "/etc/ha-vip/token",
      "--ca-cert",
      "/etc/kubernetes/pki/ca.crt",
      "--metrics-address",
      "127.0.0.1:9480",
    ],
  },
  {
    file: "config-in-cluster.yaml",
    args: ["manifest", "config", ...VIP, "--in-cluster"],
  },
  // The host service: one unit for every node.
  { file: "systemd/ha-vip.service", args: ["manifest", "systemd", ...VIP] },
  // In-cluster objects: the DaemonSet shares one set of flags (so one
  // priority: ties go to the higher address) and uses multicast VRRP.
  { file: "kubernetes/rbac.yaml", args: ["manifest", "rbac"] },
  {
    file: "kubernetes/daemonset.yaml",
    args: ["manifest", "daemonset", ...VIP],
  },
  // Per node: the static pod and the cloud-config.
  ...NODES.flatMap((n) => [
    {
      file: `kubernetes/static-pod-${n.name}.yaml`,
      args: ["manifest", "static-pod", ...nodeFlags(n)],
    },
    {
      file: `cloud-init/${n.name}.yaml`,
      args: ["manifest", "cloud-init", ...nodeFlags(n)],
    },
  ]),
];

/** What `ha-vip args...` prints (throws on a non-zero exit). */
export async function render(args: string[]): Promise<string> {
  let out = "";
  let err = "";
  const status = await main(args, {
    out: (t) => out += t,
    err: (t) => err += t,
    env: {},
  });
  if (status !== 0) {
    throw new Error(`ha-vip ${args.join(" ")} exited ${status}: ${err}`);
  }
  return out;
}

if (import.meta.main) {
  const dir = new URL("../examples/", import.meta.url).pathname;
  for (const e of EXAMPLES) {
    const path = dir + e.file;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, await render(e.args));
    console.log(`examples/${e.file}`);
  }
}
