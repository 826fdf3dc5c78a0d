// Elementwise kernels for Node, zero-copy on the typed arrays: arithmetic and selection on 2-D views
// of a broadcast, unary maps (exp, log, sigmoid, tanh vectorized with AVX2), reductions, transposes
// and the optimizers' in-place updates.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "isa.h"
#include "kernels.h"
#include "opcodes.h"
#include "pool.h"
#include "transpose8.h"

namespace native {
namespace {

// Elementwise arithmetic on a 2-D view of a broadcast (as the wasm kernels take it): each input is a
// full matrix (row stride = cols), a row vector (0), a column vector (1) or a scalar, and `vec` says
// whether it varies along a row. Zero-copy: the loops read and write the typed arrays in place.
// Selections as bit masks, not branches: on data like ReLU inputs a branch mispredicts half the time,
// and the compiler vectorizes the masks (it will not speculate a load behind a branch).
inline uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float pick(bool c, float a, float b) {
  const uint32_t m = 0u - (uint32_t)c;
  const uint32_t u = (bitsOf(a) & m) | (bitsOf(b) & ~m);
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// op: an ArithmeticOp (opcodes.h), with the reference kernels' NaN rules: maximum and minimum carry
// NaN, comparisons with NaN are 0.
template <int OP>
inline float arith(float x, float y) {
  if constexpr (OP == Add) return x + y;
  else if constexpr (OP == Sub) return x - y;
  else if constexpr (OP == Mul) return x * y;
  else if constexpr (OP == Div) return x / y;
  else if constexpr (OP == Maximum) return pick((x != x) | (y != y), NAN, pick(x > y, x, y));
  else if constexpr (OP == Minimum) return pick((x != x) | (y != y), NAN, pick(x < y, x, y));
  else if constexpr (OP == Gt) return (float)(x > y);
  else if constexpr (OP == Ge) return (float)(x >= y);
  else {
    static_assert(OP == Eq, "an arithmetic op without a rule");
    return (float)(x == y);
  }
}

// The loops below are written once and compiled twice, for the baseline and with AVX2 (eight lanes
// where SSE2 has four): always_inline puts each into both callers.
#define INLINE __attribute__((always_inline)) inline
#define AVX2 __attribute__((target("avx2")))
#define AVX512 __attribute__((target("avx512f"), optimize("fp-contract=off")))

template <int OP>
INLINE void arithRows(const float* a, int rsA, bool va, const float* b, int rsB, bool vb, float* o, int rows, int cols) {
  for (int r = 0; r < rows; r++) {
    const float* __restrict pa = a + (size_t)r * rsA;
    const float* __restrict pb = b + (size_t)r * rsB;
    float* __restrict po = o + (size_t)r * cols;
    if (va && vb) {
      for (int j = 0; j < cols; j++) po[j] = arith<OP>(pa[j], pb[j]);
    } else if (va) {
      const float y = pb[0];
      for (int j = 0; j < cols; j++) po[j] = arith<OP>(pa[j], y);
    } else if (vb) {
      const float x = pa[0];
      for (int j = 0; j < cols; j++) po[j] = arith<OP>(x, pb[j]);
    } else {
      std::fill(po, po + cols, arith<OP>(pa[0], pb[0]));
    }
  }
}

INLINE void arithmeticRows(int op, const float* a, int rsA, bool va, const float* b, int rsB, bool vb, float* o, int rows, int cols) {
  switch (op) {
    case Add: return arithRows<Add>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case Sub: return arithRows<Sub>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case Mul: return arithRows<Mul>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case Div: return arithRows<Div>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case Maximum: return arithRows<Maximum>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case Minimum: return arithRows<Minimum>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case Gt: return arithRows<Gt>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case Ge: return arithRows<Ge>(a, rsA, va, b, rsB, vb, o, rows, cols);
    default: return arithRows<Eq>(a, rsA, va, b, rsB, vb, o, rows, cols);
  }
}

void arithmeticBase(int op, const float* a, int rsA, bool va, const float* b, int rsB, bool vb, float* o, int rows, int cols) {
  arithmeticRows(op, a, rsA, va, b, rsB, vb, o, rows, cols);
}
AVX2 void arithmeticAvx2(int op, const float* a, int rsA, bool va, const float* b, int rsB, bool vb, float* o, int rows, int cols) {
  arithmeticRows(op, a, rsA, va, b, rsB, vb, o, rows, cols);
}
void arithmeticSerial(int op, const float* a, int rsA, bool va, const float* b, int rsB, bool vb, float* o, int rows, int cols) {
  (kIsa == Isa::Generic ? arithmeticBase : arithmeticAvx2)(op, a, rsA, va, b, rsB, vb, o, rows, cols);
}

// where(c, x, y) on the same layouts: c != 0 picks x. relu and its gradient are where(c, x, 0).
INLINE void selectRows(const float* c, int rsC, bool vc, const float* x, int rsX, bool vx, const float* y, int rsY, bool vy, float* o, int rows, int cols) {
  for (int r = 0; r < rows; r++) {
    const float* __restrict pc = c + (size_t)r * rsC;
    const float* __restrict px = x + (size_t)r * rsX;
    const float* __restrict py = y + (size_t)r * rsY;
    float* __restrict po = o + (size_t)r * cols;
    if (vc && vx && vy) {
      for (int j = 0; j < cols; j++) po[j] = pick(pc[j] != 0.f, px[j], py[j]);
    } else if (vc && vx) {
      const float yv = py[0];
      for (int j = 0; j < cols; j++) po[j] = pick(pc[j] != 0.f, px[j], yv);
    } else if (vc && vy) {
      const float xv = px[0];
      for (int j = 0; j < cols; j++) po[j] = pick(pc[j] != 0.f, xv, py[j]);
    } else {
      for (int j = 0; j < cols; j++) po[j] = pick(pc[vc ? j : 0] != 0.f, px[vx ? j : 0], py[vy ? j : 0]);
    }
  }
}

void selectBase(const float* c, int rsC, bool vc, const float* x, int rsX, bool vx, const float* y, int rsY, bool vy, float* o, int rows, int cols) {
  selectRows(c, rsC, vc, x, rsX, vx, y, rsY, vy, o, rows, cols);
}
AVX2 void selectAvx2(const float* c, int rsC, bool vc, const float* x, int rsX, bool vx, const float* y, int rsY, bool vy, float* o, int rows, int cols) {
  selectRows(c, rsC, vc, x, rsX, vx, y, rsY, vy, o, rows, cols);
}

}  // namespace

// The rows of a batch of 2-D views (batch b's inputs start at b * bs): rows [r0, r1) of the
// flattened (batch, row) range, one serial call per batch they touch.
template <typename F>
void batchRows(size_t r0, size_t r1, int rows, F&& serial) {
  for (size_t r = r0; r < r1;) {
    const size_t b = r / rows, row = r % rows;
    const size_t count = std::min(r1 - r, (size_t)rows - row);
    serial(b, row, r, (int)count);
    r += count;
  }
}

// Split over the pool by rows (of all batches), or by columns of a single row, from a quarter million
// elements on (below that posting a job costs more than the memory traffic it shares).
void arithmetic(int op, const float* a, size_t bsA, int rsA, bool va, const float* b, size_t bsB, int rsB, bool vb, float* o, int batches, int rows, int cols) {
  const size_t allRows = (size_t)batches * rows, n = allRows * cols;
  const int t = n < (1 << 18) ? 1 : hardwareThreads();
  if (allRows > 1) {
    parallelFor(allRows, std::max<size_t>(1, grainFor(n, t, 4096) / cols), t, [&](size_t r0, size_t r1) {
      batchRows(r0, r1, rows, [&](size_t bt, size_t row, size_t r, int count) {
        arithmeticSerial(op, a + bt * bsA + row * rsA, rsA, va, b + bt * bsB + row * rsB, rsB, vb, o + r * cols, count, cols);
      });
    });
  } else {
    parallelFor(cols, grainFor(n, t, 4096), t, [&](size_t c0, size_t c1) {
      arithmeticSerial(op, va ? a + c0 : a, rsA, va, vb ? b + c0 : b, rsB, vb, o + c0, 1, (int)(c1 - c0));
    });
  }
}

void select(const float* c, size_t bsC, int rsC, bool vc, const float* x, size_t bsX, int rsX, bool vx, const float* y, size_t bsY, int rsY, bool vy, float* o, int batches,
            int rows, int cols) {
  const size_t allRows = (size_t)batches * rows, n = allRows * cols;
  const int t = n < (1 << 18) || allRows < 2 ? 1 : hardwareThreads();
  const auto serial = kIsa == Isa::Generic ? selectBase : selectAvx2;
  parallelFor(allRows, std::max<size_t>(1, grainFor(n, t, 4096) / std::max(cols, 1)), t, [&](size_t r0, size_t r1) {
    batchRows(r0, r1, rows, [&](size_t bt, size_t row, size_t r, int count) {
      serial(c + bt * bsC + row * rsC, rsC, vc, x + bt * bsX + row * rsX, rsX, vx, y + bt * bsY + row * rsY, rsY, vy, o + r * cols, count, cols);
    });
  });
}

namespace {

// Elementwise maps, zero-copy. exp and log follow Cephes' single-precision reductions and polynomials
// (as the wasm kernels do), eight lanes at a time with AVX2+FMA; special values are patched in with
// masks. Without AVX2 the C library's functions serve.
namespace vm {
#define V8F __attribute__((target("avx2,fma")))
V8F inline __m256 k(float v) { return _mm256_set1_ps(v); }

V8F inline __m256 exp8(__m256 x) {
  // min/max return their second operand when one is NaN: x goes second so that NaN carries through.
  const __m256 y = _mm256_max_ps(k(-104.f), _mm256_min_ps(k(88.72283f), x));
  const __m256 t = _mm256_fmadd_ps(y, k(1.44269504088896341f), k(12582912.f));  // + 1.5 * 2^23 rounds
  const __m256 n = _mm256_sub_ps(t, k(12582912.f));
  const __m256i e = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4b400000));
  __m256 r = _mm256_fnmadd_ps(n, k(0.693359375f), y);
  r = _mm256_fnmadd_ps(n, k(-2.12194440e-4f), r);
  const __m256 z = _mm256_mul_ps(r, r);
  __m256 p = k(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, k(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, k(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, k(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, k(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, k(5.0000001201e-1f));
  p = _mm256_add_ps(_mm256_fmadd_ps(p, z, r), k(1.f));
  // times 2^h * 2^(n-h), h = n/2, so both factors stay normal numbers
  const __m256i h = _mm256_srai_epi32(e, 1);
  const __m256i rest = _mm256_sub_epi32(e, h);
  p = _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, _mm256_set1_epi32(127)), 23)));
  p = _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(rest, _mm256_set1_epi32(127)), 23)));
  return _mm256_blendv_ps(p, k(INFINITY), _mm256_cmp_ps(x, k(88.72283f), _CMP_GT_OQ));
}

