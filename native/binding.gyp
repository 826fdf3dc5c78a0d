{
  "targets": [
    {
      "target_name": "backprop_native",
      "sources": ["gemm.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions", "-fno-math-errno"],
      "cflags_cc!": ["-fno-rtti"],
      "ldflags": ["-pthread"]
    }
  ]
}
