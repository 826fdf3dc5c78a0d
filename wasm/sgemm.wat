;; WebAssembly SIMD kernels for backprop. Built into src/core/backends/wasm-module.ts by
;; scripts/build-wasm.mjs (wabt) during `npm ci`; the JS side copies operands into this memory.
(module
  (memory (export "memory") 1)

  ;; C (m x n) = A (m x k) B (k x n), row-major float32 at byte offsets A, B, C; m must be a multiple
  ;; of 4 (the caller pads A with zero rows). Four rows of C share each load of B; columns go four at a
  ;; time (f32x4).
  (func (export "sgemm") (param $A i32) (param $B i32) (param $C i32) (param $m i32) (param $n i32) (param $k i32)
    (local $i i32) (local $p i32) (local $j i32) (local $n4 i32)
    (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32) (local $brow i32) (local $off i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $bv v128)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32) (local $bs f32)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (memory.fill (local.get $C) (i32.const 0) (i32.shl (i32.mul (local.get $m) (local.get $n)) (i32.const 2)))
    (block $iend
      (loop $iloop
        (br_if $iend (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $c0 (i32.add (local.get $C) (i32.shl (i32.mul (local.get $i) (local.get $n)) (i32.const 2))))
        (local.set $c1 (i32.add (local.get $c0) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $c2 (i32.add (local.get $c0) (i32.shl (local.get $n) (i32.const 3))))
        (local.set $c3 (i32.add (local.get $c0) (i32.mul (local.get $n) (i32.const 12))))
        (local.set $p (i32.const 0))
        (block $pend
          (loop $ploop
            (br_if $pend (i32.ge_u (local.get $p) (local.get $k)))
            ;; A[i+r, p] for r = 0..3
            (local.set $off (i32.add (local.get $A) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $k)) (local.get $p)) (i32.const 2))))
            (local.set $s0 (f32.load (local.get $off)))
            (local.set $s1 (f32.load (i32.add (local.get $off) (i32.shl (local.get $k) (i32.const 2)))))
            (local.set $s2 (f32.load (i32.add (local.get $off) (i32.shl (local.get $k) (i32.const 3)))))
            (local.set $s3 (f32.load (i32.add (local.get $off) (i32.mul (local.get $k) (i32.const 12)))))
            (local.set $a0 (f32x4.splat (local.get $s0)))
            (local.set $a1 (f32x4.splat (local.get $s1)))
            (local.set $a2 (f32x4.splat (local.get $s2)))
            (local.set $a3 (f32x4.splat (local.get $s3)))
            (local.set $brow (i32.add (local.get $B) (i32.shl (i32.mul (local.get $p) (local.get $n)) (i32.const 2))))
            (local.set $j (i32.const 0))
            (block $jend
              (loop $jloop
                (br_if $jend (i32.ge_u (local.get $j) (local.get $n4)))
                (local.set $off (i32.shl (local.get $j) (i32.const 2)))
                (local.set $bv (v128.load (i32.add (local.get $brow) (local.get $off))))
                (v128.store (i32.add (local.get $c0) (local.get $off)) (f32x4.add (v128.load (i32.add (local.get $c0) (local.get $off))) (f32x4.mul (local.get $a0) (local.get $bv))))
                (v128.store (i32.add (local.get $c1) (local.get $off)) (f32x4.add (v128.load (i32.add (local.get $c1) (local.get $off))) (f32x4.mul (local.get $a1) (local.get $bv))))
                (v128.store (i32.add (local.get $c2) (local.get $off)) (f32x4.add (v128.load (i32.add (local.get $c2) (local.get $off))) (f32x4.mul (local.get $a2) (local.get $bv))))
                (v128.store (i32.add (local.get $c3) (local.get $off)) (f32x4.add (v128.load (i32.add (local.get $c3) (local.get $off))) (f32x4.mul (local.get $a3) (local.get $bv))))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $jloop)))
            (block $tend
              (loop $tloop
                (br_if $tend (i32.ge_u (local.get $j) (local.get $n)))
                (local.set $off (i32.shl (local.get $j) (i32.const 2)))
                (local.set $bs (f32.load (i32.add (local.get $brow) (local.get $off))))
                (f32.store (i32.add (local.get $c0) (local.get $off)) (f32.add (f32.load (i32.add (local.get $c0) (local.get $off))) (f32.mul (local.get $s0) (local.get $bs))))
                (f32.store (i32.add (local.get $c1) (local.get $off)) (f32.add (f32.load (i32.add (local.get $c1) (local.get $off))) (f32.mul (local.get $s1) (local.get $bs))))
                (f32.store (i32.add (local.get $c2) (local.get $off)) (f32.add (f32.load (i32.add (local.get $c2) (local.get $off))) (f32.mul (local.get $s2) (local.get $bs))))
                (f32.store (i32.add (local.get $c3) (local.get $off)) (f32.add (f32.load (i32.add (local.get $c3) (local.get $off))) (f32.mul (local.get $s3) (local.get $bs))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $tloop)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $ploop)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $iloop)))
  )
)
