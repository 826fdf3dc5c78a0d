// Native kernels for Node: a cache-blocked single-precision GEMM with register-tiled micro-kernels
// for AVX-512 and AVX2+FMA (chosen at run time), split over a pool of threads by rows or columns of C,
// and zero-copy elementwise arithmetic on broadcast layouts.
// C (M x N) = A (M x K) * B (K x N), all row-major and contiguous.
#include <node_api.h>
#ifdef __linux__
#include <sched.h>
#endif
#include <immintrin.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

enum class Isa { Generic, Avx2, Avx512 };

Isa detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Generic;
}

const Isa kIsa = detect();

constexpr int KC = 256;   // depth of a packed block (B panel rows stay in L1/L2)
constexpr int MC = 96;    // rows of A per block (a multiple of every MR)
constexpr int NC = 2048;  // columns of B per block

// Where a matrix's elements are: (row, column) at row * rs + column * cs. A product's operand read
// transposed is the same storage with the two strides swapped, so packing reads it in place.
struct Layout {
  size_t rs, cs;
  const float* at(const float* base, size_t row, size_t col) const { return base + row * rs + col * cs; }
};

// Packs rows [0, mc) x depth [0, kc) of A into MR-row panels, zero padded.
template <int MR>
void packA(const float* A, Layout l, int mc, int kc, float* out) {
  for (int i0 = 0; i0 < mc; i0 += MR) {
    const int rows = std::min(MR, mc - i0);
    for (int p = 0; p < kc; p++) {
      for (int r = 0; r < rows; r++) out[r] = *l.at(A, i0 + r, p);
      for (int r = rows; r < MR; r++) out[r] = 0.f;
      out += MR;
    }
  }
}

// Packs depth [0, kc) x columns [0, nc) of B into NR-column panels, zero padded.
template <int NR>
void packB(const float* B, Layout l, int kc, int nc, float* out) {
  for (int j0 = 0; j0 < nc; j0 += NR) {
    const int cols = std::min(NR, nc - j0);
    for (int p = 0; p < kc; p++) {
      const float* src = l.at(B, p, j0);
      if (l.cs == 1) {
        for (int c = 0; c < cols; c++) out[c] = src[c];
      } else {
        for (int c = 0; c < cols; c++) out[c] = src[c * l.cs];
      }
      for (int c = cols; c < NR; c++) out[c] = 0.f;
      out += NR;
    }
  }
}