V8F inline __m256 log8(__m256 x) {
  const __m256 tiny = _mm256_cmp_ps(x, k(1.17549435e-38f), _CMP_LT_OQ);  // denormals: scale by 2^23 first
  __m256 m = _mm256_blendv_ps(x, _mm256_mul_ps(x, k(8388608.f)), tiny);
  __m256i e = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(m), 23), _mm256_set1_epi32(255)), _mm256_set1_epi32(126));
  e = _mm256_sub_epi32(e, _mm256_and_si256(_mm256_castps_si256(tiny), _mm256_set1_epi32(23)));
  m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(_mm256_castps_si256(m), _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f000000)));
  const __m256 lt = _mm256_cmp_ps(m, k(0.707106781186547524f), _CMP_LT_OQ);  // below sqrt(1/2): 2m - 1, exponent - 1
  e = _mm256_add_epi32(e, _mm256_castps_si256(lt));
  m = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(m, lt)), k(1.f));
  const __m256 ef = _mm256_cvtepi32_ps(e);
  const __m256 z = _mm256_mul_ps(m, m);
  __m256 y = k(7.0376836292e-2f);
  for (const float c : {-1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f, -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f})
    y = _mm256_fmadd_ps(y, m, k(c));
  y = _mm256_mul_ps(_mm256_mul_ps(y, m), z);
  y = _mm256_fmadd_ps(ef, k(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(z, k(0.5f), y);
  y = _mm256_fmadd_ps(ef, k(0.693359375f), _mm256_add_ps(m, y));
  // log 0 = -inf, log of a negative = NaN, log inf = inf, NaN stays NaN
  y = _mm256_blendv_ps(y, k(-INFINITY), _mm256_cmp_ps(x, k(0.f), _CMP_EQ_OQ));
  y = _mm256_blendv_ps(y, k(NAN), _mm256_cmp_ps(x, k(0.f), _CMP_LT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_or_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), _mm256_cmp_ps(x, k(INFINITY), _CMP_EQ_OQ)));
}

