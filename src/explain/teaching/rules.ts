/**
 * The differentiation rule each stage's local derivative needs, named as a course names it (the
 * quotient rule, d/dx ln x = 1/x), for the diagnosis of a wrong local derivative.
 */
import { type EdgeReport, type StageReport } from "../report/report.js";

/** The operand position (among all operands, constants included) of an edge's argument. */
export function operandIndex(s: StageReport, e: EdgeReport): number {
  let k = -1;
  return s.operands.findIndex((o) => o.kind === "name" && ++k === e.argIndex);
}

const ONE_ARGUMENT: Readonly<Record<string, string>> = {
  ln: "d/dx ln x = 1/x",
  exp: "d/dx e^x = e^x",
  sqrt: "d/dx sqrt(x) = 1/(2 sqrt(x))",
  sin: "d/dx sin x = cos x",
  cos: "d/dx cos x = -sin x",
  tan: "d/dx tan x = 1 + tan^2 x",
  tanh: "d/dx tanh x = 1 - tanh^2 x",
  sigmoid: "d/dx σ(x) = σ(x)(1 - σ(x))",
  erf: "d/dx erf(x) = (2/sqrt(pi)) e^(-x^2)",
  relu: "d/dx relu(x) = 1 for x > 0, else 0",
  abs: "d/dx |x| = sign(x)",
  sign: "sign is piecewise constant: its derivative is 0",
  step: "step is piecewise constant: its derivative is 0",
  neg: "d/dx (-x) = -1",
  reciprocal: "d/dx (1/x) = -1/x^2",
  id: "d/dx x = 1",
  sum: "d/dx sum(x) = 1 for every element",
  mean: "d/dx mean(x) = 1/n for every element",
  transpose: "the gradient of a transpose is the upstream transposed",
};

/** The rule the local derivative of edge `e` needs: "the quotient rule: d(a/b)/db = -a/b^2". */
export function ruleFor(s: StageReport, e: EdgeReport): string {
  const pos = operandIndex(s, e);
  const both = s.operands.filter((o) => o.kind === "name").length === 2;
  switch (s.op) {
    case "add":
      return "the sum rule: d(a + b)/da = d(a + b)/db = 1";
    case "sub":
      return pos === 0 ? "the difference rule: d(a - b)/da = 1" : "the difference rule: d(a - b)/db = -1";
    case "mul":
      return both ? "the product rule: d(a·b)/da = b, d(a·b)/db = a" : "a constant factor: d(c·x)/dx = c";
    case "div":
      if (pos === 0) return both ? "the quotient rule: d(a/b)/da = 1/b" : "a constant divisor: d(x/c)/dx = 1/c";
      return both ? "the quotient rule: d(a/b)/db = -a/b^2" : "the quotient rule (reciprocal): d(c/x)/dx = -c/x^2";
    case "pow":
      if (pos === 0) return both ? "the power rule in the base: d(a^b)/da = b·a^(b-1)" : "the power rule: d(x^n)/dx = n·x^(n-1)";
      return both ? "the exponential rule in the exponent: d(a^b)/db = a^b·ln a" : "the exponential rule: d(c^x)/dx = c^x·ln c";
    case "maximum":
      return "max passes the gradient to the larger argument (half each at a tie)";
    case "minimum":
      return "min passes the gradient to the smaller argument (half each at a tie)";
    case "matmul":
      return pos === 0 ? "the matrix product rule: ∂L/∂A = (∂L/∂C) Bᵀ" : "the matrix product rule: ∂L/∂B = Aᵀ (∂L/∂C)";
    default:
      return ONE_ARGUMENT[s.op] ?? `the derivative of ${s.op}`;
  }
}
