/** `backprop shapes`: the result shape of broadcasting or matmul, as NumPy would compute it. */
import { broadcastShapes, formatShape, matmulShape, parseShape } from "../core/shape.js";
import type { AddCommand } from "./command.js";

const BROADCAST_OPS: Record<string, string> = { "+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow", "**": "pow" };

/** Folds `shape op shape op shape ...` left to right; throws the same errors the ops throw. */
export function evaluateShapes(tokens: readonly string[]): number[] {
  if (tokens.length === 0 || tokens.length % 2 === 0) {
    throw new Error(`expected SHAPE OP SHAPE [OP SHAPE ...], got ${tokens.length} argument${tokens.length === 1 ? "" : "s"}`);
  }
  let acc = parseShape(tokens[0]);
  for (let i = 1; i < tokens.length; i += 2) {
    const op = tokens[i];
    const rhs = parseShape(tokens[i + 1]);
    if (op === "@") acc = matmulShape(acc, rhs);
    else if (op in BROADCAST_OPS) acc = broadcastShapes(acc, rhs, BROADCAST_OPS[op]);
    else throw new Error(`unknown operator "${op}" (use @ for matmul or one of + - * / ** for broadcasting)`);
  }
  return acc;
}

export function shapesCommand(tokens: readonly string[], json: boolean, out: (s: string) => void, err: (s: string) => void): number {
  try {
    const shape = evaluateShapes(tokens);
    out(json ? JSON.stringify({ shape }) : formatShape(shape));
    return 0;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (json) out(JSON.stringify({ error: message }));
    else err(`error: ${message}`);
    return 1;
  }
}

/** Declares `backprop shapes`. */
export const addShapes: AddCommand = (program, ctx) => {
  program
    .command("shapes")
    .description('result shape of NumPy broadcasting or matmul, e.g. shapes "(4,2)" + "(2,4,1)" or shapes "(2,5,4)" @ "(3,2,4,8)"')
    .argument("<operands...>", "SHAPE OP SHAPE [OP SHAPE ...]; OP is @ (matmul) or + - * / ** (broadcasting)")
    .option("--json", 'print {"shape": [...]} or {"error": "..."}')
    .allowUnknownOption(false)
    .action((operands: string[], opts: { json?: boolean }) => {
      ctx.setJson(!!opts.json);
      ctx.setCode(shapesCommand(operands, opts.json ?? false, ctx.io.out, ctx.io.err));
    });
};