V8F inline __m256 sigmoid8(__m256 x) {  // 1 / (1 + exp(-x)): no cancellation at either end
  return _mm256_div_ps(k(1.f), _mm256_add_ps(k(1.f), exp8(_mm256_sub_ps(k(0.f), x))));
}

V8F inline __m256 tanh8(__m256 x) {  // an odd polynomial near 0, 1 - 2/(e^2|x| + 1) with x's sign elsewhere
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(0x80000000));
  const __m256 a = _mm256_andnot_ps(sign, x);
  __m256 big = exp8(_mm256_add_ps(a, a));
  big = _mm256_sub_ps(k(1.f), _mm256_div_ps(k(2.f), _mm256_add_ps(big, k(1.f))));
  big = _mm256_or_ps(big, _mm256_and_ps(x, sign));
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 p = k(-5.70498872745e-3f);
  for (const float c : {2.06390887954e-2f, -5.37397155531e-2f, 1.33314422036e-1f, -3.33332819422e-1f}) p = _mm256_fmadd_ps(p, z, k(c));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
  return _mm256_blendv_ps(big, p, _mm256_cmp_ps(a, k(0.625f), _CMP_LT_OQ));
}

template <__m256 (*F)(__m256)>
V8F void map8(const float* x, float* o, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, F(_mm256_loadu_ps(x + i)));
  if (i < n) {  // the tail through a full vector on the stack
    alignas(32) float t[8] = {};
    std::memcpy(t, x + i, (n - i) * sizeof(float));
    _mm256_store_ps(t, F(_mm256_load_ps(t)));
    std::memcpy(o + i, t, (n - i) * sizeof(float));
  }
}
#undef V8F
}  // namespace vm

