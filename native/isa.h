// The vector instructions this CPU has, checked once at load: the kernels are compiled for several
// and pick at run time (one binary serves AVX2 and AVX-512 machines).
#pragma once

namespace native {

enum class Isa { Generic, Avx2, Avx512 };

inline Isa detectIsa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Generic;
}

inline const Isa kIsa = detectIsa();

}  // namespace native
