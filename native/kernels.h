// The kernels the N-API binding (binding.cc) exposes. All arrays are row-major float32.
#pragma once
#include <cstddef>
#include <cstdint>

namespace native {

// C (M x N) = op(A) op(B) on up to `threads` threads; op(A) is M x K (A stored K x M when ta), op(B)
// K x N (B stored N x K when tb). Results are bit-identical for any number of threads.
void gemm(const float* A, const float* B, float* C, int M, int N, int K, int threads, bool ta, bool tb);
// C[b] = op(A[b]) op(B[b]) for b < batches, A[b] at A + b * strideA (0: one A for all), B[b] likewise,
// C[b] at C + b * M * N; small products are spread over threads whole.
void gemmBatched(const float* A, const float* B, float* C, int batches, size_t strideA, size_t strideB, int M, int N, int K, int threads, bool ta, bool tb);

// Elementwise ops on a batch of 2-D views of a broadcast: each input has a batch stride (0: the same
// view for every batch), a row stride and says whether it varies along a row (vec); see elementwise.cc.
void arithmetic(int op, const float* a, size_t bsA, int rsA, bool va, const float* b, size_t bsB, int rsB, bool vb, float* o, int batches, int rows, int cols);
void select(const float* c, size_t bsC, int rsC, bool vc, const float* x, size_t bsX, int rsX, bool vx, const float* y, size_t bsY, int rsY, bool vy, float* o, int batches,
            int rows, int cols);
void map(int op, const float* x, float* o, size_t n);
void reduce(bool isMax, const float* x, float* o, size_t outer, size_t mid, size_t inner);
// The same over any set of axes: dims (nd of them) with reduced[i] != 0 for the axes reduced.
void reduceAxes(bool isMax, const float* x, float* o, const int32_t* dims, const int32_t* reduced, int nd);
void transpose(const float* src, float* dst, int rows, int cols);

// The geometry of a sliding window over (n, c, h, w) images: kernel kh x kw, strides, top and left
// zero padding, dilations, and the output's ho x wo positions (computed by the caller, with the
// bottom and right padding).
struct Window {
  int n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo;
};
// cols (n, c*kh*kw, ho*wo) = im2col(x (n, c, h, w)), zeros where the window reads padding (conv.cc).
template <typename T>
void unfold(const Window& g, const T* x, T* cols);
// x (n, c, h, w) = col2im(cols): unfold's adjoint, overlapping windows summed.
template <typename T>
void fold(const Window& g, const T* cols, T* x);

// Optimizer updates in place, bit-identical to the JS loops in optim/optimizer.ts.
void sgd(float* w, const float* g, float* v, size_t n, double lr, double mu, double wd, bool nesterov, bool first);
void adam(float* w, const float* g, float* m, float* v, size_t n, double lr, double b1, double b2, double eps, double wd, bool decoupled, double c1, double c2);

}  // namespace native