float sigmoidScalar(float v) { return v >= 0 ? 1.f / (1.f + std::exp(-v)) : std::exp(v) / (1.f + std::exp(v)); }

// op: a MapOp (opcodes.h).
void mapRange(int op, const float* __restrict x, float* __restrict o, size_t n) {
  const bool avx2 = kIsa != Isa::Generic;
  switch (op) {
    case Neg: for (size_t i = 0; i < n; i++) o[i] = -x[i]; return;
    case Abs: for (size_t i = 0; i < n; i++) o[i] = std::fabs(x[i]); return;
    case Sqrt: for (size_t i = 0; i < n; i++) o[i] = std::sqrt(x[i]); return;
    case Reciprocal: for (size_t i = 0; i < n; i++) o[i] = 1.f / x[i]; return;
    case Exp: if (avx2) return vm::map8<vm::exp8>(x, o, n); for (size_t i = 0; i < n; i++) o[i] = std::exp(x[i]); return;
    case Log: if (avx2) return vm::map8<vm::log8>(x, o, n); for (size_t i = 0; i < n; i++) o[i] = std::log(x[i]); return;
    case Sigmoid: if (avx2) return vm::map8<vm::sigmoid8>(x, o, n); for (size_t i = 0; i < n; i++) o[i] = sigmoidScalar(x[i]); return;
    case Tanh: if (avx2) return vm::map8<vm::tanh8>(x, o, n); for (size_t i = 0; i < n; i++) o[i] = std::tanh(x[i]); return;
  }
}

}  // namespace

