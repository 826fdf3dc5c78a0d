// The N-API binding of the native kernels: argument checks (a bad call throws a TypeError, never
// reads out of bounds) and the calls into gemm.cc, elementwise.cc and conv.cc.
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "isa.h"
#include "kernels.h"
#include "opcodes.h"
#include "pool.h"

namespace {

using namespace native;

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

// Whether `len` elements hold an input of the batched 2-D broadcast layouts: batches at stride bs,
// rows at stride rs, each `cols` long when it varies along the row (vec) or one element when it does not.
bool fitsLayout(size_t len, int32_t batches, int32_t rows, int32_t cols, int64_t bs, int32_t rs, int32_t vec) {
  return len >= (size_t)(batches - 1) * bs + (size_t)(rows - 1) * rs + (vec ? (size_t)cols : 1);
}

// The optional batch arguments [batches, bs0, bs1, ...] at argv[from..]: 1 batch, strides 0 when absent;
// false for a negative value.
template <size_t N>
bool batchArgs(napi_env env, napi_value (&argv)[N], size_t from, int32_t* batches, int64_t* bs, size_t inputs) {
  napi_valuetype given;
  napi_typeof(env, argv[from], &given);
  *batches = given == napi_undefined ? 1 : int32Arg(env, argv[from]);
  for (size_t i = 0; i < inputs; i++) {
    double v = 0;
    if (given != napi_undefined) napi_get_value_double(env, argv[from + 1 + i], &v);
    if (!(v >= 0) || v > 9007199254740992.0) return false;
    bs[i] = (int64_t)v;
  }
  return *batches >= 0;
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

// sgemmBatched(a, b, c, batches, strideA, strideB, m, n, k[, threads, transposeA, transposeB]): c[i] =
// op(a[i]) op(b[i]) for i < batches, a[i] starting strideA elements after a[i-1] (0: the same a for all),
// b[i] likewise, c[i] at i * m * n.
napi_value SgemmBatched(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  if (!readArgs(env, info, argv, 9, "sgemmBatched(a, b, c, batches, strideA, strideB, m, n, k[, threads, transposeA, transposeB])")) return nullptr;
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!floatArray(env, argv[0], &a, &la) || !floatArray(env, argv[1], &b, &lb) || !floatArray(env, argv[2], &c, &lc)) {
    return throwError(env, "sgemmBatched: a, b and c must be Float32Arrays");
  }
  const int32_t batches = int32Arg(env, argv[3]), m = int32Arg(env, argv[6]), n = int32Arg(env, argv[7]), k = int32Arg(env, argv[8]);
  double sa = -1, sb = -1;
  napi_get_value_double(env, argv[4], &sa);
  napi_get_value_double(env, argv[5], &sb);
  napi_valuetype given;
  napi_typeof(env, argv[9], &given);
  const int32_t threads = given == napi_undefined ? hardwareThreads() : std::max(1, int32Arg(env, argv[9]));
  const bool ta = boolArg(env, argv[10]), tb = boolArg(env, argv[11]);
  if (batches < 0 || m < 0 || n < 0 || k < 0 || !(sa >= 0) || !(sb >= 0) || sa > 4e15 || sb > 4e15) return throwError(env, "sgemmBatched: bad arguments");
  if (batches == 0) return nullptr;
  const double last = batches - 1;
  if ((double)la < last * sa + (double)m * k || (double)lb < last * sb + (double)k * n || (double)lc < (double)batches * m * n) {
    return throwError(env, "sgemmBatched: array too small for the given sizes");
  }
  gemmBatched(a, b, c, batches, (size_t)sa, (size_t)sb, m, n, k, threads, ta, tb);
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

// arithmetic(op, a, rsA, vecA, b, rsB, vecB, out, rows, cols[, batches, bsA, bsB]): op as in arith.
napi_value Arithmetic(napi_env env, napi_callback_info info) {
  napi_value argv[13];
  if (!readArgs(env, info, argv, 10, "arithmetic(op, a, rsA, vecA, b, rsB, vecB, out, rows, cols)")) return nullptr;
  float *a, *b, *o;
  size_t la, lb, lo;
  if (!floatArray(env, argv[1], &a, &la) || !floatArray(env, argv[4], &b, &lb) || !floatArray(env, argv[7], &o, &lo)) {
    return throwError(env, "arithmetic: a, b and out must be Float32Arrays");
  }
  const int32_t op = int32Arg(env, argv[0]), rsA = int32Arg(env, argv[2]), va = int32Arg(env, argv[3]);
  const int32_t rsB = int32Arg(env, argv[5]), vb = int32Arg(env, argv[6]), rows = int32Arg(env, argv[8]), cols = int32Arg(env, argv[9]);
  int32_t batches;
  int64_t bs[2];
  if (op < 0 || op >= ArithmeticOpCount || rsA < 0 || rsB < 0 || rows < 0 || cols < 0 || !batchArgs(env, argv, 10, &batches, bs, 2)) return throwError(env, "arithmetic: bad arguments");
  if (rows == 0 || cols == 0 || batches == 0) return nullptr;
  if (!fitsLayout(la, batches, rows, cols, bs[0], rsA, va) || !fitsLayout(lb, batches, rows, cols, bs[1], rsB, vb) || lo < (size_t)batches * rows * cols)
    return throwError(env, "arithmetic: array too small for the given sizes");
  arithmetic(op, a, bs[0], rsA, va != 0, b, bs[1], rsB, vb != 0, o, batches, rows, cols);
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
  if (op < 0 || op >= MapOpCount || n < 0 || lx < (size_t)n || lo < (size_t)n) return throwError(env, "map: bad arguments");
  map(op, x, o, (size_t)n);
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
  sgd(w, g, v, lw, lr, mu, wd, nesterov, first);
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
  adam(w, g, m, v, lw, x[0], x[1], x[2], x[3], x[4], decoupled, c1, c2);
  return nullptr;
}

// select(c, rsC, vecC, x, rsX, vecX, y, rsY, vecY, out, rows, cols[, batches, bsC, bsX, bsY]): out = c != 0 ? x : y.
napi_value Select(napi_env env, napi_callback_info info) {
  napi_value argv[16];
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
  int32_t batches;
  int64_t bs[3];
  if (rows < 0 || cols < 0 || rs[0] < 0 || rs[1] < 0 || rs[2] < 0 || !batchArgs(env, argv, 12, &batches, bs, 3)) return throwError(env, "select: bad arguments");
  if (rows == 0 || cols == 0 || batches == 0) return nullptr;
  for (int i = 0; i < 3; i++) {
    if (!fitsLayout(len[i], batches, rows, cols, bs[i], rs[i], vec[i])) return throwError(env, "select: array too small for the given sizes");
  }
  if (len[3] < (size_t)batches * rows * cols) return throwError(env, "select: array too small for the given sizes");
  select(p[0], bs[0], rs[0], vec[0] != 0, p[1], bs[1], rs[1], vec[1] != 0, p[2], bs[2], rs[2], vec[2] != 0, p[3], batches, rows, cols);
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
  reduce(boolArg(env, argv[0]), x, o, outer, mid, inner);
  return nullptr;
}

// A Float32Array or Float64Array: its data, length and whether it holds doubles; false for anything else.
bool realArray(napi_env env, napi_value v, void** data, size_t* length, bool* isDouble) {
  napi_typedarray_type type;
  napi_value buf;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buf, &offset) != napi_ok) return false;
  if (type != napi_float32_array && type != napi_float64_array) return false;
  *isDouble = type == napi_float64_array;
  return true;
}

