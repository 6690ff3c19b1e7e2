/**
 * Keeps ARCHITECTURE.md true: its import table against the real module
 * graph (`deno info --json`), `mod.ts` as every folder's only entry point,
 * no import cycles, a paragraph per folder, and no backend-specific code in
 * lib/daemon.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const LIB = new URL("lib/", ROOT).href;
const DOC = await Deno.readTextFile(new URL("ARCHITECTURE.md", ROOT));

/** folder -> what it may import (folders, `npm:x`, root files). */
function importRules(): Map<string, Set<string>> {
  const table =
    /<!-- BEGIN IMPORT RULES[^>]*-->([\s\S]*?)<!-- END IMPORT RULES -->/
      .exec(DOC)?.[1];
  assert.ok(table, "ARCHITECTURE.md has the import table");
  const rules = new Map<string, Set<string>>();
  for (const line of table.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (
      cells.length < 4 || cells[1] === "folder" || cells[1].startsWith("---")
    ) {
      continue;
    }
    const allowed = cells[2].split(",").map((s) => s.trim()).filter(Boolean);
    rules.set(cells[1], new Set(allowed));
  }
  return rules;
}

interface Module {
  specifier: string;
  dependencies?: {
    code?: { specifier: string };
    type?: { specifier: string };
  }[];
}

async function graph(root: string): Promise<Module[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(root, ROOT).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)).modules;
}

/** Every edge between files, type-only imports included. */
async function edges(): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const root of ["main.ts", "mod.ts"]) {
    for (const m of await graph(root)) {
      const deps = out.get(m.specifier) ?? new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          if (s) deps.add(s);
        }
      }
      out.set(m.specifier, deps);
    }
  }
  return out;
}

/** `lib/<folder>/...` -> folder; else undefined. */
function folderOf(specifier: string): string | undefined {
  if (!specifier.startsWith(LIB)) return undefined;
  return specifier.slice(LIB.length).split("/")[0];
}

function describe(target: string): string {
  if (target.startsWith("npm:")) {
    // npm:name@version/sub/path, npm:/name@version, npm:/@scope/name@...
    const m = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)/.exec(target);
    return `npm:${m?.[1] ?? target.slice(4)}`;
  }
  if (target.startsWith(ROOT.href)) return target.slice(ROOT.href.length);
  return target;
}

const graphEdges = await edges();

Deno.test("lib/: each folder imports only what ARCHITECTURE.md allows, and only through mod.ts", () => {
  const rules = importRules();
  const problems: string[] = [];
  for (const [from, deps] of graphEdges) {
    const folder = folderOf(from);
    if (folder === undefined) continue;
    const allowed = rules.get(folder);
    if (!allowed) {
      problems.push(`lib/${folder} is not in the import table`);
      continue;
    }
    for (const to of deps) {
      const target = folderOf(to);
      // The runtime's own modules are part of the platform.
      if (target === folder || to.startsWith("node:")) continue;
      const what = target ?? describe(to);
      if (!allowed.has(what)) {
        problems.push(`${describe(from)} imports ${describe(to)} (${what})`);
      } else if (target !== undefined && to !== `${LIB}${target}/mod.ts`) {
        problems.push(
          `${describe(from)} imports ${describe(to)}: not its mod.ts`,
        );
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("lib/: no import cycles between files", () => {
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (node: string, path: string[]) => {
    if (state.get(node) === "done") return;
    if (state.get(node) === "open") {
      const loop = path.slice(path.indexOf(node));
      cycles.push([...loop, node].map(describe).join(" -> "));
      return;
    }
    state.set(node, "open");
    for (const next of graphEdges.get(node) ?? []) {
      if (next.startsWith(LIB)) visit(next, [...path, node]);
    }
    state.set(node, "done");
  };
  for (const node of graphEdges.keys()) {
    if (node.startsWith(LIB)) visit(node, []);
  }
  assert.deepEqual(cycles, []);
});

Deno.test("ARCHITECTURE.md has a paragraph for every folder of lib/", async () => {
  const missing: string[] = [];
  for await (const e of Deno.readDir(new URL("lib/", ROOT))) {
    if (!e.isDirectory) continue;
    const heading = new RegExp(`^### (lib/[a-z0-9_]+, )*lib/${e.name}\\b`, "m");
    if (!heading.test(DOC)) missing.push(e.name);
  }
  assert.deepEqual(missing, []);
});

Deno.test("outside lib/: only mod.ts files, except a folder's own tests", async () => {
  const problems: string[] = [];
  const from = /^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"/gms;
  for (const dir of ["tests", "testing", "lab", "bench", "release"]) {
    for await (const file of walk(new URL(`${dir}/`, ROOT))) {
      const text = await Deno.readTextFile(file);
      for (const m of text.matchAll(from)) {
        const target = new URL(m[1], file).href;
        const folder = folderOf(target);
        if (folder === undefined || target.endsWith(`lib/${folder}/mod.ts`)) {
          continue;
        }
        const own = file.href.startsWith(
          new URL(`tests/${folder}/`, ROOT).href,
        );
        if (!own) {
          problems.push(`${describe(file.href)} imports ${describe(target)}`);
        }
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("lib/daemon knows no election backend by name", async () => {
  const found: string[] = [];
  for await (const file of walk(new URL("lib/daemon/", ROOT))) {
    const lines = (await Deno.readTextFile(file)).split("\n");
    lines.forEach((l, i) => {
      if (/\bvrrp\b|\blease\b/i.test(l)) {
        found.push(`${describe(file.href)}:${i + 1}: ${l.trim()}`);
      }
    });
  }
  assert.deepEqual(found, []);
});

async function* walk(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* walk(url);
    else if (e.name.endsWith(".ts")) yield url;
  }
}