// The math functions are worth threads from 64k elements, the cheap maps only from a quarter million.
void map(int op, const float* x, float* o, size_t n) {
  const int t = n < (op >= Exp ? (1u << 16) : (1u << 18)) ? 1 : hardwareThreads();
  parallelFor(n, grainFor(n, t, 4096), t, [&](size_t a, size_t b) { mapRange(op, x + a, o + a, b - a); });
}

namespace {

// Optimizer updates in place, computed in double and rounded to float at each store exactly as the
// JS loops in optim/optimizer.ts do (a value stored and read back is the float), so both take
// bit-identical steps. Split over the pool for very large parameters.
// The loops are written once and compiled twice: with AVX2 (four doubles per instruction) and for the
// baseline. AVX2 without FMA on purpose: a fused multiply-add would round once where JS rounds twice.
INLINE void sgdLoop(float* w, const float* g, float* v, double lr, double mu, double wd, bool nesterov, bool first, size_t a, size_t b) {
  if (!v) {
    for (size_t i = a; i < b; i++) w[i] = (float)((double)w[i] - lr * ((double)g[i] + wd * (double)w[i]));
    return;
  }
  for (size_t i = a; i < b; i++) {
    const double gi = (double)g[i] + wd * (double)w[i];
    v[i] = (float)(first ? gi : mu * (double)v[i] + gi);
    w[i] = (float)((double)w[i] - lr * (nesterov ? gi + mu * (double)v[i] : (double)v[i]));
  }
}

INLINE void adamLoop(float* w, const float* g, float* m, float* v, double lr, double b1, double b2, double eps, double wd, bool decoupled, double c1, double c2, size_t a, size_t b) {
  for (size_t i = a; i < b; i++) {
    const double gi = decoupled ? (double)g[i] : (double)g[i] + wd * (double)w[i];
    m[i] = (float)(b1 * (double)m[i] + (1 - b1) * gi);
    v[i] = (float)(b2 * (double)v[i] + (1 - b2) * gi * gi);
    if (decoupled) w[i] = (float)((double)w[i] - lr * wd * (double)w[i]);
    w[i] = (float)((double)w[i] - (lr * ((double)m[i] / c1)) / (std::sqrt((double)v[i] / c2) + eps));
  }
}

AVX2 void sgdAvx2(float* w, const float* g, float* v, double lr, double mu, double wd, bool nesterov, bool first, size_t a, size_t b) {
  sgdLoop(w, g, v, lr, mu, wd, nesterov, first, a, b);
}

AVX2 void adamAvx2(float* w, const float* g, float* m, float* v, double lr, double b1, double b2, double eps, double wd, bool decoupled, double c1, double c2, size_t a, size_t b) {
  adamLoop(w, g, m, v, lr, b1, b2, eps, wd, decoupled, c1, c2, a, b);
}

// And with AVX-512 (eight doubles an instruction), without fused multiply-adds like the AVX2 ones. On
// parameters in cache SGD is bound by its arithmetic (784x256 on two cores: 57 -> 36 us); in a
// training step, where the gradient has just been written, by memory (no change there). Adam's
// divisions and square roots take as long either way.
AVX512 void sgdAvx512(float* w, const float* g, float* v, double lr, double mu, double wd, bool nesterov, bool first, size_t a, size_t b) {
  sgdLoop(w, g, v, lr, mu, wd, nesterov, first, a, b);
}

AVX512 void adamAvx512(float* w, const float* g, float* m, float* v, double lr, double b1, double b2, double eps, double wd, bool decoupled, double c1, double c2, size_t a, size_t b) {
  adamLoop(w, g, m, v, lr, b1, b2, eps, wd, decoupled, c1, c2, a, b);
}

void sgdRange(float* w, const float* g, float* v, double lr, double mu, double wd, bool nesterov, bool first, size_t a, size_t b) {
  if (kIsa == Isa::Avx512) return sgdAvx512(w, g, v, lr, mu, wd, nesterov, first, a, b);
  if (kIsa == Isa::Avx2) return sgdAvx2(w, g, v, lr, mu, wd, nesterov, first, a, b);
  sgdLoop(w, g, v, lr, mu, wd, nesterov, first, a, b);
}

void adamRange(float* w, const float* g, float* m, float* v, double lr, double b1, double b2, double eps, double wd, bool decoupled, double c1, double c2, size_t a, size_t b) {
  if (kIsa == Isa::Avx512) return adamAvx512(w, g, m, v, lr, b1, b2, eps, wd, decoupled, c1, c2, a, b);
  if (kIsa == Isa::Avx2) return adamAvx2(w, g, m, v, lr, b1, b2, eps, wd, decoupled, c1, c2, a, b);
  adamLoop(w, g, m, v, lr, b1, b2, eps, wd, decoupled, c1, c2, a, b);
}

}  // namespace