// The window geometry from an Int32Array [n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo], checked
// so that every index the kernels form fits an int: null, with a TypeError thrown, when it does not.
const char* readWindow(napi_env env, napi_value v, Window* g) {
  napi_typedarray_type type;
  size_t length, offset;
  void* data;
  napi_value buf;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &buf, &offset) != napi_ok || type != napi_int32_array || length != 14)
    return "the geometry must be an Int32Array of 14 values [n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo]";
  const int32_t* a = static_cast<const int32_t*>(data);
  *g = Window{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]};
  for (int i = 0; i < 14; i++)
    if (a[i] < 0) return "the geometry has a negative value";
  if (g->kh < 1 || g->kw < 1 || g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1) return "kernel sizes, strides and dilations must be at least 1";
  // The furthest row and column a window reaches, before the bounds tests, must fit an int.
  const double reachH = (double)g->ho * g->sh + (double)g->kh * g->dh + g->h + g->pt;
  const double reachW = (double)g->wo * g->sw + (double)g->kw * g->dw + g->w + g->pl;
  if (reachH >= 2147483647.0 || reachW >= 2147483647.0) return "the geometry's extent does not fit 32-bit indices";
  return nullptr;
}

// unfold(x, cols, geometry) and fold(cols, x, geometry): im2col and its adjoint (conv.cc), on
// Float32Arrays or Float64Arrays (both arguments of one type); see readWindow for the geometry.
napi_value windowCall(napi_env env, napi_callback_info info, bool isUnfold) {
  napi_value argv[3];
  if (!readArgs(env, info, argv, 3, isUnfold ? "unfold(x, cols, geometry)" : "fold(cols, x, geometry)")) return nullptr;
  void *src, *dst;
  size_t ls, ld;
  bool ds, dd;
  if (!realArray(env, argv[0], &src, &ls, &ds) || !realArray(env, argv[1], &dst, &ld, &dd) || ds != dd) {
    napi_throw_type_error(env, nullptr, isUnfold ? "unfold: x and cols must be Float32Arrays or Float64Arrays of one type" : "fold: cols and x must be Float32Arrays or Float64Arrays of one type");
    return nullptr;
  }
  Window g;
  if (const char* problem = readWindow(env, argv[2], &g)) {
    napi_throw_type_error(env, nullptr, problem);
    return nullptr;
  }
  const double planes = (double)g.n * g.c;
  const double image = planes * g.h * g.w, cols = planes * g.kh * g.kw * g.ho * g.wo;
  const double need = isUnfold ? image : cols, give = isUnfold ? cols : image;
  if ((double)ls < need || (double)ld < give) {
    napi_throw_type_error(env, nullptr, isUnfold ? "unfold: array too small for the given geometry" : "fold: array too small for the given geometry");
    return nullptr;
  }
  if (isUnfold) {
    if (ds) unfold(g, static_cast<const double*>(src), static_cast<double*>(dst));
    else unfold(g, static_cast<const float*>(src), static_cast<float*>(dst));
  } else {
    if (ds) fold(g, static_cast<const double*>(src), static_cast<double*>(dst));
    else fold(g, static_cast<const float*>(src), static_cast<float*>(dst));
  }
  return nullptr;
}

