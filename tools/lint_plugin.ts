/**
 * ha-vip's own lint rules, run by `deno lint` (see deno.json):
 *
 * - `ha-vip/max-function-lines`: no function in `lib/` longer than 80 lines
 *   of code (ARCHITECTURE.md: a function that long does more than one
 *   thing). Data does not count: lines that lie inside a literal with no
 *   function in it (a template, an object or array literal: a lookup table,
 *   a unit file, an RBAC document) are not lines of code.
 *
 * @module
 */

/** The longest function allowed in `lib/`, in lines of code. */
export const MAX_FUNCTION_LINES = 80;

type FunctionNode =
  | Deno.lint.FunctionDeclaration
  | Deno.lint.FunctionExpression
  | Deno.lint.ArrowFunctionExpression;

const FUNCTIONS = new Set([
  "FunctionDeclaration",
  "FunctionExpression",
  "ArrowFunctionExpression",
]);
const LITERALS = new Set([
  "TemplateLiteral",
  "ObjectExpression",
  "ArrayExpression",
]);

interface AnyNode {
  type: string;
  range: [number, number];
  [key: string]: unknown;
}

function isNode(v: unknown): v is AnyNode {
  return typeof v === "object" && v !== null &&
    typeof (v as AnyNode).type === "string" &&
    Array.isArray((v as AnyNode).range);
}

// The linter's nodes expose their fields as getters on a shared prototype.
const SKIP = new Set(["constructor", "parent", "range", "type", "length"]);

function children(node: AnyNode): AnyNode[] {
  const out: AnyNode[] = [];
  const keys = new Set([
    ...Object.keys(node),
    ...Object.getOwnPropertyNames(Object.getPrototypeOf(node) ?? {}),
  ]);
  for (const key of keys) {
    if (SKIP.has(key)) continue;
    const v = node[key];
    for (const c of Array.isArray(v) ? v : [v]) if (isNode(c)) out.push(c);
  }
  return out;
}

function hasFunction(node: AnyNode): boolean {
  return FUNCTIONS.has(node.type) || children(node).some(hasFunction);
}

/** Ranges of the outermost function-free literals under `node`. */
function dataRanges(
  node: AnyNode,
  out: [number, number][] = [],
): [number, number][] {
  for (const c of children(node)) {
    if (FUNCTIONS.has(c.type)) continue; // judged on its own
    if (LITERALS.has(c.type) && !hasFunction(c)) out.push(c.range);
    else dataRanges(c, out);
  }
  return out;
}

function lineOf(text: string, offset: number): number {
  let n = 0;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

const plugin: Deno.lint.Plugin = {
  name: "ha-vip",
  rules: {
    "max-function-lines": {
      create(ctx) {
        if (!/\/lib\//.test(ctx.filename)) return {};
        const text = ctx.sourceCode.text;
        const check = (node: FunctionNode) => {
          const [start, end] = node.range;
          const first = lineOf(text, start);
          const code = new Set<number>();
          for (let l = first; l <= lineOf(text, end); l++) code.add(l);
          for (const [s, e] of dataRanges(node as unknown as AnyNode)) {
            // The literal's first and last lines also hold code.
            for (let l = lineOf(text, s) + 1; l < lineOf(text, e); l++) {
              code.delete(l);
            }
          }
          if (code.size > MAX_FUNCTION_LINES) {
            ctx.report({
              node,
              message: `function has ${code.size} lines of code; split it ` +
                `(at most ${MAX_FUNCTION_LINES} in lib/, data literals aside)`,
            });
          }
        };
        return {
          FunctionDeclaration: check,
          FunctionExpression: check,
          ArrowFunctionExpression: check,
        };
      },
    },
  },
};

export default plugin;