// AVX-512: a 12 x 32 tile in 24 zmm accumulators.
__attribute__((target("avx512f"))) void kernel512(int kc, const float* a, const float* b, float* c, int ldc, bool accumulate) {
  __m512 acc[12][2];
  for (int r = 0; r < 12; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int r = 0; r < 12; r++) _mm_prefetch((const char*)(c + r * ldc), _MM_HINT_T0);  // written at the end
  for (int p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    for (int r = 0; r < 12; r++) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
    }
    a += 12;
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
__attribute__((target("avx2,fma"))) void kernel256(int kc, const float* a, const float* b, float* c, int ldc, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int r = 0; r < 6; r++) _mm_prefetch((const char*)(c + r * ldc), _MM_HINT_T0);  // the tile is written at the end
#pragma GCC unroll 4
  for (int p = 0; p < kc; p++) {
    _mm_prefetch((const char*)(b + 128), _MM_HINT_T0);  // the panel row eight steps ahead
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 ar = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(ar, b0, c00); c01 = _mm256_fmadd_ps(ar, b1, c01);
    ar = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ar, b0, c10); c11 = _mm256_fmadd_ps(ar, b1, c11);
    ar = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ar, b0, c20); c21 = _mm256_fmadd_ps(ar, b1, c21);
    ar = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ar, b0, c30); c31 = _mm256_fmadd_ps(ar, b1, c31);
    ar = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ar, b0, c40); c41 = _mm256_fmadd_ps(ar, b1, c41);
    ar = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ar, b0, c50); c51 = _mm256_fmadd_ps(ar, b1, c51);
    a += 6;
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
void kernelGeneric(int kc, const float* a, const float* b, float* c, int ldc, bool accumulate) {
  float acc[4][8] = {};
  for (int p = 0; p < kc; p++) {
    for (int r = 0; r < 4; r++)
      for (int j = 0; j < 8; j++) acc[r][j] += a[r] * b[j];
    a += 4;
    b += 8;
  }
  for (int r = 0; r < 4; r++)
    for (int j = 0; j < 8; j++) c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

// ldc: the row stride of C (N unless this call computes a block of columns of a wider C).
// Packing buffers kept per thread and grown on demand: allocating (and zeroing) them on every call
// cost as much as packing on the mid-sized products of a training step.
// 64-byte aligned, so that the micro-kernels' 32- and 64-byte loads of packed panels never straddle
// a cache line.
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
thread_local Scratch packedA, packedB;

// Threads meeting between phases of one product (a few microseconds apart): spin, then yield.
class SpinBarrier {
 public:
  explicit SpinBarrier(int n) : n_(n) {}
  void wait() {
    const int g = gen_.load(std::memory_order_acquire);
    if (count_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
      count_.store(0, std::memory_order_relaxed);
      gen_.fetch_add(1, std::memory_order_release);
      return;
    }
    for (int spins = 0; gen_.load(std::memory_order_acquire) == g; spins++) {
      if (spins > 4000) std::this_thread::yield();
    }
  }

 private:
  const int n_;
  std::atomic<int> count_{0}, gen_{0};
};

// The threads computing one product together: each packs a share of every block of B into `pb`
// (shared), waits for the others, then takes chunks of rows of C from that block's counter in `next`
// until none is left, so a thread the OS (or V8's own threads) preempts holds up no one for long.
// Alone, a thread packs all of B and computes every row.
struct Team {
  int id = 0, size = 1;
  SpinBarrier* barrier = nullptr;
  float* pb = nullptr;
  std::atomic<int>* next = nullptr;
  int chunk = 0;  // rows per chunk: whole micro-tiles, at most MC
};

// The depth of the packed blocks: K split into equal blocks of at most KC (784 as 4 x 196, not
// 3 x 256 + 16: a thin last block costs a full pass over the C tiles for little arithmetic).
inline int depthBlocks(int K) { return std::max(1, (K + KC - 1) / KC); }
inline int blockDepth(int K) {
  const int blocks = depthBlocks(K);
  return (K + blocks - 1) / blocks;
}

template <int MR, int NR>
void gemmRows(const float* A, const float* B, float* C, int M, int N, int K, Layout la, Layout lb, int ldc, void (*kernel)(int, const float*, const float*, float*, int, bool), const Team& team) {
  const int ncMax = (std::min(N, NC) + NR - 1) / NR * NR;
  float* pa = packedA.get((size_t)MC * KC);
  float* pb = team.size > 1 ? team.pb : packedB.get((size_t)std::min(K, KC) * ncMax);
  alignas(64) float tile[MR * NR];
  int block = 0;
  for (int jc = 0; jc < N; jc += NC) {
    const int nc = std::min(NC, N - jc);
    const int kb = blockDepth(K);
    for (int pc = 0; pc < K; pc += kb) {
      const int kc = std::min(kb, K - pc);
      const bool acc = pc > 0;
      if (team.size > 1) {
        const int panels = (nc + NR - 1) / NR, share = (panels + team.size - 1) / team.size;
        for (int q = team.id * share; q < std::min(panels, (team.id + 1) * share); q++) {
          packB<NR>(lb.at(B, pc, jc + q * NR), lb, kc, std::min(NR, nc - q * NR), pb + (size_t)q * NR * kc);
        }
        team.barrier->wait();
      } else {
        packB<NR>(lb.at(B, pc, jc), lb, kc, nc, pb);
      }
      // Rows [ic, ic + step): a team's threads take the next chunk from the block's counter.
      const int step = team.size > 1 ? team.chunk : MC;
      auto rowsFrom = [&](int ic) { return team.size > 1 ? team.next[block].fetch_add(step) : ic; };
      for (int ic = rowsFrom(0); ic < M; ic = rowsFrom(ic + step)) {
        const int mc = std::min(step, M - ic);
        packA<MR>(la.at(A, ic, pc), la, mc, kc, pa);
        for (int jr = 0; jr < nc; jr += NR) {
          const int cols = std::min(NR, nc - jr);
          for (int ir = 0; ir < mc; ir += MR) {
            const int rows = std::min(MR, mc - ir);
            float* c = C + (size_t)(ic + ir) * ldc + jc + jr;
            const float* a = pa + (size_t)ir * kc;
            const float* b = pb + (size_t)jr * kc;
            if (rows == MR && cols == NR) {
              kernel(kc, a, b, c, ldc, acc);
            } else {
              // Edge tile: compute into a scratch tile, then copy the valid part.
              for (int r = 0; r < rows; r++)
                for (int j = 0; j < cols; j++) tile[r * NR + j] = c[(size_t)r * ldc + j];
              kernel(kc, a, b, tile, NR, acc);
              for (int r = 0; r < rows; r++)
                for (int j = 0; j < cols; j++) c[(size_t)r * ldc + j] = tile[r * NR + j];
            }
          }
        }
      }
      // Before the next block of B overwrites this one; after the last block the pool's own wait is enough.
      if (team.size > 1 && (pc + kc < K || jc + nc < N)) team.barrier->wait();
      block++;
    }
  }
}

void gemmSerial(const float* A, const float* B, float* C, int M, int N, int K, Layout la, Layout lb, int ldc, const Team& team = Team()) {
  if (K == 0) {
    for (int i = 0; i < M; i++) std::memset(C + (size_t)i * ldc, 0, sizeof(float) * N);
    return;
  }
  switch (kIsa) {
    case Isa::Avx512: gemmRows<12, 32>(A, B, C, M, N, K, la, lb, ldc, kernel512, team); break;
    case Isa::Avx2: gemmRows<6, 16>(A, B, C, M, N, K, la, lb, ldc, kernel256, team); break;
    default: gemmRows<4, 8>(A, B, C, M, N, K, la, lb, ldc, kernelGeneric, team); break;
  }
}

// The cores this process may run on: a container or `taskset` often allows fewer than the machine
// has, and more threads than cores make the spinning team barrier wait on descheduled threads.
int hardwareThreads() {
  unsigned n = std::thread::hardware_concurrency();
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) n = (unsigned)CPU_COUNT(&set);
#endif
  return n == 0 ? 1 : (int)std::min(n, 16u);
}