napi_value Unfold(napi_env env, napi_callback_info info) { return windowCall(env, info, true); }
napi_value Fold(napi_env env, napi_callback_info info) { return windowCall(env, info, false); }

// reduceAxes(isMax, x, out, dims, reduced): sum or max of x (an array of shape dims) over the axes i
// with reduced[i] != 0 (Int32Arrays of one length), out holding the kept axes.
napi_value ReduceAxes(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!readArgs(env, info, argv, 5, "reduceAxes(isMax, x, out, dims, reduced)")) return nullptr;
  float *x, *o;
  size_t lx, lo;
  if (!floatArray(env, argv[1], &x, &lx) || !floatArray(env, argv[2], &o, &lo)) return throwError(env, "reduceAxes: x and out must be Float32Arrays");
  const int32_t* ax[2];
  size_t len[2];
  for (int i = 0; i < 2; i++) {
    napi_typedarray_type type;
    void* data;
    napi_value buf;
    size_t offset;
    if (napi_get_typedarray_info(env, argv[3 + i], &type, &len[i], &data, &buf, &offset) != napi_ok || type != napi_int32_array) {
      return throwError(env, "reduceAxes: dims and reduced must be Int32Arrays");
    }
    ax[i] = static_cast<const int32_t*>(data);
  }
  if (len[0] != len[1] || len[0] > 64) return throwError(env, "reduceAxes: dims and reduced must have one length (at most 64)");
  double in = 1, out = 1;
  for (size_t i = 0; i < len[0]; i++) {
    if (ax[0][i] < 0) return throwError(env, "reduceAxes: negative dimension");
    in *= ax[0][i];
    out *= ax[1][i] ? 1 : ax[0][i];
  }
  if ((double)lx < in || (double)lo < out) return throwError(env, "reduceAxes: array too small for the given dims");
  reduceAxes(boolArg(env, argv[0]), x, o, ax[0], ax[1], (int)len[0]);
  return nullptr;
}

