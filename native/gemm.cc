// A cache-blocked single-precision GEMM with register-tiled micro-kernels for AVX-512 and AVX2+FMA
// (chosen at run time). The threads of a product share it by claiming pieces from counters: for
// each block of the depth, first the pieces of B to pack (into one shared buffer), then the units of
// C to compute (each thread packs the rows of A a unit needs, in its own cache). Where C is wide
// enough, its columns are split into one group per thread, and each thread starts with its own
// group's pieces and units, so that it computes with the panels of B it packed itself.
// A thread that joins late (asleep, or preempted by the OS or by V8's own threads) takes what is
// left, and nobody waits for it; which thread computes a unit never changes its result.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "isa.h"
#include "kernels.h"
#include "pool.h"
#include "transpose8.h"

namespace native {
namespace {

constexpr int KC = 256;   // the deepest block: a B micro-panel (KC x NR) stays in L1
constexpr int MC = 96;    // rows of C in a unit of work (a multiple of every MR)
constexpr int NC = 2048;  // columns of B packed at once
constexpr int PIECE = 64;  // columns of B in a piece to pack: whole panels of every kernel

// Where a matrix's elements are: (row, column) at row * rs + column * cs. A product's operand read
// transposed is the same storage with the two strides swapped, so packing reads it in place.
struct Layout {
  size_t rs, cs;
  const float* at(const float* base, size_t row, size_t col) const { return base + row * rs + col * cs; }
};

// Packs rows [0, mc) x depth [0, kc) of A into MR-row panels, zero padded.
// Whole panels get loops of a known length (the compiler unrolls them): one copy of MR adjacent
// elements per step of depth where A is read transposed, MR loads from MR rows otherwise.
template <int MR>
void packA(const float* A, Layout l, int mc, int kc, float* out) {
  for (int i0 = 0; i0 < mc; i0 += MR, out += (size_t)MR * kc) {
    const int rows = std::min(MR, mc - i0);
    const float* a = l.at(A, i0, 0);
    float* o = out;
    if (rows == MR && l.rs == 1) {
      for (int p = 0; p < kc; p++, o += MR) std::memcpy(o, a + p * l.cs, MR * sizeof(float));
    } else if (rows == MR) {
      for (int p = 0; p < kc; p++, o += MR)
        for (int r = 0; r < MR; r++) o[r] = a[r * l.rs + p * l.cs];
    } else {
      for (int p = 0; p < kc; p++, o += MR) {
        for (int r = 0; r < rows; r++) o[r] = a[r * l.rs + p * l.cs];
        for (int r = rows; r < MR; r++) o[r] = 0.f;
      }
    }
  }
}

// A whole panel of B read transposed (element (p, c) at b[p + c * cs]): the panel's NR columns are
// rows of the storage, turned through registers 8 x 8 (element by element, a 32-column panel of a
// 10-deep B took as long as the product).
template <int NR>
__attribute__((target("avx2"))) void packTransposed(const float* b, size_t cs, int kc, float* o) {
  int p0 = 0;
  for (; p0 + 8 <= kc; p0 += 8)
    for (int c0 = 0; c0 < NR; c0 += 8) transpose8(b + c0 * cs + p0, cs, o + (size_t)p0 * NR + c0, NR);
  for (; p0 < kc; p0++)
    for (int c = 0; c < NR; c++) o[(size_t)p0 * NR + c] = b[c * cs + p0];
}

// Packs depth [0, kc) x columns [0, nc) of B into NR-column panels, zero padded; panel j starts at
// out + j * stride (a panel's place does not depend on kc, so blocks of any depth share a layout).
template <int NR>
void packB(const float* B, Layout l, int kc, int nc, float* out, size_t stride) {
  for (int j0 = 0; j0 < nc; j0 += NR, out += stride) {
    const int cols = std::min(NR, nc - j0);
    float* o = out;
    if (cols == NR && l.cs == 1) {  // a whole panel of rows read in place: one NR-element copy per step
      for (int p = 0; p < kc; p++, o += NR) std::memcpy(o, l.at(B, p, j0), NR * sizeof(float));
      continue;
    }
    if (cols == NR && l.rs == 1 && kIsa != Isa::Generic) {  // B read transposed: 8 x 8 blocks
      packTransposed<NR>(l.at(B, 0, j0), l.cs, kc, o);
      continue;
    }
    for (int p = 0; p < kc; p++) {
      const float* src = l.at(B, p, j0);
      if (l.cs == 1) {
        for (int c = 0; c < cols; c++) o[c] = src[c];
      } else {
        for (int c = 0; c < cols; c++) o[c] = src[c * l.cs];
      }
      for (int c = cols; c < NR; c++) o[c] = 0.f;
      o += NR;
    }
  }
}

// A micro-kernel: c (MR x NR, row stride ldc) = [c +] a b over depth kc, b a packed panel. a is a
// packed panel, or (kPacked false) rows of A in place: element (r, p) at a[r * ars + p * acs].
using Kernel = void (*)(int kc, const float* a, size_t ars, size_t acs, const float* b, float* c, size_t ldc, bool accumulate);

// AVX-512: a 12 x 32 tile in 24 zmm accumulators.
template <bool kPacked>
__attribute__((target("avx512f"))) void kernel512(int kc, const float* a, size_t ars, size_t acs, const float* b, float* c, size_t ldc, bool accumulate) {
  if constexpr (kPacked) ars = 1, acs = 12;
  __m512 acc[12][2];
  for (int r = 0; r < 12; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int r = 0; r < 12; r++) _mm_prefetch((const char*)(c + r * ldc), _MM_HINT_T0);  // written at the end
  for (int p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    for (int r = 0; r < 12; r++) {
      const __m512 ar = _mm512_set1_ps(a[r * ars]);
      acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
    }
    a += acs;
    b += 32;
  }
  for (int r = 0; r < 12; r++) {
    float* cr = c + r * ldc;
    if (accumulate) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_loadu_ps(cr));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_loadu_ps(cr + 16));
    }
    _mm512_storeu_ps(cr, acc[r][0]);
    _mm512_storeu_ps(cr + 16, acc[r][1]);
  }
}

