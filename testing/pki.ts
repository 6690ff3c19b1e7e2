/**
 * Test PKI made with `openssl` at test time: a cluster CA and a kubeadm-shaped
 * API server certificate (SANs: kubernetes, kubernetes.default,
 * kubernetes.default.svc, kubernetes.default.svc.cluster.local, the node
 * name, the node IP and 10.96.0.1, and deliberately NOT 127.0.0.1), plus
 * broken variants for TLS-error tests: an expired certificate, one not valid
 * yet, and one signed by another CA.
 *
 * `testPki()` generates once per test process into a temp dir (removed at
 * exit); `loadOrGeneratePki(dir)` is what the standalone simulated API
 * server uses (kubeadm file names: ca.crt, ca.key, apiserver.crt, ...).
 */

/** Files and PEM texts of a generated PKI. */
export interface TestPki {
  /** Where the files are. */
  dir: string;
  /** The node name in the serving certificate. */
  nodeName: string;
  /** The node IP in the serving certificate. */
  nodeIp: string;
  /** The SANs of the serving certificate, `DNS:`/`IP:` prefixed. */
  sans: string[];
  /** The cluster CA certificate (`ca.crt`). */
  caCertFile: string;
  /** Its key (`ca.key`). */
  caKeyFile: string;
  /** The CA certificate, PEM. */
  caCert: string;
  /** kubeadm-shaped serving certificate (valid, signed by the CA). */
  serverCertFile: string;
  /** Its key (`apiserver.key`). */
  serverKeyFile: string;
  /** The serving certificate, PEM. */
  serverCert: string;
  /** Its key, PEM. */
  serverKey: string;
  /** Same key and SANs, validity 2020-01-01 .. 2021-01-01. */
  expiredCertFile: string;
  /** The expired certificate, PEM. */
  expiredCert: string;
  /** Same key and SANs, valid from 2099. */
  notYetValidCertFile: string;
  /** The not-yet-valid certificate, PEM. */
  notYetValidCert: string;
  /** Another CA, and the same server key/SANs signed by it. */
  otherCaCertFile: string;
  /** The other CA, PEM. */
  otherCaCert: string;
  /** The serving certificate signed by the other CA. */
  otherCaServerCertFile: string;
  /** The same, PEM. */
  otherCaServerCert: string;
}