// adviseHuge(x): asks for transparent huge pages under a large array not yet written (where the system
// offers them on request). A fresh 40 MB output otherwise takes ten thousand page faults as it is
// first written, which halved the speed of an add of ten million elements.
napi_value AdviseHuge(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!readArgs(env, info, argv, 1, "adviseHuge(x)")) return nullptr;
  float* x;
  size_t n;
  if (!floatArray(env, argv[0], &x, &n)) return throwError(env, "adviseHuge: x must be a Float32Array");
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;  // only whole huge pages inside the array
  const uintptr_t from = (reinterpret_cast<uintptr_t>(x) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t to = (reinterpret_cast<uintptr_t>(x + n)) & ~(kHuge - 1);
  if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
#endif
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

// poolStats(): [jobs shared with pool threads, pool threads that joined one, jobs that woke a sleeper].
napi_value PoolStatsFn(napi_env env, napi_callback_info) {
  const PoolStats s = poolStats();
  napi_value out, v;
  napi_create_array_with_length(env, 3, &out);
  const uint64_t values[3] = {s.jobs, s.joins, s.wakes};
  for (uint32_t i = 0; i < 3; i++) {
    napi_create_double(env, (double)values[i], &v);
    napi_set_element(env, out, i, v);
  }
  return out;
}

// Keeps memory that JavaScript frees for reuse. Tensors' buffers are freed only when the garbage
// collector finds them dead, many at once, and by default the C library then hands most of that memory
// back to the system (every buffer of 128 KB or more is its own mapping, and the top of the heap is
// trimmed), so the next outputs fault each page in again, zeroed by the kernel: a million-element add
// spent 80% of its time there. With these settings blocks under 32 MB come from the heap and up to
// 128 MB of free heap top is kept. Process-wide (glibc only); BACKPROP_MALLOC_TUNING=0 leaves malloc alone.
void tuneMalloc() {
#if defined(__GLIBC__)
  static bool done = false;  // once per process: worker threads load the addon again
  const char* setting = std::getenv("BACKPROP_MALLOC_TUNING");
  if (done || (setting && setting[0] == '0')) return;
  done = true;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
}

// opNames(): { map: [...], arithmetic: [...] }, each op's name at its code (opcodes.h).
napi_value OpNames(napi_env env, napi_callback_info) {
  const auto list = [&](const char* const* names, int n) {
    napi_value arr;
    napi_create_array_with_length(env, n, &arr);
    for (int i = 0; i < n; i++) {
      napi_value s;
      napi_create_string_utf8(env, names[i], NAPI_AUTO_LENGTH, &s);
      napi_set_element(env, arr, i, s);
    }
    return arr;
  };
  napi_value out;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "map", list(kMapOps, MapOpCount));
  napi_set_named_property(env, out, "arithmetic", list(kArithmeticOps, ArithmeticOpCount));
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  tuneMalloc();
  napi_property_descriptor props[] = {
      {"sgemm", nullptr, Sgemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgemmBatched", nullptr, SgemmBatched, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"arithmetic", nullptr, Arithmetic, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"map", nullptr, Map, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"select", nullptr, Select, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduce", nullptr, Reduce, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceAxes", nullptr, ReduceAxes, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgd", nullptr, Sgd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"isa", nullptr, Isa, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transpose2d", nullptr, Transpose2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"poolStats", nullptr, PoolStatsFn, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adviseHuge", nullptr, AdviseHuge, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"opNames", nullptr, OpNames, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unfold", nullptr, Unfold, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"fold", nullptr, Fold, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