// Threads started once and kept: starting and joining threads on every call cost a tenth of a
// mid-sized product. run(parts, f) calls f(0) here and f(1..parts-1) on the pool, and returns when
// all are done. Calls from several JS threads (worker_threads load this addon too) take turns.
// A thread spins a little while for the next job before it sleeps: a training step calls a product
// every few hundred microseconds, and waking a sleeping thread (a futex round trip, slower still in
// a virtual machine) cost more than the halves of a mid-sized product it was to share.
class ThreadPool {
 public:
  explicit ThreadPool(int n) : size_(n) {
    for (int i = 1; i < n; i++) std::thread([this, i] { loop(i); }).detach();
  }
  int size() const { return size_; }
  void run(int parts, const std::function<void(int)>& f) {
    parts = std::min(parts, size_);
    if (parts <= 1) return f(0);
    std::lock_guard<std::mutex> turn(callers_);
    bool sleeping;
    {
      std::lock_guard<std::mutex> lk(m_);
      job_ = &f;
      parts_ = parts;
      pending_.store(parts - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
      sleeping = sleepers_ > 0;
    }
    if (sleeping) wake_.notify_all();
    f(0);
    if (!spinUntil([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lk(m_);
      done_.wait(lk, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    }
  }

 private:
  // Spins (with the CPU's pause hint) until `ready` or about half a millisecond has passed.
  template <typename F>
  static bool spinUntil(F ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(500);
    for (int i = 1;; i++) {
      if (ready()) return true;
      _mm_pause();
      if ((i & 63) == 0 && std::chrono::steady_clock::now() > deadline) return ready();
    }
  }
  void loop(int id) {
    long seen = 0;
    for (;;) {
      const std::function<void(int)>* job;
      int parts;
      const bool posted = spinUntil([&] { return generation_.load(std::memory_order_acquire) != seen; });
      {
        // The job is read under the lock with its generation: a thread not needed for one job may
        // otherwise read the next job's fields with the older generation and run that job twice.
        std::unique_lock<std::mutex> lk(m_);
        if (!posted) {
          sleepers_++;
          wake_.wait(lk, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
          sleepers_--;
        }
        seen = generation_.load(std::memory_order_relaxed);
        job = job_;
        parts = parts_;
      }
      if (id >= parts) continue;
      (*job)(id);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lk(m_);
        done_.notify_one();
      }
    }
  }
  const int size_;
  std::mutex callers_, m_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int parts_ = 0, sleepers_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<long> generation_{0};
};

// Never destroyed: its threads are detached and end with the process.
ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool(hardwareThreads());
  return *p;
}

// Threads take blocks of rows of C, or of columns when C is wider than tall: each thread then packs
// only its own part of B instead of all of it.
// op(A) is M x K and op(B) K x N: A is stored K x M when ta, B N x K when tb.
void gemm(const float* A, const float* B, float* C, int M, int N, int K, int threads, bool ta, bool tb) {
  const Layout la = ta ? Layout{1, (size_t)M} : Layout{(size_t)K, 1};
  const Layout lb = tb ? Layout{1, (size_t)K} : Layout{(size_t)N, 1};
  const double flops = 2.0 * M * N * K;
  // Rows split with B packed once by the team (a barrier per block of B); columns, each thread packing
  // its own part of B and all of A, when C is wider than tall: measured on a 2-core Xeon, 128x784 times
  // 784x256 ran at 155-176 GFLOP/s split by columns against 119-122 by rows.
  const bool byColumns = N > M;
  int t = std::max(1, std::min(threads, (byColumns ? N : M) / 32));
  if (flops < 1.6e7) t = 1;  // starting threads costs more than they save on small products
  if (t == 1) return gemmSerial(A, B, C, M, N, K, la, lb, N);
  if (byColumns) {
    const int cols = ((N + t - 1) / t + 15) / 16 * 16;  // whole 16-column panels per thread
    pool().run(t, [&](int i) {
      const int j0 = i * cols;
      if (j0 < N) gemmSerial(A, lb.at(B, 0, j0), C + j0, M, std::min(cols, N - j0), K, la, lb, N);
    });
  } else {
    // Rows split, B packed once by the team into one shared buffer (not once per thread).
    static std::mutex sharedLock;
    static Scratch sharedB;
    std::lock_guard<std::mutex> lk(sharedLock);
    t = std::min(t, pool().size());
    float* pb = sharedB.get((size_t)std::min(K, KC) * ((std::min(N, NC) + 31) / 32 * 32));
    SpinBarrier barrier(t);
    // One row counter per block of B; chunks of about a quarter of a thread's share, in whole tiles of
    // every micro-kernel (12 rows: a multiple of 4, 6 and 12), at most a packed block of A.
    const int blocks = (N + NC - 1) / NC * depthBlocks(K);
    std::unique_ptr<std::atomic<int>[]> next(new std::atomic<int>[blocks]);
    for (int b = 0; b < blocks; b++) next[b].store(0, std::memory_order_relaxed);
    const int chunk = std::min(MC, std::max(12, M / (4 * t) / 12 * 12));
    pool().run(t, [&](int i) { gemmSerial(A, B, C, M, N, K, la, lb, N, Team{i, t, &barrier, pb, next.get(), chunk}); });
  }
}

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

// op: 0 add, 1 sub, 2 mul, 3 div, 4 maximum, 5 minimum, 6 gt, 7 ge, 8 eq (with the reference
// kernels' NaN rules: maximum and minimum carry NaN, comparisons with NaN are 0).
template <int OP>
inline float arith(float x, float y) {
  if constexpr (OP == 0) return x + y;
  if constexpr (OP == 1) return x - y;
  if constexpr (OP == 2) return x * y;
  if constexpr (OP == 3) return x / y;
  if constexpr (OP == 4) return pick((x != x) | (y != y), NAN, pick(x > y, x, y));
  if constexpr (OP == 5) return pick((x != x) | (y != y), NAN, pick(x < y, x, y));
  if constexpr (OP == 6) return (float)(x > y);
  if constexpr (OP == 7) return (float)(x >= y);
  return (float)(x == y);
}

template <int OP>
void arithRows(const float* a, int rsA, bool va, const float* b, int rsB, bool vb, float* o, int rows, int cols) {
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

void arithmetic(int op, const float* a, int rsA, bool va, const float* b, int rsB, bool vb, float* o, int rows, int cols) {
  switch (op) {
    case 0: return arithRows<0>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case 1: return arithRows<1>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case 2: return arithRows<2>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case 3: return arithRows<3>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case 4: return arithRows<4>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case 5: return arithRows<5>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case 6: return arithRows<6>(a, rsA, va, b, rsB, vb, o, rows, cols);
    case 7: return arithRows<7>(a, rsA, va, b, rsB, vb, o, rows, cols);
    default: return arithRows<8>(a, rsA, va, b, rsB, vb, o, rows, cols);
  }
}

// where(c, x, y) on the same layouts: c != 0 picks x. relu and its gradient are where(c, x, 0).
void selectRows(const float* c, int rsC, bool vc, const float* x, int rsX, bool vx, const float* y, int rsY, bool vy, float* o, int rows, int cols) {
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

// Split over the pool by rows, or by columns of a single row, from a quarter million elements on
// (below that waking the threads costs more than the memory traffic they share).
void arithmeticParallel(int op, const float* a, int rsA, bool va, const float* b, int rsB, bool vb, float* o, int rows, int cols) {
  const double n = (double)rows * cols;
  const int t = n < (1 << 18) ? 1 : std::min(pool().size(), rows > 1 ? rows : std::max(1, cols / 4096));
  if (t <= 1) return arithmetic(op, a, rsA, va, b, rsB, vb, o, rows, cols);
  if (rows > 1) {
    const int per = (rows + t - 1) / t;
    pool().run(t, [&](int i) {
      const int r0 = i * per, r1 = std::min(rows, r0 + per);
      if (r0 < r1) arithmetic(op, a + (size_t)r0 * rsA, rsA, va, b + (size_t)r0 * rsB, rsB, vb, o + (size_t)r0 * cols, r1 - r0, cols);
    });
  } else {
    const int per = ((cols + t - 1) / t + 15) / 16 * 16;
    pool().run(t, [&](int i) {
      const int c0 = i * per, c1 = std::min(cols, c0 + per);
      if (c0 < c1) arithmetic(op, va ? a + c0 : a, rsA, va, vb ? b + c0 : b, rsB, vb, o + c0, 1, c1 - c0);
    });
  }
}

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

// op: 0 neg, 1 abs, 2 sqrt, 3 reciprocal, 4 exp, 5 log, 6 sigmoid, 7 tanh
void mapRange(int op, const float* __restrict x, float* __restrict o, size_t n) {
  const bool avx2 = kIsa != Isa::Generic;
  switch (op) {
    case 0: for (size_t i = 0; i < n; i++) o[i] = -x[i]; return;
    case 1: for (size_t i = 0; i < n; i++) o[i] = std::fabs(x[i]); return;
    case 2: for (size_t i = 0; i < n; i++) o[i] = std::sqrt(x[i]); return;
    case 3: for (size_t i = 0; i < n; i++) o[i] = 1.f / x[i]; return;
    case 4: if (avx2) return vm::map8<vm::exp8>(x, o, n); for (size_t i = 0; i < n; i++) o[i] = std::exp(x[i]); return;
    case 5: if (avx2) return vm::map8<vm::log8>(x, o, n); for (size_t i = 0; i < n; i++) o[i] = std::log(x[i]); return;
    case 6: if (avx2) return vm::map8<vm::sigmoid8>(x, o, n); for (size_t i = 0; i < n; i++) o[i] = sigmoidScalar(x[i]); return;
    default: if (avx2) return vm::map8<vm::tanh8>(x, o, n); for (size_t i = 0; i < n; i++) o[i] = std::tanh(x[i]); return;
  }
}

// The math functions are worth threads from 64k elements, the cheap maps only from a quarter million.
void mapParallel(int op, const float* x, float* o, size_t n) {
  const size_t from = op >= 4 ? (1 << 16) : (1 << 18);
  const int t = n < from ? 1 : pool().size();
  if (t <= 1) return mapRange(op, x, o, n);
  const size_t per = ((n + t - 1) / t + 15) / 16 * 16;
  pool().run(t, [&](int i) {
    const size_t a = std::min(n, i * per), b = std::min(n, a + per);
    if (a < b) mapRange(op, x + a, o + a, b - a);
  });
}

// Optimizer updates in place, computed in double and rounded to float at each store exactly as the
// JS loops in optim/optimizer.ts do (a value stored and read back is the float), so both take
// bit-identical steps. Split over the pool for very large parameters.
// The loops are written once and compiled twice: with AVX2 (four doubles per instruction) and for the
// baseline. AVX2 without FMA on purpose: a fused multiply-add would round once where JS rounds twice.
__attribute__((always_inline)) inline void sgdLoop(float* w, const float* g, float* v, double lr, double mu, double wd, bool nesterov, bool first, size_t a, size_t b) {
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

__attribute__((always_inline)) inline void adamLoop(float* w, const float* g, float* m, float* v, double lr, double b1, double b2, double eps, double wd, bool decoupled, double c1, double c2, size_t a, size_t b) {
  for (size_t i = a; i < b; i++) {
    const double gi = decoupled ? (double)g[i] : (double)g[i] + wd * (double)w[i];
    m[i] = (float)(b1 * (double)m[i] + (1 - b1) * gi);
    v[i] = (float)(b2 * (double)v[i] + (1 - b2) * gi * gi);
    if (decoupled) w[i] = (float)((double)w[i] - lr * wd * (double)w[i]);
    w[i] = (float)((double)w[i] - (lr * ((double)m[i] / c1)) / (std::sqrt((double)v[i] / c2) + eps));
  }
}

__attribute__((target("avx2"))) void sgdAvx2(float* w, const float* g, float* v, double lr, double mu, double wd, bool nesterov, bool first, size_t a, size_t b) {
  sgdLoop(w, g, v, lr, mu, wd, nesterov, first, a, b);
}

__attribute__((target("avx2"))) void adamAvx2(float* w, const float* g, float* m, float* v, double lr, double b1, double b2, double eps, double wd, bool decoupled, double c1, double c2, size_t a, size_t b) {
  adamLoop(w, g, m, v, lr, b1, b2, eps, wd, decoupled, c1, c2, a, b);
}

void sgdRange(float* w, const float* g, float* v, double lr, double mu, double wd, bool nesterov, bool first, size_t a, size_t b) {
  if (kIsa != Isa::Generic) return sgdAvx2(w, g, v, lr, mu, wd, nesterov, first, a, b);
  sgdLoop(w, g, v, lr, mu, wd, nesterov, first, a, b);
}

void adamRange(float* w, const float* g, float* m, float* v, double lr, double b1, double b2, double eps, double wd, bool decoupled, double c1, double c2, size_t a, size_t b) {
  if (kIsa != Isa::Generic) return adamAvx2(w, g, m, v, lr, b1, b2, eps, wd, decoupled, c1, c2, a, b);
  adamLoop(w, g, m, v, lr, b1, b2, eps, wd, decoupled, c1, c2, a, b);
}

// Updates are memory-bound, and a second core brings its own bandwidth: split from 64k elements
// (SGD on a 784x256 weight: 75 -> 44 us with two cores).
template <typename F>
void forRanges(size_t n, F f) {
  const int t = n < (1 << 16) ? 1 : pool().size();
  const size_t per = ((n + t - 1) / t + 15) / 16 * 16;
  pool().run(t, [&](int i) {
    const size_t a = std::min(n, i * per), b = std::min(n, a + per);
    if (a < b) f(a, b);
  });
}

// Reductions over the middle of (outer, mid, inner) blocks, in the reference kernels' order: sums
// accumulate in double (so results are identical to the reference), max carries NaN.
void reduceBlocks(bool isMax, const float* x, float* o, size_t outer, size_t mid, size_t inner) {
  std::vector<double> acc(isMax ? 0 : inner);
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
      std::fill(acc.begin(), acc.end(), 0.0);
      for (size_t m = 0; m < mid; m++)
        for (size_t k = 0; k < inner; k++) acc[k] += xa[m * inner + k];
      for (size_t k = 0; k < inner; k++) oa[k] = (float)acc[k];
    }
  }
}

// dst (cols x rows) = src (rows x cols)^T, in 32 x 32 tiles (both the rows read and the rows written
// stay in cache); whole 8 x 8 blocks inside a tile go through AVX2 registers.
__attribute__((target("avx2"))) void transpose8(const float* s, size_t ls, float* d, size_t ld) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(s + i * ls);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; i++) {
    _mm256_storeu_ps(d + i * ld, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(d + (i + 4) * ld, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}

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

bool floatArray(napi_env env, napi_value v, float** data, size_t* length) {
  napi_typedarray_type type;
  void* ptr;
  napi_value buf;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, &ptr, &buf, &offset) != napi_ok || type != napi_float32_array) return false;
  *data = static_cast<float*>(ptr);
  return true;
}

int32_t int32Arg(napi_env env, napi_value v) {
  int32_t out = -1;  // a non-number reads as -1, which the size checks reject
  napi_get_value_int32(env, v, &out);
  return out;
}

napi_value throwError(napi_env env, const char* msg) {
  napi_throw_type_error(env, nullptr, msg);
  return nullptr;
}

// Fills argv with the call's arguments; false, with a TypeError showing `usage`, when fewer than `need` came.
template <size_t N>
bool readArgs(napi_env env, napi_callback_info info, napi_value (&argv)[N], size_t need, const char* usage) {
  size_t argc = N;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc >= need) return true;
  throwError(env, usage);
  return false;
}

// Whether `len` elements hold an input of the 2-D broadcast layouts: rows at stride rs, each `cols`
// long when it varies along the row (vec) or one element when it does not.
bool fitsLayout(size_t len, int32_t rows, int32_t cols, int32_t rs, int32_t vec) {
  return len >= (size_t)(rows - 1) * rs + (vec ? (size_t)cols : 1);
}

bool boolArg(napi_env env, napi_value v);

// sgemm(a, b, c, m, n, k[, threads, transposeA, transposeB]): c = op(a) op(b) for row-major
// Float32Arrays, op(a) being m x k (a stored k x m when transposeA) and op(b) k x n.
napi_value Sgemm(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!readArgs(env, info, argv, 6, "sgemm(a, b, c, m, n, k[, threads, transposeA, transposeB])")) return nullptr;
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!floatArray(env, argv[0], &a, &la) || !floatArray(env, argv[1], &b, &lb) || !floatArray(env, argv[2], &c, &lc)) {
    return throwError(env, "sgemm: a, b and c must be Float32Arrays");
  }
  const int32_t m = int32Arg(env, argv[3]), n = int32Arg(env, argv[4]), k = int32Arg(env, argv[5]);
  napi_valuetype given;  // missing arguments read as undefined
  napi_typeof(env, argv[6], &given);
  const int32_t threads = given == napi_undefined ? hardwareThreads() : std::max(1, int32Arg(env, argv[6]));
  const bool ta = boolArg(env, argv[7]), tb = boolArg(env, argv[8]);
  if (m < 0 || n < 0 || k < 0 || la < (size_t)m * k || lb < (size_t)k * n || lc < (size_t)m * n) return throwError(env, "sgemm: array too small for the given sizes");
  gemm(a, b, c, m, n, k, threads, ta, tb);
  return nullptr;
}

