// im2col (unfold) and col2im (fold), the data movement of a convolution as unfold + GEMM, for float32
// and float64. Layout as PyTorch's F.unfold: x (N, C, H, W) <-> cols (N, C*kh*kw, Ho*Wo), row
// c*kh*kw + i*kw + j, column oh*Wo + ow. Each (n, c) plane is independent in both directions, so
// planes are split over the pool. For each kernel offset (i, j) the columns ow whose input column
// lies inside the image are one range, computed once: the rows are then a zero head, a copy (a memcpy
// at stride 1) and a zero tail, with no bounds test per element.
#include <algorithm>
#include <cstring>

#include "kernels.h"
#include "pool.h"

namespace native {
namespace {

// [first, last) of the outputs o in [0, count) with 0 <= o * stride + offset < size.
inline void insideRange(int offset, int stride, int size, int count, int* first, int* last) {
  // o * stride >= -offset  <=>  o >= ceil(-offset / stride)
  int lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  // o * stride + offset <= size - 1  <=>  o <= floor((size - 1 - offset) / stride)
  int hi = size - 1 - offset < 0 ? -1 : (size - 1 - offset) / stride;
  lo = std::min(lo, count);
  hi = std::min(hi + 1, count);
  *first = lo;
  *last = std::max(lo, hi);
}

template <typename T>
void unfoldPlane(const Window& g, const T* __restrict x, T* __restrict cols) {
  const int L = g.ho * g.wo;
  for (int i = 0; i < g.kh; i++) {
    for (int j = 0; j < g.kw; j++, cols += L) {
      const int colOffset = j * g.dw - g.pl;
      int ow0, ow1;
      insideRange(colOffset, g.sw, g.w, g.wo, &ow0, &ow1);
      for (int oh = 0; oh < g.ho; oh++) {
        T* o = cols + (size_t)oh * g.wo;
        const int ih = oh * g.sh - g.pt + i * g.dh;
        if (ih < 0 || ih >= g.h) {
          std::fill(o, o + g.wo, T(0));
          continue;
        }
        // Output ow0 + k reads input column colOffset + (ow0 + k) * sw, inside the row by construction.
        const int run = ow1 - ow0;
        std::fill(o, o + ow0, T(0));
        std::fill(o + ow1, o + g.wo, T(0));
        if (run == 0) continue;
        const T* src = x + (size_t)ih * g.w + (colOffset + ow0 * g.sw);
        if (g.sw == 1) {
          std::memcpy(o + ow0, src, sizeof(T) * run);
        } else if (g.sw == 2) {
          for (int k = 0; k < run; k++) o[ow0 + k] = src[2 * k];
        } else {
          for (int k = 0; k < run; k++) o[ow0 + k] = src[(size_t)k * g.sw];
        }
      }
    }
  }
}

// The adjoint: the plane is zeroed, then every column's value is added at its input position, in the
// order (i, j, oh, ow), so that each pixel's sum adds its contributions in increasing (i, j).
template <typename T>
void foldPlane(const Window& g, const T* __restrict cols, T* __restrict x) {
  const int L = g.ho * g.wo;
  std::fill(x, x + (size_t)g.h * g.w, T(0));
  for (int i = 0; i < g.kh; i++) {
    for (int j = 0; j < g.kw; j++, cols += L) {
      const int colOffset = j * g.dw - g.pl;
      int ow0, ow1;
      insideRange(colOffset, g.sw, g.w, g.wo, &ow0, &ow1);
      for (int oh = 0; oh < g.ho; oh++) {
        const int ih = oh * g.sh - g.pt + i * g.dh;
        const int run = ow1 - ow0;
        if (ih < 0 || ih >= g.h || run == 0) continue;
        const T* c = cols + (size_t)oh * g.wo + ow0;
        T* dst = x + (size_t)ih * g.w + (colOffset + ow0 * g.sw);
        if (g.sw == 1) {
          for (int k = 0; k < run; k++) dst[k] += c[k];
        } else {
          for (int k = 0; k < run; k++) dst[(size_t)k * g.sw] += c[k];
        }
      }
    }
  }
}

// Planes per piece of work: about 16k elements of cols each; threads from 64k elements (below that a
// job costs more than the copy it shares).
template <typename F>
void overPlanes(const Window& g, F&& body) {
  const size_t planes = (size_t)g.n * g.c;
  const size_t perPlane = std::max<size_t>(1, (size_t)g.kh * g.kw * g.ho * g.wo + (size_t)g.h * g.w);
  const int t = planes * perPlane < (1u << 16) ? 1 : hardwareThreads();
  const size_t grain = std::max<size_t>(1, (1u << 14) / perPlane);
  parallelFor(planes, grain, t, [&](size_t a, size_t b) {
    for (size_t p = a; p < b; p++) body(p);
  });
}

}  // namespace

template <typename T>
void unfold(const Window& g, const T* x, T* cols) {
  const size_t in = (size_t)g.h * g.w, out = (size_t)g.kh * g.kw * g.ho * g.wo;
  overPlanes(g, [&](size_t p) { unfoldPlane(g, x + p * in, cols + p * out); });
}

template <typename T>
void fold(const Window& g, const T* cols, T* x) {
  const size_t in = (size_t)g.h * g.w, out = (size_t)g.kh * g.kw * g.ho * g.wo;
  overPlanes(g, [&](size_t p) { foldPlane(g, cols + p * out, x + p * in); });
}

template void unfold<float>(const Window&, const float*, float*);
template void unfold<double>(const Window&, const double*, double*);
template void fold<float>(const Window&, const float*, float*);
template void fold<double>(const Window&, const double*, double*);

}  // namespace native