// AVX2 + FMA: a 6 x 16 tile in 12 ymm accumulators. Named variables, not an array: GCC kept an
// array of accumulators in memory and stored them back every iteration (a third of the speed).
template <bool kPacked>
__attribute__((target("avx2,fma"))) void kernel256(int kc, const float* a, size_t ars, size_t acs, const float* b, float* c, size_t ldc, bool accumulate) {
  if constexpr (kPacked) ars = 1, acs = 6;
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int r = 0; r < 6; r++) _mm_prefetch((const char*)(c + r * ldc), _MM_HINT_T0);  // the tile is written at the end
#pragma GCC unroll 4
  for (int p = 0; p < kc; p++) {
    _mm_prefetch((const char*)(b + 128), _MM_HINT_T0);  // the panel row eight steps ahead
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 ar = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(ar, b0, c00); c01 = _mm256_fmadd_ps(ar, b1, c01);
    ar = _mm256_broadcast_ss(a + ars);
    c10 = _mm256_fmadd_ps(ar, b0, c10); c11 = _mm256_fmadd_ps(ar, b1, c11);
    ar = _mm256_broadcast_ss(a + 2 * ars);
    c20 = _mm256_fmadd_ps(ar, b0, c20); c21 = _mm256_fmadd_ps(ar, b1, c21);
    ar = _mm256_broadcast_ss(a + 3 * ars);
    c30 = _mm256_fmadd_ps(ar, b0, c30); c31 = _mm256_fmadd_ps(ar, b1, c31);
    ar = _mm256_broadcast_ss(a + 4 * ars);
    c40 = _mm256_fmadd_ps(ar, b0, c40); c41 = _mm256_fmadd_ps(ar, b1, c41);
    ar = _mm256_broadcast_ss(a + 5 * ars);
    c50 = _mm256_fmadd_ps(ar, b0, c50); c51 = _mm256_fmadd_ps(ar, b1, c51);
    a += acs;
    b += 16;
  }
  const __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int r = 0; r < 6; r++) {
    float* cr = c + r * ldc;
    __m256 lo = rows[r][0], hi = rows[r][1];
    if (accumulate) {
      lo = _mm256_add_ps(lo, _mm256_loadu_ps(cr));
      hi = _mm256_add_ps(hi, _mm256_loadu_ps(cr + 8));
    }
    _mm256_storeu_ps(cr, lo);
    _mm256_storeu_ps(cr + 8, hi);
  }
}