// transpose2d(src, dst, batches, rows, cols): dst[b] = src[b]^T for row-major float32 matrices.
napi_value Transpose2d(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!readArgs(env, info, argv, 5, "transpose2d(src, dst, batches, rows, cols)")) return nullptr;
  float *src, *dst;
  size_t ls, ld;
  if (!floatArray(env, argv[0], &src, &ls) || !floatArray(env, argv[1], &dst, &ld)) return throwError(env, "transpose2d: src and dst must be Float32Arrays");
  const int32_t batches = int32Arg(env, argv[2]), rows = int32Arg(env, argv[3]), cols = int32Arg(env, argv[4]);
  const size_t per = (size_t)rows * cols;
  if (batches < 0 || rows < 0 || cols < 0 || ls < per * batches || ld < per * batches) return throwError(env, "transpose2d: array too small for the given sizes");
  for (int b = 0; b < batches; b++) transpose(src + per * b, dst + per * b, rows, cols);
  return nullptr;
}

// arithmetic(op, a, rsA, vecA, b, rsB, vecB, out, rows, cols): op as in arith.
napi_value Arithmetic(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  if (!readArgs(env, info, argv, 10, "arithmetic(op, a, rsA, vecA, b, rsB, vecB, out, rows, cols)")) return nullptr;
  float *a, *b, *o;
  size_t la, lb, lo;
  if (!floatArray(env, argv[1], &a, &la) || !floatArray(env, argv[4], &b, &lb) || !floatArray(env, argv[7], &o, &lo)) {
    return throwError(env, "arithmetic: a, b and out must be Float32Arrays");
  }
  const int32_t op = int32Arg(env, argv[0]), rsA = int32Arg(env, argv[2]), va = int32Arg(env, argv[3]);
  const int32_t rsB = int32Arg(env, argv[5]), vb = int32Arg(env, argv[6]), rows = int32Arg(env, argv[8]), cols = int32Arg(env, argv[9]);
  if (op < 0 || op > 8 || rsA < 0 || rsB < 0 || rows < 0 || cols < 0) return throwError(env, "arithmetic: bad arguments");
  if (rows == 0 || cols == 0) return nullptr;
  if (!fitsLayout(la, rows, cols, rsA, va) || !fitsLayout(lb, rows, cols, rsB, vb) || lo < (size_t)rows * cols) return throwError(env, "arithmetic: array too small for the given sizes");
  arithmeticParallel(op, a, rsA, va != 0, b, rsB, vb != 0, o, rows, cols);
  return nullptr;
}