// Updates are memory-bound, and a second core brings its own bandwidth: split from 64k elements
// (SGD on a 784x256 weight: 75 -> 44 us with two cores).
void sgd(float* w, const float* g, float* v, size_t n, double lr, double mu, double wd, bool nesterov, bool first) {
  const int t = n < (1 << 16) ? 1 : hardwareThreads();
  parallelFor(n, grainFor(n, t, 4096), t, [&](size_t a, size_t b) { sgdRange(w, g, v, lr, mu, wd, nesterov, first, a, b); });
}

void adam(float* w, const float* g, float* m, float* v, size_t n, double lr, double b1, double b2, double eps, double wd, bool decoupled, double c1, double c2) {
  const int t = n < (1 << 16) ? 1 : hardwareThreads();
  parallelFor(n, grainFor(n, t, 4096), t, [&](size_t a, size_t b) { adamRange(w, g, m, v, lr, b1, b2, eps, wd, decoupled, c1, c2, a, b); });
}

namespace {

// Reductions over the middle of (outer, mid, inner) blocks, in the reference kernels' order: sums
// accumulate in double (so results are identical to the reference), max carries NaN. Vectorized
// across `inner`, which keeps each element's order of additions.
INLINE void reduceBlocks(bool isMax, const float* x, float* o, size_t outer, size_t mid, size_t inner, double* acc) {
  for (size_t a = 0; a < outer; a++) {
    const float* xa = x + a * mid * inner;
    float* oa = o + a * inner;
    if (isMax) {
      std::fill(oa, oa + inner, -INFINITY);
      for (size_t m = 0; m < mid; m++)
        for (size_t k = 0; k < inner; k++) {
          const float v = xa[m * inner + k];
          oa[k] = pick((v > oa[k]) | (v != v), v, oa[k]);
        }
    } else if (inner == 1) {
      double s = 0;
      for (size_t m = 0; m < mid; m++) s += xa[m];
      oa[0] = (float)s;
    } else {
      std::fill(acc, acc + inner, 0.0);
      for (size_t m = 0; m < mid; m++)
        for (size_t k = 0; k < inner; k++) acc[k] += xa[m * inner + k];
      for (size_t k = 0; k < inner; k++) oa[k] = (float)acc[k];
    }
  }
}
void reduceBase(bool isMax, const float* x, float* o, size_t outer, size_t mid, size_t inner, double* acc) {
  reduceBlocks(isMax, x, o, outer, mid, inner, acc);
}
AVX2 void reduceAvx2(bool isMax, const float* x, float* o, size_t outer, size_t mid, size_t inner, double* acc) {
  reduceBlocks(isMax, x, o, outer, mid, inner, acc);
}

}  // namespace

