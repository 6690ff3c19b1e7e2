/**
 * Running a real `kubectl` against the simulated API server: a kubeconfig
 * that trusts the test PKI's CA and verifies the serving certificate as
 * `kubernetes` (it carries no 127.0.0.1), and a runner with its own HOME
 * (no discovery cache shared between runs).
 *
 * @module
 */
import { testPki } from "./pki.ts";

/** A kubeconfig for `server` with the test PKI's CA and an admin token. */
export async function kubeconfig(
  dir: string,
  url: string,
  token: string,
): Promise<string> {
  const pki = await testPki();
  await Deno.writeTextFile(`${dir}/ca.crt`, pki.caCert);
  const path = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: sim
  cluster:
    server: ${url}
    certificate-authority: ${dir}/ca.crt
    tls-server-name: kubernetes
users:
- name: admin
  user:
    token: ${token}
contexts:
- name: sim
  context: {cluster: sim, user: admin}
current-context: sim
`,
    { mode: 0o600 },
  );
  return path;
}

/** Runs kubectl with `config`; its own HOME so no cache leaks between runs. */
export async function kubectl(
  config: string,
  home: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("kubectl", {
    args: ["--kubeconfig", config, ...args],
    env: { HOME: home, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
