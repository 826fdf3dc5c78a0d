// The op codes of map() and arithmetic(): one list each, in code order. The addon exports these names
// (opNames), and src/core/backends/native/backend.ts takes each primitive's code from them, so the two
// sides cannot disagree; the switches below use the enums, checked against the lists' lengths.
#pragma once

namespace native {

enum MapOp { Neg, Abs, Sqrt, Reciprocal, Exp, Log, Sigmoid, Tanh, MapOpCount };
inline constexpr const char* kMapOps[] = {"neg", "abs", "sqrt", "reciprocal", "exp", "log", "sigmoid", "tanh"};
static_assert(sizeof(kMapOps) / sizeof(kMapOps[0]) == MapOpCount, "one name per map op");

enum ArithmeticOp { Add, Sub, Mul, Div, Maximum, Minimum, Gt, Ge, Eq, ArithmeticOpCount };
inline constexpr const char* kArithmeticOps[] = {"add", "sub", "mul", "div", "maximum", "minimum", "gt", "ge", "eq"};
static_assert(sizeof(kArithmeticOps) / sizeof(kArithmeticOps[0]) == ArithmeticOpCount, "one name per arithmetic op");

}  // namespace native