// Blocks are independent: large reductions split over the pool by blocks, or, with one block, by
// ranges of `inner` (each output element's sum is the same sequence of additions either way).
void reduce(bool isMax, const float* x, float* o, size_t outer, size_t mid, size_t inner) {
  const auto serial = kIsa == Isa::Generic ? reduceBase : reduceAvx2;
  const size_t n = outer * mid * inner;
  const int t = n < (1 << 18) ? 1 : hardwareThreads();
  if (outer > 1 || inner == 1) {
    parallelFor(outer, std::max<size_t>(1, grainFor(n, t, 4096) / std::max<size_t>(1, mid * inner)), t, [&](size_t a0, size_t a1) {
      std::vector<double> acc(isMax ? 0 : inner);
      serial(isMax, x + a0 * mid * inner, o + a0 * inner, a1 - a0, mid, inner, acc.data());
    });
    return;
  }
  // One block: columns [k0, k1) of the mid x inner matrix, through a copy of those columns.
  parallelFor(inner, std::max<size_t>(16, grainFor(n, t, 4096) / std::max<size_t>(1, mid)), t, [&](size_t k0, size_t k1) {
    const size_t w = k1 - k0;
    std::vector<float> part(mid * w);
    for (size_t m = 0; m < mid; m++) std::memcpy(part.data() + m * w, x + m * inner + k0, w * sizeof(float));
    std::vector<double> acc(isMax ? 0 : w);
    serial(isMax, part.data(), o + k0, 1, mid, w, acc.data());
  });
}

namespace {

// A reduction over any axes, in the reference kernel's order: the input is walked in row-major order
// and each element added (in double) to, or compared with, its output element. dims are the input's
// axes with neighbours of the same kind merged, `reduced` marks the reduced ones; in/out are the
// input's and output's element strides (out 0 along reduced axes).
struct AxesWalk {
  std::vector<size_t> dims, in, out;
  std::vector<bool> reduced;
};

template <bool IsMax, typename Acc>
void walkAxes(const AxesWalk& w, size_t d, const float* x, Acc* o) {
  const size_t n = w.dims[d];
  if (d + 2 == w.dims.size() && !w.reduced[d] && w.reduced[d + 1] && n >= 8) {
    // Runs into 8 output elements side by side (a bias gradient's channels): each still adds its own
    // run in order, but one chain at a time waited on the latency of every add (64x16x784, one core: 0.65 -> 0.25 ms, the same sums).
    const size_t len = w.dims[d + 1], step = w.in[d], os = w.out[d];
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
      Acc s[8];
      for (int j = 0; j < 8; j++) s[j] = o[(k + j) * os];
      const float* xk = x + k * step;
      for (size_t i = 0; i < len; i++) {
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
          const float v = xk[j * step + i];
          if constexpr (IsMax) s[j] = pick((v > s[j]) | (v != v), v, s[j]);
          else s[j] += v;
        }
      }
      for (int j = 0; j < 8; j++) o[(k + j) * os] = s[j];
    }
    for (; k < n; k++) walkAxes<IsMax>(w, d + 1, x + k * step, o + k * os);
  } else if (d + 1 < w.dims.size()) {
    for (size_t k = 0; k < n; k++) walkAxes<IsMax>(w, d + 1, x + k * w.in[d], o + k * w.out[d]);
  } else if (w.reduced[d]) {  // a run into one output element: a chain, as the reference adds it
    Acc s = *o;
    for (size_t k = 0; k < n; k++) {
      if constexpr (IsMax) s = pick((x[k] > s) | (x[k] != x[k]), x[k], s);
      else s += x[k];
    }
    *o = s;
  } else {
    for (size_t k = 0; k < n; k++) {
      if constexpr (IsMax) o[k] = pick((x[k] > o[k]) | (x[k] != x[k]), x[k], o[k]);
      else o[k] += x[k];
    }
  }
}

}  // namespace