/** Options of {@link generatePki}. */
export interface PkiOptions {
  /** Default `cp-1`. */
  nodeName?: string;
  /** Default `10.0.0.11`. */
  nodeIp?: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `openssl ${args.join(" ")} failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
}

/** kubeadm's serving-certificate SANs for a node (no loopback address). */
export function kubeadmSans(nodeName: string, nodeIp: string): string[] {
  return [
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
    `DNS:${nodeName}`,
    `IP:${nodeIp}`,
    "IP:10.96.0.1",
  ];
}

function files(dir: string) {
  return {
    caCertFile: `${dir}/ca.crt`,
    caKeyFile: `${dir}/ca.key`,
    serverCertFile: `${dir}/apiserver.crt`,
    serverKeyFile: `${dir}/apiserver.key`,
    expiredCertFile: `${dir}/apiserver-expired.crt`,
    notYetValidCertFile: `${dir}/apiserver-not-yet-valid.crt`,
    otherCaCertFile: `${dir}/other-ca.crt`,
    otherCaServerCertFile: `${dir}/apiserver-other-ca.crt`,
  };
}

async function load(
  dir: string,
  nodeName: string,
  nodeIp: string,
): Promise<TestPki> {
  const f = files(dir);
  const read = (p: string) => Deno.readTextFile(p);
  return {
    dir,
    nodeName,
    nodeIp,
    sans: kubeadmSans(nodeName, nodeIp),
    ...f,
    caCert: await read(f.caCertFile),
    serverCert: await read(f.serverCertFile),
    serverKey: await read(f.serverKeyFile),
    expiredCert: await read(f.expiredCertFile),
    notYetValidCert: await read(f.notYetValidCertFile),
    otherCaCert: await read(f.otherCaCertFile),
    otherCaServerCert: await read(f.otherCaServerCertFile),
  };
}

/** Generates a fresh PKI into `dir` (created if missing). */
export async function generatePki(
  dir: string,
  options: PkiOptions = {},
): Promise<TestPki> {
  const nodeName = options.nodeName ?? "cp-1";
  const nodeIp = options.nodeIp ?? "10.0.0.11";
  await Deno.mkdir(dir, { recursive: true });
  const work = await Deno.makeTempDir({ dir, prefix: ".work-" });
  const rsa = [
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
  ];
  const caExt = [
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
  ];
  await Promise.all([
    openssl([...rsa, "-out", "ca.key"], dir),
    openssl([...rsa, "-out", "other-ca.key"], work),
    openssl([...rsa, "-out", "apiserver.key"], dir),
  ]);
  await Promise.all([
    openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      "ca.key",
      "-subj",
      "/CN=kubernetes",
      "-days",
      "3650",
      ...caExt,
      "-out",
      "ca.crt",
    ], dir),
    openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      "other-ca.key",
      "-subj",
      "/CN=other-cluster",
      "-days",
      "3650",
      ...caExt,
      "-out",
      `${dir}/other-ca.crt`,
    ], work),
    openssl([
      "req",
      "-new",
      "-key",
      `${dir}/apiserver.key`,
      "-subj",
      "/CN=kube-apiserver",
      "-out",
      "apiserver.csr",
    ], work),
  ]);
  await Deno.writeTextFile(
    `${work}/ext.cnf`,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "authorityKeyIdentifier=keyid",
      `subjectAltName=${kubeadmSans(nodeName, nodeIp).join(",")}`,
      "",
    ].join("\n"),
  );
  // `openssl ca` is the only 3.0 command that takes explicit validity dates.
  await Deno.writeTextFile(
    `${work}/ca.cnf`,
    [
      "[ca]",
      "default_ca = sim",
      "[sim]",
      `database = ${work}/index.txt`,
      `new_certs_dir = ${work}`,
      `serial = ${work}/serial`,
      "default_md = sha256",
      "policy = pol",
      "unique_subject = no",
      "[pol]",
      "commonName = supplied",
      "",
    ].join("\n"),
  );
  await Deno.writeTextFile(`${work}/index.txt`, "");
  await Deno.writeTextFile(`${work}/serial`, "1000\n");
  const sign = (ca: string, caKey: string, out: string) =>
    openssl([
      "x509",
      "-req",
      "-in",
      "apiserver.csr",
      "-CA",
      ca,
      "-CAkey",
      caKey,
      "-set_serial",
      String(Date.now()),
      "-days",
      "365",
      "-extfile",
      "ext.cnf",
      "-out",
      out,
    ], work);
  const dated = (start: string, end: string, out: string) =>
    openssl([
      "ca",
      "-batch",
      "-config",
      "ca.cnf",
      "-cert",
      `${dir}/ca.crt`,
      "-keyfile",
      `${dir}/ca.key`,
      "-in",
      "apiserver.csr",
      "-startdate",
      start,
      "-enddate",
      end,
      "-extfile",
      "ext.cnf",
      "-notext",
      "-out",
      out,
    ], work);
  await sign(`${dir}/ca.crt`, `${dir}/ca.key`, `${dir}/apiserver.crt`);
  await sign(
    `${dir}/other-ca.crt`,
    "other-ca.key",
    `${dir}/apiserver-other-ca.crt`,
  );
  await dated(
    "20200101000000Z",
    "20210101000000Z",
    `${dir}/apiserver-expired.crt`,
  );
  await dated(
    "20990101000000Z",
    "20991231000000Z",
    `${dir}/apiserver-not-yet-valid.crt`,
  );
  await Deno.remove(work, { recursive: true });
  return await load(dir, nodeName, nodeIp);
}

/** Uses the PKI in `dir` if complete, else generates it there. */
export async function loadOrGeneratePki(
  dir: string,
  options: PkiOptions = {},
): Promise<TestPki> {
  const nodeName = options.nodeName ?? "cp-1";
  const nodeIp = options.nodeIp ?? "10.0.0.11";
  try {
    return await load(dir, nodeName, nodeIp);
  } catch {
    return await generatePki(dir, options);
  }
}

let cached: Promise<TestPki> | undefined;

/** The per-process test PKI (generated on first use, removed at exit). */
export function testPki(): Promise<TestPki> {
  cached ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "ha-vip-pki-" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    });
    return await generatePki(dir);
  })();
  return cached;
}