// map(op, x, out, n): out = f(x) elementwise; op as in mapRange.
napi_value Map(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!readArgs(env, info, argv, 4, "map(op, x, out, n)")) return nullptr;
  float *x, *o;
  size_t lx, lo;
  if (!floatArray(env, argv[1], &x, &lx) || !floatArray(env, argv[2], &o, &lo)) return throwError(env, "map: x and out must be Float32Arrays");
  const int32_t op = int32Arg(env, argv[0]), n = int32Arg(env, argv[3]);
  if (op < 0 || op > 7 || n < 0 || lx < (size_t)n || lo < (size_t)n) return throwError(env, "map: bad arguments");
  mapParallel(op, x, o, (size_t)n);
  return nullptr;
}

double doubleArg(napi_env env, napi_value v) {
  double out = NAN;
  napi_get_value_double(env, v, &out);
  return out;
}

bool boolArg(napi_env env, napi_value v) {
  bool out = false;
  napi_get_value_bool(env, v, &out);
  return out;
}

// sgd(w, g, v | null, lr, momentum, weightDecay, nesterov, first)
napi_value Sgd(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!readArgs(env, info, argv, 8, "sgd(w, g, v, lr, momentum, weightDecay, nesterov, first)")) return nullptr;
  float *w, *g, *v = nullptr;
  size_t lw, lg, lv = 0;
  napi_valuetype vt;
  napi_typeof(env, argv[2], &vt);
  if (!floatArray(env, argv[0], &w, &lw) || !floatArray(env, argv[1], &g, &lg) || (vt != napi_null && !floatArray(env, argv[2], &v, &lv))) {
    return throwError(env, "sgd: w, g (and v unless null) must be Float32Arrays");
  }
  if (lg < lw || (v && lv < lw)) return throwError(env, "sgd: arrays of different lengths");
  const double lr = doubleArg(env, argv[3]), mu = doubleArg(env, argv[4]), wd = doubleArg(env, argv[5]);
  const bool nesterov = boolArg(env, argv[6]), first = boolArg(env, argv[7]);
  forRanges(lw, [&](size_t a, size_t b) { sgdRange(w, g, v, lr, mu, wd, nesterov, first, a, b); });
  return nullptr;
}

