// The vector instructions this CPU has, checked once at load: the kernels are compiled for several
// and pick at run time (one binary serves AVX2 and AVX-512 machines).
#pragma once
#include <cstdlib>
#include <cstring>

namespace native {

enum class Isa { Generic, Avx2, Avx512 };

inline Isa detectIsa() {
  Isa best = Isa::Generic;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) best = Isa::Avx512;
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::Avx2;
#endif
  // BACKPROP_NATIVE_ISA=avx2 or generic runs narrower kernels than the CPU allows (so that the tests
  // check every kernel on one machine); it never asks for more than the CPU has.
  if (const char* want = std::getenv("BACKPROP_NATIVE_ISA")) {
    if (std::strcmp(want, "generic") == 0) return Isa::Generic;
    if (std::strcmp(want, "avx2") == 0 && best == Isa::Avx512) return Isa::Avx2;
  }
  return best;
}

inline const Isa kIsa = detectIsa();

}  // namespace native
