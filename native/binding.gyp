{
  "targets": [
    {
      "target_name": "backprop_native",
      "sources": ["binding.cc", "gemm.cc", "elementwise.cc", "pool.cc", "conv.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions", "-fno-math-errno"],
      "cflags_cc!": ["-fno-rtti"],
      "ldflags": ["-pthread"]
    }
  ]
}