// Sums (in double) or maxima over the axes flagged in `reduced` of x (dims), into o (the kept axes in
// order). Threads split the first kept axis when the input is large: each output element is still
// the same sequence of operations.
void reduceAxes(bool isMax, const float* x, float* o, const int32_t* dims, const int32_t* reduced, int nd) {
  AxesWalk w;
  for (int i = 0; i < nd; i++) {
    if (dims[i] == 1) continue;
    const bool r = reduced[i] != 0;
    if (!w.dims.empty() && w.reduced.back() == r) w.dims.back() *= dims[i];
    else w.dims.push_back(dims[i]), w.reduced.push_back(r);
  }
  size_t n = 1, kept = 1;
  for (size_t d : w.dims) n *= d;
  if (w.dims.empty() || n == 0) {  // nothing to reduce over, or nothing at all
    size_t outN = 1;
    for (int i = 0; i < nd; i++) outN *= reduced[i] ? 1 : dims[i];
    for (size_t i = 0; i < outN; i++) o[i] = n == 0 ? (isMax ? -INFINITY : 0.f) : x[i];
    return;
  }
  const size_t nd2 = w.dims.size();
  w.in.assign(nd2, 1);
  w.out.assign(nd2, 0);
  for (size_t i = nd2; i-- > 0;) {
    w.in[i] = i + 1 < nd2 ? w.in[i + 1] * w.dims[i + 1] : 1;
    if (!w.reduced[i]) w.out[i] = kept, kept *= w.dims[i];
  }
  // Threads split the first kept axis: its output stride is the largest, so each range of it owns
  // one contiguous range of the output. (With every axis reduced, one thread walks it all.)
  size_t split = 0;
  while (split < nd2 && w.reduced[split]) split++;
  const size_t length = split < nd2 ? w.dims[split] : 1, block = split < nd2 ? w.out[split] : 1;
  const int t = n < (1 << 18) || split == nd2 ? 1 : hardwareThreads();
  parallelFor(length, std::max<size_t>(1, length / (4 * (size_t)t)), t, [&](size_t a, size_t b) {
    AxesWalk part = w;
    if (split < nd2) part.dims[split] = b - a;
    const float* xs = x + a * (split < nd2 ? w.in[split] : 0);
    float* os = o + a * block;
    const size_t count = (b - a) * block;
    if (isMax) {
      std::fill(os, os + count, -INFINITY);
      walkAxes<true>(part, 0, xs, os);
    } else {
      std::vector<double> acc(count, 0.0);
      walkAxes<false>(part, 0, xs, acc.data());
      for (size_t i = 0; i < count; i++) os[i] = (float)acc[i];
    }
  });
}


// dst (cols x rows) = src (rows x cols)^T, in 32 x 32 tiles (both the rows read and the rows written
// stay in cache); whole 8 x 8 blocks inside a tile go through AVX2 registers.
void transpose(const float* s, float* d, int rows, int cols) {
  constexpr int T = 32;
  const bool avx2 = kIsa != Isa::Generic;
  for (int i0 = 0; i0 < rows; i0 += T)
    for (int j0 = 0; j0 < cols; j0 += T) {
      const int i1 = std::min(rows, i0 + T), j1 = std::min(cols, j0 + T);
      int i = i0;
      if (avx2) {
        for (; i + 8 <= i1; i += 8) {
          int j = j0;
          for (; j + 8 <= j1; j += 8) transpose8(s + (size_t)i * cols + j, cols, d + (size_t)j * rows + i, rows);
          for (; j < j1; j++)
            for (int r = i; r < i + 8; r++) d[(size_t)j * rows + r] = s[(size_t)r * cols + j];
        }
      }
      for (; i < i1; i++)
        for (int j = j0; j < j1; j++) d[(size_t)j * rows + i] = s[(size_t)i * cols + j];
    }
}

}  // namespace native
