// argmax along an axis, gather and scatterAdd (its adjoint) along an axis, for float32 and float64, in
// the reference kernels' order (src/core/backends/js/layout.ts and reduce.ts), so results are identical.
// Max pooling runs on these: argmax over each window's taps, gather of the maxima, scatterAdd of their
// gradient. Arrays are (outer, n, inner) around the axis; indices are checked by the binding.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "isa.h"
#include "kernels.h"
#include "pool.h"

namespace native {

namespace {

// a where c, else b, by bit masks (the compiler vectorizes these; it did not vectorize the ?: form).
template <typename T>
inline T pick(bool c, T a, T b) {
  using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  U ua, ub;
  std::memcpy(&ua, &a, sizeof a);
  std::memcpy(&ub, &b, sizeof b);
  const U m = U(0) - (U)c;
  const U u = (ua & m) | (ub & ~m);
  T r;
  std::memcpy(&r, &u, sizeof r);
  return r;
}

// The running best of every column of blocks [a0, a1), rows m in order; a column whose best is NaN
// keeps it. Sixteen columns at a time in fixed-size arrays the compiler keeps in vector registers
// across the rows (over whole-row arrays it reloaded and stored them for every row: 1.5 ns an element).
template <typename T>
__attribute__((always_inline)) inline void argmaxColumns(const T* __restrict xa, T* __restrict best, size_t n, size_t inner, size_t k0, size_t w) {
  constexpr size_t W = 16;
  T bv[W], bi[W];
  for (size_t k = 0; k < W; k++) bv[k] = k < w ? xa[k0 + k] : T(0), bi[k] = T(0);
  for (size_t m = 1; m < n; m++) {
    const T* __restrict row = xa + m * inner + k0;
    const T index = (T)m;
    if (w == W) {
      for (size_t k = 0; k < W; k++) {
        const T v = row[k], b = bv[k];
        const bool take = (b == b) & ((v > b) | (v != v));
        bv[k] = pick(take, v, b);
        bi[k] = pick(take, index, bi[k]);
      }
    } else {
      for (size_t k = 0; k < w; k++) {
        const T v = row[k], b = bv[k];
        const bool take = (b == b) & ((v > b) | (v != v));
        bv[k] = pick(take, v, b);
        bi[k] = pick(take, index, bi[k]);
      }
    }
  }
  for (size_t k = 0; k < w; k++) best[k0 + k] = bi[k];
}

template <typename T>
__attribute__((always_inline)) inline void argmaxBlocks(const T* x, T* o, size_t a0, size_t a1, size_t n, size_t inner, size_t stride) {
  for (size_t a = a0; a < a1; a++)
    for (size_t k0 = 0; k0 < inner; k0 += 16) argmaxColumns(x + a * stride, o + a * inner, n, inner, k0, std::min<size_t>(16, inner - k0));
}

template <typename T>
void argmaxBase(const T* x, T* o, size_t a0, size_t a1, size_t n, size_t inner, size_t stride) {
  argmaxBlocks(x, o, a0, a1, n, inner, stride);
}
template <typename T>
__attribute__((target("avx2"))) void argmaxAvx2(const T* x, T* o, size_t a0, size_t a1, size_t n, size_t inner, size_t stride) {
  argmaxBlocks(x, o, a0, a1, n, inner, stride);
}

}  // namespace

// o[a, k] = the first index m of the largest x[a, m, k] (the first NaN, where there is one). Blocks
// are split over threads; a single wide block is split by columns, each range copied out first.
template <typename T>
void argmax(const T* x, T* o, size_t outer, size_t n, size_t inner) {
  const size_t total = outer * n * inner;
  const int t = total < (1 << 18) ? 1 : hardwareThreads();
  const auto serial = kIsa == Isa::Generic ? argmaxBase<T> : argmaxAvx2<T>;
  if (outer > 1 || inner == 1) {
    parallelFor(outer, std::max<size_t>(1, (1u << 16) / std::max<size_t>(1, n * inner)), t, [&](size_t a0, size_t a1) { serial(x, o, a0, a1, n, inner, n * inner); });
  } else {
    parallelFor(inner, std::max<size_t>(64, inner / (4 * (size_t)t)), t, [&](size_t k0, size_t k1) {
      const size_t w = k1 - k0;
      std::vector<T> part(n * w);
      for (size_t m = 0; m < n; m++) std::memcpy(part.data() + m * w, x + m * inner + k0, w * sizeof(T));
      serial(part.data(), o + k0, 0, 1, n, w, n * w);
    });
  }
}

// o[a, j, :] = x[a, idx[j], :] for j < m.
template <typename T>
void gather(const T* x, T* o, const int32_t* idx, size_t m, size_t outer, size_t n, size_t inner) {
  const size_t rows = outer * m, total = rows * inner;
  const int t = total < (1 << 18) ? 1 : hardwareThreads();
  parallelFor(rows, std::max<size_t>(1, grainFor(total, t, 4096) / std::max<size_t>(inner, 1)), t, [&](size_t r0, size_t r1) {
    // Rows r0..r1 of the (a, j) range, a block at a time (no division per element).
    for (size_t a = r0 / m, r = r0; r < r1; a++) {
      const size_t j0 = r - a * m, j1 = std::min(m, r1 - a * m);
      const T* xa = x + a * n * inner;
      T* to = o + r * inner;
      if (inner == 1) {
        for (size_t j = j0; j < j1; j++) *to++ = xa[idx[j]];
      } else {
        for (size_t j = j0; j < j1; j++, to += inner) std::memcpy(to, xa + (size_t)idx[j] * inner, inner * sizeof(T));
      }
      r += j1 - j0;
    }
  });
}

// o (outer, n, inner) = zeros, then o[a, idx[j], :] += x[a, j, :] for j in order. Blocks a are
// independent and split over threads; within one, the additions keep the reference's order.
template <typename T>
void scatterAdd(const T* x, T* o, const int32_t* idx, size_t m, size_t outer, size_t n, size_t inner) {
  const size_t total = outer * (m + n) * inner;
  const int t = total < (1 << 18) || outer < 2 ? 1 : hardwareThreads();
  parallelFor(outer, 1, t, [&](size_t a0, size_t a1) {
    for (size_t a = a0; a < a1; a++) {
      T* block = o + a * n * inner;
      std::fill(block, block + n * inner, T(0));
      const T* src = x + a * m * inner;
      for (size_t j = 0; j < m; j++) {
        T* to = block + (size_t)idx[j] * inner;
        const T* from = src + j * inner;
        for (size_t k = 0; k < inner; k++) to[k] += from[k];
      }
    }
  });
}

template void argmax<float>(const float*, float*, size_t, size_t, size_t);
template void argmax<double>(const double*, double*, size_t, size_t, size_t);
template void gather<float>(const float*, float*, const int32_t*, size_t, size_t, size_t, size_t);
template void gather<double>(const double*, double*, const int32_t*, size_t, size_t, size_t, size_t);
template void scatterAdd<float>(const float*, float*, const int32_t*, size_t, size_t, size_t, size_t);
template void scatterAdd<double>(const double*, double*, const int32_t*, size_t, size_t, size_t, size_t);

}  // namespace native