// adam(w, g, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, c1, c2)
napi_value Adam(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  if (!readArgs(env, info, argv, 12, "adam(w, g, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, c1, c2)")) return nullptr;
  float *w, *g, *m, *v;
  size_t lw, lg, lm, lv;
  if (!floatArray(env, argv[0], &w, &lw) || !floatArray(env, argv[1], &g, &lg) || !floatArray(env, argv[2], &m, &lm) || !floatArray(env, argv[3], &v, &lv)) {
    return throwError(env, "adam: w, g, m and v must be Float32Arrays");
  }
  if (lg < lw || lm < lw || lv < lw) return throwError(env, "adam: arrays of different lengths");
  double x[6];
  for (int i = 0; i < 5; i++) x[i] = doubleArg(env, argv[4 + i]);
  const bool decoupled = boolArg(env, argv[9]);
  const double c1 = doubleArg(env, argv[10]), c2 = doubleArg(env, argv[11]);
  forRanges(lw, [&](size_t a, size_t b) { adamRange(w, g, m, v, x[0], x[1], x[2], x[3], x[4], decoupled, c1, c2, a, b); });
  return nullptr;
}

// select(c, rsC, vecC, x, rsX, vecX, y, rsY, vecY, out, rows, cols): out = c != 0 ? x : y.
napi_value Select(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  if (!readArgs(env, info, argv, 12, "select(c, rsC, vecC, x, rsX, vecX, y, rsY, vecY, out, rows, cols)")) return nullptr;
  float* p[4];
  size_t len[4];
  for (int i = 0; i < 4; i++) {
    if (!floatArray(env, argv[3 * i], &p[i], &len[i])) return throwError(env, "select: c, x, y and out must be Float32Arrays");
  }
  int32_t rs[3], vec[3];
  for (int i = 0; i < 3; i++) {
    rs[i] = int32Arg(env, argv[3 * i + 1]);
    vec[i] = int32Arg(env, argv[3 * i + 2]);
  }
  const int32_t rows = int32Arg(env, argv[10]), cols = int32Arg(env, argv[11]);
  if (rows < 0 || cols < 0 || rs[0] < 0 || rs[1] < 0 || rs[2] < 0) return throwError(env, "select: bad arguments");
  if (rows == 0 || cols == 0) return nullptr;
  for (int i = 0; i < 3; i++) {
    if (!fitsLayout(len[i], rows, cols, rs[i], vec[i])) return throwError(env, "select: array too small for the given sizes");
  }
  if (len[3] < (size_t)rows * cols) return throwError(env, "select: array too small for the given sizes");
  selectRows(p[0], rs[0], vec[0] != 0, p[1], rs[1], vec[1] != 0, p[2], rs[2], vec[2] != 0, p[3], rows, cols);
  return nullptr;
}