// Portable tile (the compiler vectorizes what it can).
template <bool kPacked>
void kernelGeneric(int kc, const float* a, size_t ars, size_t acs, const float* b, float* c, size_t ldc, bool accumulate) {
  if constexpr (kPacked) ars = 1, acs = 4;
  float acc[4][8] = {};
  for (int p = 0; p < kc; p++) {
    for (int r = 0; r < 4; r++)
      for (int j = 0; j < 8; j++) acc[r][j] += a[r * ars] * b[j];
    a += acs;
    b += 8;
  }
  for (int r = 0; r < 4; r++)
    for (int j = 0; j < 8; j++) c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

// Packing buffers kept and grown on demand: allocating (and zeroing) them on every call cost as much
// as packing on the mid-sized products of a training step. 64-byte aligned, so that the micro-kernels'
// loads of packed panels never straddle a cache line.
struct Scratch {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data;
  size_t size = 0;
  float* get(size_t n) {
    if (n > size) {
      const size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
      data.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      size = n;
    }
    return data.get();
  }
};

thread_local Scratch packedA, packedB;  // a thread's rows of A; B, for a product on one thread
Scratch sharedB;                        // B, for a product shared by the pool's threads
std::mutex sharedLock;

// Claims and completions of one phase (packing, or computing) of one block.
struct Phase {
  std::atomic<int> next{0}, done{0};
};

// Waits for the pieces other threads have claimed and not finished (a few microseconds of work).
void waitFor(const std::atomic<int>& done, int target) {
  for (int spins = 0; done.load(std::memory_order_acquire) < target; spins++) {
    if (spins > 4000) std::this_thread::yield();
    else _mm_pause();
  }
}

inline int ceilDiv(int a, int b) { return (a + b - 1) / b; }

// One product as its threads share it.
template <int MR, int NR>
struct Product {
  const float *A, *B;
  float* C;
  int M, N, K;
  Layout la, lb;
  int kb;        // depth of a block: K in equal blocks of at most KC (784 as 4 x 196, not 3 x 256 + 16)
  int mc, nu;    // a unit of work: mc rows by nu columns of C
  bool packsA;   // false: A read in place, where each element is used once per block (one panel of B)
  int depthBlocks, maxUnits;
  float* pb[2];  // packed blocks of B, shared: one being computed with while the next is packed
  Kernel packed, direct;
  int groups;                      // column groups, at most one per thread (see participate)
  std::atomic<int>* joined;        // threads that have started: the n-th starts with group n % groups
  Phase* phases;                   // packing and computing, per block and group
  std::atomic<int>* unitDone;      // per block and unit: 1 once computed

  // C[r0.., jc + c0..] over one block of depth (pc, kc), for a unit of `rows` x `cols`.
  void compute(const float* pb, int jc, int pc, int kc, int r0, int c0, int rows, int cols) const {
    alignas(64) float tile[MR * NR];
    alignas(64) float edge[MR * KC];
    const bool acc = pc > 0;
    float* pa = packsA ? packedA.get((size_t)MC * KC) : nullptr;
    if (packsA) packA<MR>(la.at(A, r0, pc), la, rows, kc, pa);
    for (int jr = c0; jr < c0 + cols; jr += NR) {
      const int ncols = std::min(NR, c0 + cols - jr);
      const float* b = pb + (size_t)jr * kb;
      for (int ir = r0; ir < r0 + rows; ir += MR) {
        const int nrows = std::min(MR, r0 + rows - ir);
        float* c = C + (size_t)ir * N + jc + jr;
        Kernel kernel = packed;
        const float* a = pa + (size_t)(ir - r0) * kc;
        size_t ars = 1, acs = MR;
        if (!packsA) {
          a = la.at(A, ir, pc);
          if (nrows == MR) {
            kernel = direct, ars = la.rs, acs = la.cs;
          } else {  // the last rows, padded: reading a whole tile in place would run past A
            packA<MR>(a, la, nrows, kc, edge);
            a = edge;
          }
        }
        if (nrows == MR && ncols == NR) {
          kernel(kc, a, ars, acs, b, c, N, acc);
        } else {
          // Edge tile: compute into a scratch tile, then copy the valid part.
          for (int r = 0; r < nrows; r++)
            for (int j = 0; j < ncols; j++) tile[r * NR + j] = c[(size_t)r * N + j];
          kernel(kc, a, ars, acs, b, tile, NR, acc);
          for (int r = 0; r < nrows; r++)
            for (int j = 0; j < ncols; j++) c[(size_t)r * N + j] = tile[r * NR + j];
        }
      }
    }
  }

  // What every thread of the product runs, block by block. The columns of C are split into groups,
  // one per thread where there are enough columns: a thread packs its own group's pieces of B and
  // computes its units (so the panels it packed are in its own cache, and each thread reads only its
  // share of B), then takes whatever the other groups' threads have not claimed, which is all of it
  // for a thread that joined late or never did. Nobody waits for a whole block: a unit waits only for
  // the same unit of the block before (it adds to the same part of C), and packing waits only for the
  // units of the block two before that read the same part of the buffer.
  void participate() const {
    const int own = joined->fetch_add(1, std::memory_order_relaxed) % groups;
    int block = 0;
    for (int jc = 0; jc < N; jc += NC) {
      const int nc = std::min(NC, N - jc);
      for (int pc = 0; pc < K; pc += kb, block++) {
        for (int i = 0; i < groups; i++) work(block, (own + i) % groups, jc, nc, pc, std::min(kb, K - pc));
      }
    }
  }

  // Group g's column units [first, end), and its columns [c0, c1), in a block of nc columns.
  struct Span {
    int first, end, c0, c1;
  };
  Span groupUnits(int g, int nc) const {
    const int colUnits = ceilDiv(nc, nu), first = g * colUnits / groups, end = (g + 1) * colUnits / groups;
    return {first, end, std::min(nc, first * nu), std::min(nc, end * nu)};
  }
  int blockColumns(int block) const { return std::min(NC, N - block / depthBlocks * NC); }
  Phase& packing(int block, int g) const { return phases[2 * ((size_t)block * groups + g)]; }
  Phase& computing(int block, int g) const { return phases[2 * ((size_t)block * groups + g) + 1]; }
  int unitsIn(int block, int g) const {
    const Span s = groupUnits(g, blockColumns(block));
    return ceilDiv(M, mc) * (s.end - s.first);
  }

  // Before columns [c0, c1) of a buffer are packed again: the units of the block two before that read them are done.
  void waitForReaders(int block, int c0, int c1) const {
    if (block < 2) return;
    const int nc = blockColumns(block - 2);
    for (int g = 0; g < groups; g++) {
      const Span s = groupUnits(g, nc);
      if (s.c0 < c1 && s.c1 > c0) waitFor(computing(block - 2, g).done, unitsIn(block - 2, g));
    }
  }

  // Group g's part of one block: claim pieces of B to pack, wait until the group's are packed, then
  // claim its units of C.
  void work(int block, int g, int jc, int nc, int pc, int kc) const {
    const Span s = groupUnits(g, nc);
    const int colUnits = ceilDiv(nc, nu), width = s.end - s.first, units = ceilDiv(M, mc) * width;
    Phase& pack = packing(block, g);
    Phase& comp = computing(block, g);
    if (comp.next.load(std::memory_order_relaxed) >= units) return;  // all claimed already
    float* buffer = pb[block & 1];
    const int pieces = ceilDiv(s.c1 - s.c0, PIECE);
    for (int q; (q = pack.next.fetch_add(1, std::memory_order_relaxed)) < pieces;) {
      const int p0 = s.c0 + q * PIECE, p1 = std::min(s.c1, p0 + PIECE);
      waitForReaders(block, p0, p1);
      packB<NR>(lb.at(B, pc, jc + p0), lb, kc, p1 - p0, buffer + (size_t)p0 * kb, (size_t)NR * kb);
      pack.done.fetch_add(1, std::memory_order_release);
    }
    waitFor(pack.done, pieces);
    for (int i; (i = comp.next.fetch_add(1, std::memory_order_relaxed)) < units;) {
      const int row = i / width, col = s.first + i % width, u = row * colUnits + col;
      if (pc > 0) waitFor(unitDone[(size_t)(block - 1) * maxUnits + u], 1);
      const int r0 = row * mc, cu = col * nu;
      compute(buffer, jc, pc, kc, r0, cu, std::min(mc, M - r0), std::min(nu, nc - cu));
      unitDone[(size_t)block * maxUnits + u].store(1, std::memory_order_release);
      comp.done.fetch_add(1, std::memory_order_release);
    }
  }
};

template <int MR, int NR>
void run(const float* A, const float* B, float* C, int M, int N, int K, int threads, bool wake, Layout la, Layout lb, Kernel packed, Kernel direct) {
  std::atomic<int> joined{0};
  Product<MR, NR> p{A, B, C, M, N, K, la, lb, 0, MC, 0, true, ceilDiv(K, KC), 0, {nullptr, nullptr}, packed, direct, 1, &joined, nullptr, nullptr};
  p.kb = ceilDiv(K, p.depthBlocks);
  p.packsA = N > NR;  // with one panel of B, packing A would copy each element to use it once
  const int ncMax = std::min(N, NC);
  p.nu = ceilDiv(ncMax, NR) * NR;
  if (threads > 1) {
    // Wide products get a group of columns per thread (of 256 or more), each thread then packing and
    // reading only its part of B (1024^3: 18.0 -> 15.8 ms in some runs here, never slower).
    if (ncMax >= 256 * threads) p.nu = ceilDiv(ceilDiv(ncMax, threads), 32) * 32;
    // About three units per thread, so that a thread that starts late or is preempted leaves little
    // behind: columns are split down to 128 (keeping A's rows reused across panels of B), then rows
    // down to 24 (keeping each panel of B reused across tiles of A).
    auto units = [&] { return ceilDiv(M, p.mc) * ceilDiv(ncMax, p.nu); };
    while (units() < 3 * threads) {
      if (p.nu >= 256) p.nu = ceilDiv(p.nu / 2, 32) * 32;
      else if (p.mc > 24) p.mc = ceilDiv(p.mc / 2, 12) * 12;
      else break;
    }
  }
  const int blocks = ceilDiv(N, NC) * p.depthBlocks;
  p.maxUnits = ceilDiv(M, p.mc) * ceilDiv(ncMax, p.nu);
  p.groups = std::max(1, std::min(threads, ceilDiv(ncMax, p.nu)));
  std::unique_ptr<Phase[]> phases(new Phase[2 * (size_t)blocks * p.groups]);
  std::unique_ptr<std::atomic<int>[]> unitDone(new std::atomic<int>[(size_t)blocks * p.maxUnits]);
  for (size_t i = 0; i < (size_t)blocks * p.maxUnits; i++) unitDone[i].store(0, std::memory_order_relaxed);
  p.phases = phases.get();
  p.unitDone = unitDone.get();
  const size_t bSize = (size_t)(ceilDiv(ncMax, NR) * NR) * p.kb;
  if (threads <= 1) {
    p.pb[0] = p.pb[1] = packedB.get(bSize);  // one thread finishes a block before it packs the next
    return p.participate();
  }
  std::lock_guard<std::mutex> lk(sharedLock);
  p.pb[0] = sharedB.get(2 * bSize);
  p.pb[1] = p.pb[0] + bSize;
  share(threads - 1, [&] { p.participate(); }, wake);
}

inline int padded(int n, int to) { return ceilDiv(n, to) * to; }

thread_local Scratch transposedC;  // C^T, for narrow products

// A narrow C (a 10-class layer's products: N = 10 pads to a 32-column tile, 3.2 times the work) is
// computed as C^T = op(B)^T op(A)^T, where the few columns are rows (10 rows pad to 12), and then
// transposed into C (AVX-512, two threads: 256x10x128 15.8 -> 11.6 us, 128x10x256 16.5 -> 12.9 us).
// Each element of C is the same sum in the same order either way, so the result is bit-identical.
template <int MR, int NR>
void product(const float* A, const float* B, float* C, int M, int N, int K, int threads, bool wake, Layout la, Layout lb, Kernel packed, Kernel direct) {
  const double asIs = (double)padded(M, MR) * padded(N, NR), swapped = (double)padded(N, MR) * padded(M, NR);
  // Few rows (a convolution's output channels against an image's columns): swapped, C^T's B is the small
  // operand in one panel and the large one is read in place, never packed (32x196x144, one core: 3.0 -> 1.6 ms for 64).
  const bool fewRows = M <= NR && N > NR && swapped < asIs;
  if (!fewRows && asIs <= 2.0 * swapped) {
    return run<MR, NR>(A, B, C, M, N, K, threads, wake, la, lb, packed, direct);
  }
  float* T = transposedC.get((size_t)M * N);
  run<MR, NR>(B, A, T, N, M, K, threads, wake, Layout{lb.cs, lb.rs}, Layout{la.cs, la.rs}, packed, direct);
  transpose(T, C, N, M);
}

// A few outputs over a long depth, both operands read along it (a convolution's weight gradient of a
// few output channels and taps: 16x9 over 784 columns, A (M, K) times B stored (N, K)): each element
// is a dot product of two contiguous rows, RI x RJ of them at once in registers. The tiled kernel would
// fill a 12 x 32 tile to compute 16 x 9 of it, after transposing B to pack it (1.1 -> 0.3 ms for 64).
template <int RI, int RJ>
__attribute__((target("avx512f"))) void dots(const float* A, const float* B, float* C, int N, int K, int i0, int j0) {
  const __m512 zero = _mm512_setzero_ps();
  __m512 acc[RI][RJ];
  for (int r = 0; r < RI; r++)
    for (int c = 0; c < RJ; c++) acc[r][c] = _mm512_setzero_ps();
  for (int p = 0; p < K; p += 16) {
    const __mmask16 m = K - p >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - p)) - 1);
    __m512 b[RJ];
    for (int c = 0; c < RJ; c++) b[c] = _mm512_mask_loadu_ps(zero, m, B + (size_t)(j0 + c) * K + p);
    for (int r = 0; r < RI; r++) {
      const __m512 a = _mm512_mask_loadu_ps(zero, m, A + (size_t)(i0 + r) * K + p);
      for (int c = 0; c < RJ; c++) acc[r][c] = _mm512_fmadd_ps(a, b[c], acc[r][c]);
    }
  }
  alignas(64) float lanes[16];  // summed through memory: GCC 12's _mm512_reduce_add_ps warns in its own header
  for (int r = 0; r < RI; r++)
    for (int c = 0; c < RJ; c++) {
      _mm512_store_ps(lanes, acc[r][c]);
      float sum = 0.f;
      for (int l = 0; l < 16; l++) sum += lanes[l];
      C[(size_t)(i0 + r) * N + j0 + c] = sum;
    }
}

