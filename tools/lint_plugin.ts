/**
 * ha-vip's own lint rules, run by `deno lint` (see deno.json):
 *
 * - `ha-vip/max-function-lines`: no function in `lib/` longer than 80 lines
 *   (ARCHITECTURE.md: a function that long does more than one thing).
 *   Lookup tables are data, not functions, and do not count.
 *
 * @module
 */

/** The longest function body allowed in `lib/`, in lines. */
export const MAX_FUNCTION_LINES = 80;

type FunctionNode =
  | Deno.lint.FunctionDeclaration
  | Deno.lint.FunctionExpression
  | Deno.lint.ArrowFunctionExpression;

const plugin: Deno.lint.Plugin = {
  name: "ha-vip",
  rules: {
    "max-function-lines": {
      create(ctx) {
        if (!/\/lib\//.test(ctx.filename)) return {};
        const check = (node: FunctionNode) => {
          const [start, end] = node.range;
          const lines =
            ctx.sourceCode.text.slice(start, end).split("\n").length;
          if (lines > MAX_FUNCTION_LINES) {
            ctx.report({
              node,
              message:
                `function is ${lines} lines long; split it (at most ${MAX_FUNCTION_LINES} in lib/)`,
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