// reduce(isMax, x, out, outer, mid, inner): out[a, k] = sum or max over m of x[a, m, k].
napi_value Reduce(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!readArgs(env, info, argv, 6, "reduce(isMax, x, out, outer, mid, inner)")) return nullptr;
  float *x, *o;
  size_t lx, lo;
  if (!floatArray(env, argv[1], &x, &lx) || !floatArray(env, argv[2], &o, &lo)) return throwError(env, "reduce: x and out must be Float32Arrays");
  const int32_t outer = int32Arg(env, argv[3]), mid = int32Arg(env, argv[4]), inner = int32Arg(env, argv[5]);
  if (outer < 0 || mid < 0 || inner < 0 || lx < (size_t)outer * mid * inner || lo < (size_t)outer * inner) return throwError(env, "reduce: bad sizes");
  reduceBlocks(boolArg(env, argv[0]), x, o, outer, mid, inner);
  return nullptr;
}

napi_value Isa(napi_env env, napi_callback_info) {
  const char* name = kIsa == Isa::Avx512 ? "avx512" : kIsa == Isa::Avx2 ? "avx2" : "generic";
  napi_value out;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &out);
  return out;
}

napi_value Threads(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_int32(env, hardwareThreads(), &out);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", nullptr, Sgemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"arithmetic", nullptr, Arithmetic, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"map", nullptr, Map, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"select", nullptr, Select, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduce", nullptr, Reduce, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgd", nullptr, Sgd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"isa", nullptr, Isa, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transpose2d", nullptr, Transpose2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