void dotProducts(const float* A, const float* B, float* C, int M, int N, int K) {
  const int m4 = M / 4 * 4, n3 = N / 3 * 3;
  for (int i = 0; i < m4; i += 4)
    for (int j = 0; j < n3; j += 3) dots<4, 3>(A, B, C, N, K, i, j);
  for (int i = 0; i < M; i++)
    for (int j = i < m4 ? n3 : 0; j < N; j++) dots<1, 1>(A, B, C, N, K, i, j);
}

}  // namespace

void gemm(const float* A, const float* B, float* C, int M, int N, int K, int threads, bool ta, bool tb) {
  if (M == 0 || N == 0) return;
  if (K == 0) return (void)std::memset(C, 0, sizeof(float) * M * N);
  const Layout la = ta ? Layout{1, (size_t)M} : Layout{(size_t)K, 1};
  const Layout lb = tb ? Layout{1, (size_t)K} : Layout{(size_t)N, 1};
  // Tiny products stay on this thread. Small ones (a training step's 10-class products) are shared
  // only with threads already awake: in a 128x10x256 product a spinning thread saves about a third,
  // while waking a sleeping one cost the caller more than the whole product.
  // Chosen by shape alone, never by thread count, so that a product's result does not depend on it.
  if (kIsa == Isa::Avx512 && !ta && tb && M * N <= 256 && K >= 64 && K <= 4096) return dotProducts(A, B, C, M, N, K);
  const double flops = 2.0 * M * N * K;
  const int t = flops < 4e5 ? 1 : std::max(1, std::min(threads, hardwareThreads()));
  const bool wake = flops >= 1.6e7;
  switch (kIsa) {
    case Isa::Avx512: return product<12, 32>(A, B, C, M, N, K, t, wake, la, lb, kernel512<true>, kernel512<false>);
    case Isa::Avx2: return product<6, 16>(A, B, C, M, N, K, t, wake, la, lb, kernel256<true>, kernel256<false>);
    default: return product<4, 8>(A, B, C, M, N, K, t, wake, la, lb, kernelGeneric<true>, kernelGeneric<false>);
  }
}

// A batch of products of one shape (a convolution's weight against each image's columns): products
// too small to be worth sharing (under 16 MFLOP, where gemm would not even wake a thread) go whole to
// the pool's threads, each thread taking the next product from a counter; larger ones are shared one
// after another. Each product is the same computation either way, so the result does not depend on it.
void gemmBatched(const float* A, const float* B, float* C, int batches, size_t strideA, size_t strideB, int M, int N, int K, int threads, bool ta, bool tb) {
  const double flops = 2.0 * M * N * K;
  const size_t strideC = (size_t)M * N;
  const int t = std::max(1, std::min({threads, hardwareThreads(), batches}));
  if (t <= 1 || flops >= 1.6e7 || flops * batches < 4e5) {
    for (int b = 0; b < batches; b++) gemm(A + b * strideA, B + b * strideB, C + b * strideC, M, N, K, threads, ta, tb);
    return;
  }
  std::atomic<int> next{0};
  share(
      t - 1,
      [&] {
        for (int b; (b = next.fetch_add(1, std::memory_order_relaxed)) < batches;) gemm(A + b * strideA, B + b * strideB, C + b * strideC, M, N, K, 1, ta, tb);
      },
      flops * batches >= 1.6e7);
}

}  // namespace native
