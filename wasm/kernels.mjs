// The WebAssembly SIMD kernels of backprop's wasm backend, as WebAssembly text. The GEMM and the math
// functions are written out by hand below; the elementwise families (one loop per broadcast layout)
// are expanded from small templates, because hand-writing 2^k copies of each loop is where bugs hide.
// scripts/build-wasm.mjs assembles this text twice: with a shared memory (worker threads) and without.

/** WebAssembly text of the whole module; `shared` declares the imported memory shared. */
export function moduleText({ shared }) {
  return `(module
  (import "env" "memory" (memory 1 16384${shared ? " shared" : ""}))
${GEMM}
${BINARY.map(binary2d).join("\n")}
${where2d()}
${UNARY.map(unary).join("\n")}
${REDUCE}
${WINDOW}
${INDEXING}
)`;
}

/** Names of the exported functions, in the order the thread pool's job table uses. */
export function exportNames() {
  return [...moduleText({ shared: false }).matchAll(/\(export "([a-z0-9_]+)"\)/g)].map((m) => m[1]);
}

const f4 = (v) => `(v128.const f32x4 ${v} ${v} ${v} ${v})`;
const i4 = (v) => `(v128.const i32x4 ${v} ${v} ${v} ${v})`;

/** Rows of C per micro-tile of the GEMM (the JS side pads A to a multiple of it). */
export const GEMM_MR = 4;

// C = A B over a row range. B is first packed into panels of 8 columns (k x 8, zero-padded past n), so
// the micro-kernel keeps an MR x 8 tile of C in registers while k runs: each step loads two vectors of
// the panel and four splatted elements of A and does 16 vector multiply-adds without touching C.
const GEMM = `
  ;; Packs columns [q0, q1) of B (k x n; element (p, col) at b + 4 (p rs + col cs): rs = n, cs = 1
  ;; row-major, rs = 1, cs = k when B is stored transposed) into panels of k x 8, panel q / 8 at
  ;; bp + 4 q k; q0 is a multiple of 8. Whole panels of a row-major B are copied two vectors a row;
  ;; the rest element by element, zero past n. Threads pack ranges of panels side by side.
  (func $pack_b (export "pack_b") (param $b i32) (param $bp i32) (param $k i32) (param $n i32) (param $rs i32) (param $cs i32) (param $q0 i32) (param $q1 i32)
    (local $q i32) (local $p i32) (local $j i32) (local $col i32) (local $dst i32) (local $src i32) (local $rsb i32)
    (local.set $q (local.get $q0))
    (local.set $dst (i32.add (local.get $bp) (i32.shl (i32.mul (local.get $q0) (local.get $k)) (i32.const 2))))
    (local.set $rsb (i32.shl (local.get $rs) (i32.const 2)))
    (block $qe (loop $ql
      (br_if $qe (i32.ge_u (local.get $q) (local.get $q1)))
      (if (i32.and (i32.eq (local.get $cs) (i32.const 1)) (i32.le_u (i32.add (local.get $q) (i32.const 8)) (local.get $n)))
        (then
          (local.set $src (i32.add (local.get $b) (i32.shl (local.get $q) (i32.const 2))))
          (local.set $p (i32.const 0))
          (block $ve (loop $vl
            (br_if $ve (i32.ge_u (local.get $p) (local.get $k)))
            (v128.store (local.get $dst) (v128.load (local.get $src)))
            (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $src)))
            (local.set $src (i32.add (local.get $src) (local.get $rsb)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $vl))))
        (else
          (local.set $p (i32.const 0))
          (block $pe (loop $pl
            (br_if $pe (i32.ge_u (local.get $p) (local.get $k)))
            (local.set $j (i32.const 0))
            (block $je (loop $jl
              (br_if $je (i32.ge_u (local.get $j) (i32.const 8)))
              (local.set $col (i32.add (local.get $q) (local.get $j)))
              (f32.store (local.get $dst)
                (if (result f32) (i32.lt_u (local.get $col) (local.get $n))
                  (then (f32.load (i32.add (local.get $b) (i32.shl (i32.add (i32.mul (local.get $p) (local.get $rs)) (i32.mul (local.get $col) (local.get $cs))) (i32.const 2)))))
                  (else (f32.const 0))))
              (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $jl)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $pl)))))
      (local.set $q (i32.add (local.get $q) (i32.const 8)))
      (br $ql)))
  )

${gemmRows(GEMM_MR)}

  ;; A batch of products of one shape (a convolution's weight against each image's columns): product i
  ;; packs B_i (at b + i sb bytes) into bp and computes all mp rows of C_i (at c + i sc) from A_i (at
  ;; a + i sa); sa or sb 0 is one operand for every product. A thread takes a range of products.
  (func (export "gemm_batch") (param $a i32) (param $sa i32) (param $b i32) (param $sb i32) (param $bp i32) (param $c i32) (param $sc i32) (param $count i32)
    (param $k i32) (param $n i32) (param $np i32) (param $mp i32) (param $rs i32) (param $cs i32) (param $ars i32) (param $acs i32)
    (local $i i32)
    (block $e (loop $l
      (br_if $e (i32.ge_u (local.get $i) (local.get $count)))
      (call $pack_b (i32.add (local.get $b) (i32.mul (local.get $i) (local.get $sb))) (local.get $bp) (local.get $k) (local.get $n) (local.get $rs) (local.get $cs) (i32.const 0) (local.get $np))
      (call $gemm_rows (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $sa))) (local.get $bp) (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $sc)))
        (i32.const 0) (local.get $mp) (local.get $np) (local.get $k) (local.get $ars) (local.get $acs))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
  )`;

/** gemm_rows for an R x 8 tile: rows [i0, i1) of C (ldc = np, the panel-padded width) from A (rows
 * padded to a multiple of R, i0 and i1 multiples of R) and the packed panels at bp. Element (i, p) of
 * A is at a + i ars + p acs (bytes): ars = 4k, acs = 4 row-major; ars = 4, acs = 4 mp when A is stored
 * transposed (its rows padded to mp), so a product reading A transposed needs no transposing copy. */
function gemmRows(R) {
  const rows = Array.from({ length: R }, (_, r) => r);
  const acc = rows.flatMap((r) => [`$c${r}0`, `$c${r}1`]);
  // Byte offset of row r of the A tile: r * ars, kept in locals $o1..$o(R-1).
  const rowOff = (r) => (r === 0 ? "(local.get $pa)" : `(i32.add (local.get $pa) (local.get $o${r}))`);
  return `
  (func $gemm_rows (export "gemm_rows") (param $a i32) (param $bp i32) (param $c i32) (param $i0 i32) (param $i1 i32) (param $np i32) (param $k i32) (param $ars i32) (param $acs i32)
    (local $i i32) (local $q i32) (local $pa i32) (local $pb i32) (local $pc i32) (local $ldb i32) (local $ldc i32) (local $end i32)
    ${rows
      .slice(1)
      .map((r) => `(local $o${r} i32)`)
      .join(" ")}
    ${acc.map((a) => `(local ${a} v128)`).join(" ")}
    (local $b0 v128) (local $b1 v128) (local $av v128)
    (local.set $ldb (i32.shl (local.get $k) (i32.const 2)))
    (local.set $ldc (i32.shl (local.get $np) (i32.const 2)))
    ${rows
      .slice(1)
      .map((r) => `(local.set $o${r} (i32.mul (local.get $ars) (i32.const ${r})))`)
      .join("\n    ")}
    (local.set $i (local.get $i0))
    (block $ie (loop $il
      (br_if $ie (i32.ge_u (local.get $i) (local.get $i1)))
      (local.set $q (i32.const 0))
      (block $qe (loop $ql
        (br_if $qe (i32.ge_u (local.get $q) (local.get $np)))
        ${acc.map((a) => `(local.set ${a} ${f4(0)})`).join(" ")}
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $ars))))
        (local.set $pb (i32.add (local.get $bp) (i32.mul (local.get $q) (local.get $ldb))))
        (local.set $end (i32.add (local.get $pa) (i32.mul (local.get $k) (local.get $acs))))
        (block $pe (loop $pl
          (br_if $pe (i32.ge_u (local.get $pa) (local.get $end)))
          (local.set $b0 (v128.load (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))
          ${rows
            .map(
              (r) => `(local.set $av (v128.load32_splat ${rowOff(r)}))
          (local.set $c${r}0 (f32x4.add (local.get $c${r}0) (f32x4.mul (local.get $av) (local.get $b0))))
          (local.set $c${r}1 (f32x4.add (local.get $c${r}1) (f32x4.mul (local.get $av) (local.get $b1))))`,
            )
            .join("\n          ")}
          (local.set $pa (i32.add (local.get $pa) (local.get $acs)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
          (br $pl)))
        (local.set $pc (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $q) (i32.const 2)))))
        ${rows
          .map(
            (r) => `${r ? "(local.set $pc (i32.add (local.get $pc) (local.get $ldc)))\n        " : ""}(v128.store (local.get $pc) (local.get $c${r}0))
        (v128.store offset=16 (local.get $pc) (local.get $c${r}1))`,
          )
          .join("\n        ")}
        (local.set $q (i32.add (local.get $q) (i32.const 8)))
        (br $ql)))
      (local.set $i (i32.add (local.get $i) (i32.const ${R})))
      (br $il)))
  )`;
}

// exp and log after Cephes' single-precision range reductions and polynomials (Moshier), four lanes
// at a time; special values (NaN, infinities, zero, denormals) are patched in with masks. They are
// macros, expanded into each loop: a wasm call per vector costs more than the polynomial.
// Each takes the name of the v128 local holding x and the local to set, and uses locals $m0..$m7.
const MATH_LOCALS = Array.from({ length: 8 }, (_, i) => `(local $m${i} v128)`).join(" ");
const get = (l) => `(local.get ${l})`;

function exp(x, out) {
  const [y, n, r, z, p, e, h] = ["$m0", "$m1", "$m2", "$m3", "$m4", "$m5", "$m6"];
  return `
    ;; clamp to where exp is finite and not yet 0 (pmin/pmax keep a NaN in the first operand)
    (local.set ${y} (f32x4.pmax (f32x4.pmin ${get(x)} ${f4(88.72283)}) ${f4(-104)}))
    ;; n = round(y / ln 2): adding 1.5 * 2^23 rounds and leaves n in the low mantissa bits
    (local.set ${e} (f32x4.add (f32x4.mul ${get(y)} ${f4(1.44269504088896341)}) ${f4(12582912)}))
    (local.set ${n} (f32x4.sub ${get(e)} ${f4(12582912)}))
    (local.set ${e} (i32x4.sub ${get(e)} ${i4(0x4b400000)}))
    (local.set ${r} (f32x4.sub ${get(y)} (f32x4.mul ${get(n)} ${f4(0.693359375)})))
    (local.set ${r} (f32x4.sub ${get(r)} (f32x4.mul ${get(n)} ${f4(-2.1219444e-4)})))
    (local.set ${z} (f32x4.mul ${get(r)} ${get(r)}))
    (local.set ${p} ${f4(1.98756915e-4)})
    ${[1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]
      .map((c) => `(local.set ${p} (f32x4.add (f32x4.mul ${get(p)} ${get(r)}) ${f4(c)}))`)
      .join("\n    ")}
    (local.set ${p} (f32x4.add (f32x4.add (f32x4.mul ${get(p)} ${get(z)}) ${get(r)}) ${f4(1)}))
    ;; times 2^n as 2^h * 2^(n-h), h = n/2, so both factors stay normal numbers
    (local.set ${h} (i32x4.shr_s ${get(e)} (i32.const 1)))
    (local.set ${e} (i32x4.sub ${get(e)} ${get(h)}))
    (local.set ${p} (f32x4.mul ${get(p)} (i32x4.shl (i32x4.add ${get(h)} ${i4(127)}) (i32.const 23))))
    (local.set ${p} (f32x4.mul ${get(p)} (i32x4.shl (i32x4.add ${get(e)} ${i4(127)}) (i32.const 23))))
    (local.set ${out} (v128.bitselect ${f4("inf")} ${get(p)} (f32x4.gt ${get(x)} ${f4(88.72283)})))`;
}

function log(x, out) {
  const [tiny, m, e, lt, ef, z, y] = ["$m0", "$m1", "$m2", "$m3", "$m4", "$m5", "$m6"];
  return `
    ;; denormals: scale by 2^23 first
    (local.set ${tiny} (f32x4.lt ${get(x)} ${f4(1.17549435e-38)}))
    (local.set ${m} (v128.bitselect (f32x4.mul ${get(x)} ${f4(8388608)}) ${get(x)} ${get(tiny)}))
    (local.set ${e} (i32x4.sub (v128.and (i32x4.shr_u ${get(m)} (i32.const 23)) ${i4(255)}) ${i4(126)}))
    (local.set ${e} (i32x4.sub ${get(e)} (v128.and ${get(tiny)} ${i4(23)})))
    ;; mantissa in [0.5, 1); below sqrt(1/2) take 2m - 1 and one less in the exponent
    (local.set ${m} (v128.or (v128.and ${get(m)} ${i4(0x007fffff)}) ${i4(0x3f000000)}))
    (local.set ${lt} (f32x4.lt ${get(m)} ${f4(0.707106781186547524)}))
    (local.set ${e} (i32x4.add ${get(e)} ${get(lt)}))
    (local.set ${m} (f32x4.sub (f32x4.add ${get(m)} (v128.and ${get(m)} ${get(lt)})) ${f4(1)}))
    (local.set ${ef} (f32x4.convert_i32x4_s ${get(e)}))
    (local.set ${z} (f32x4.mul ${get(m)} ${get(m)}))
    (local.set ${y} ${f4(7.0376836292e-2)})
    ${[-1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1]
      .map((c) => `(local.set ${y} (f32x4.add (f32x4.mul ${get(y)} ${get(m)}) ${f4(c)}))`)
      .join("\n    ")}
    (local.set ${y} (f32x4.mul (f32x4.mul ${get(y)} ${get(m)}) ${get(z)}))
    (local.set ${y} (f32x4.add ${get(y)} (f32x4.mul ${get(ef)} ${f4(-2.1219444e-4)})))
    (local.set ${y} (f32x4.sub ${get(y)} (f32x4.mul ${get(z)} ${f4(0.5)})))
    (local.set ${y} (f32x4.add (f32x4.add ${get(m)} ${get(y)}) (f32x4.mul ${get(ef)} ${f4(0.693359375)})))
    ;; log 0 = -inf, log of a negative = NaN, log inf = inf, NaN stays NaN
    (local.set ${y} (v128.bitselect ${f4("-inf")} ${get(y)} (f32x4.eq ${get(x)} ${f4(0)})))
    (local.set ${y} (v128.bitselect ${f4("nan")} ${get(y)} (f32x4.lt ${get(x)} ${f4(0)})))
    (local.set ${out} (v128.bitselect ${get(x)} ${get(y)} (v128.or (f32x4.ne ${get(x)} ${get(x)}) (f32x4.eq ${get(x)} ${f4("inf")}))))`;
}

/** 1 / (1 + exp(-x)): no cancellation at either end. */
function sigmoid(x, out) {
  return `(local.set $m7 (f32x4.neg ${get(x)}))
    ${exp("$m7", "$m7")}
    (local.set ${out} (f32x4.div ${f4(1)} (f32x4.add ${f4(1)} ${get("$m7")})))`;
}

/** An odd polynomial near 0 (where 1 - 2/(e^2x + 1) cancels), the exponential form elsewhere. */
function tanh(x, out) {
  return `(local.set $m7 (f32x4.abs ${get(x)}))
    (local.set $m7 (f32x4.add ${get("$m7")} ${get("$m7")}))
    ${exp("$m7", "$m7")}
    ;; large |x|: 1 - 2/(e^2|x| + 1), with the sign of x
    (local.set $m7 (f32x4.sub ${f4(1)} (f32x4.div ${f4(2)} (f32x4.add ${get("$m7")} ${f4(1)}))))
    (local.set $m7 (v128.or ${get("$m7")} (v128.and ${get(x)} ${i4(0x80000000 | 0)})))
    (local.set $m0 (f32x4.mul ${get(x)} ${get(x)}))
    (local.set $m1 ${f4(-5.70498872745e-3)})
    ${[2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]
      .map((c) => `(local.set $m1 (f32x4.add (f32x4.mul ${get("$m1")} ${get("$m0")}) ${f4(c)}))`)
      .join("\n    ")}
    (local.set $m1 (f32x4.add (f32x4.mul (f32x4.mul ${get("$m1")} ${get("$m0")}) ${get(x)}) ${get(x)}))
    (local.set ${out} (v128.bitselect ${get("$m1")} ${get("$m7")} (f32x4.lt (f32x4.abs ${get(x)}) ${f4(0.625)})))`;
}

// Binary elementwise ops over a 2-D view of the broadcast: each input is a full matrix (row stride =
// cols), a row vector (row stride 0), a column vector (row stride 1, splatted along the row) or a
// scalar; `vec` says whether the input varies along the row (load) or not (splat).
const BINARY = [
  ["add", (a, b) => `(f32x4.add ${a} ${b})`, (a, b) => `(f32.add ${a} ${b})`],
  ["sub", (a, b) => `(f32x4.sub ${a} ${b})`, (a, b) => `(f32.sub ${a} ${b})`],
  ["mul", (a, b) => `(f32x4.mul ${a} ${b})`, (a, b) => `(f32.mul ${a} ${b})`],
  ["div", (a, b) => `(f32x4.div ${a} ${b})`, (a, b) => `(f32.div ${a} ${b})`],
  ["maximum", (a, b) => `(f32x4.max ${a} ${b})`, (a, b) => `(f32.max ${a} ${b})`],
  ["minimum", (a, b) => `(f32x4.min ${a} ${b})`, (a, b) => `(f32.min ${a} ${b})`],
  ["gt", (a, b) => `(v128.and (f32x4.gt ${a} ${b}) ${f4(1)})`, (a, b) => `(f32.convert_i32_u (f32.gt ${a} ${b}))`],
  ["ge", (a, b) => `(v128.and (f32x4.ge ${a} ${b}) ${f4(1)})`, (a, b) => `(f32.convert_i32_u (f32.ge ${a} ${b}))`],
  ["eq", (a, b) => `(v128.and (f32x4.eq ${a} ${b}) ${f4(1)})`, (a, b) => `(f32.convert_i32_u (f32.eq ${a} ${b}))`],
];

/**
 * One exported function `${name}_2d(in0, rs0, vec0, bs0, ..., out, rows, cols, batches)` with a loop for
 * each combination of loaded and splatted inputs (2^k loops), vector body plus scalar tail, over a
 * batch of such 2-D views.
 */
function kernel2d(name, k, vecOp, scalarOp) {
  const ins = Array.from({ length: k }, (_, i) => i);
  const params = ins.map((i) => `(param $p${i} i32) (param $rs${i} i32) (param $v${i} i32) (param $bs${i} i32)`).join(" ");
  const locals = ins.map((i) => `(local $q${i} i32) (local $s${i} v128) (local $t${i} f32) (local $b${i} i32)`).join(" ");
  const combos = [];
  for (let mask = 0; mask < 1 << k; mask++) {
    const vec = ins.map((i) => (mask >> i) & 1); // 1: loaded along the row
    const cond = ins.map((i) => (vec[i] ? `(local.get $v${i})` : `(i32.eqz (local.get $v${i}))`)).reduce((a, b) => `(i32.and ${a} ${b})`);
    const vArgs = ins.map((i) => (vec[i] ? `(v128.load (i32.add (local.get $q${i}) (local.get $j)))` : `(local.get $s${i})`));
    const sArgs = ins.map((i) => (vec[i] ? `(f32.load (i32.add (local.get $q${i}) (local.get $j)))` : `(local.get $t${i})`));
    combos.push(`(if ${cond} (then
          (local.set $j (i32.const 0))
          (block $ve (loop $vl
            (br_if $ve (i32.ge_u (local.get $j) (local.get $n4)))
            (v128.store (i32.add (local.get $qo) (local.get $j)) ${vecOp(...vArgs)})
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $vl)))
          (block $se (loop $sl
            (br_if $se (i32.ge_u (local.get $j) (local.get $nb)))
            (f32.store (i32.add (local.get $qo) (local.get $j)) ${scalarOp(...sArgs)})
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $sl)))))`);
  }
  // Batches of the 2-D view: batch $bt's input k starts bs_k elements after batch $bt-1's (0: the same
  // view for every batch), its output rows x cols after.
  return `
  (func (export "${name}_2d") ${params} (param $o i32) (param $rows i32) (param $cols i32) (param $batches i32)
    (local $r i32) (local $j i32) (local $n4 i32) (local $nb i32) (local $qo i32) (local $bt i32) (local $ob i32) ${locals}
    (local.set $nb (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $n4 (i32.and (local.get $nb) (i32.const -16)))
    (block $be (loop $bl
      (br_if $be (i32.ge_u (local.get $bt) (local.get $batches)))
      ${ins.map((i) => `(local.set $b${i} (i32.add (local.get $p${i}) (i32.shl (i32.mul (local.get $bt) (local.get $bs${i})) (i32.const 2))))`).join("\n      ")}
      (local.set $ob (i32.add (local.get $o) (i32.mul (i32.mul (local.get $bt) (local.get $rows)) (local.get $nb))))
      (local.set $r (i32.const 0))
      (block $re (loop $rl
        (br_if $re (i32.ge_u (local.get $r) (local.get $rows)))
        ${ins
          .map(
            (i) => `(local.set $q${i} (i32.add (local.get $b${i}) (i32.shl (i32.mul (local.get $r) (local.get $rs${i})) (i32.const 2))))
        (local.set $t${i} (f32.load (local.get $q${i})))
        (local.set $s${i} (f32x4.splat (local.get $t${i})))`,
          )
          .join("\n        ")}
        (local.set $qo (i32.add (local.get $ob) (i32.mul (local.get $r) (local.get $nb))))
        ${combos.join("\n        ")}
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rl)))
      (local.set $bt (i32.add (local.get $bt) (i32.const 1)))
      (br $bl)))
  )`;
}

function binary2d([name, vecOp, scalarOp]) {
  return kernel2d(name, 2, vecOp, scalarOp);
}

function where2d() {
  return kernel2d(
    "where",
    3,
    (c, x, y) => `(v128.bitselect ${x} ${y} (f32x4.ne ${c} ${f4(0)}))`,
    (c, x, y) => `(select ${x} ${y} (f32.ne ${c} (f32.const 0)))`,
  );
}

// Unary maps over n elements; the caller pads both buffers to a multiple of 4 elements. Each entry
// sets $r from $v.
const simple = (op) => (x, out) => `(local.set ${out} ${op(get(x))})`;
const UNARY = [
  ["neg", simple((x) => `(f32x4.neg ${x})`)],
  ["abs", simple((x) => `(f32x4.abs ${x})`)],
  ["sqrt", simple((x) => `(f32x4.sqrt ${x})`)],
  ["reciprocal", simple((x) => `(f32x4.div ${f4(1)} ${x})`)],
  ["exp", exp],
  ["log", log],
  ["sigmoid", sigmoid],
  ["tanh", tanh],
];

function unary([name, op]) {
  return `
  (func (export "${name}") (param $x i32) (param $o i32) (param $n i32)
    (local $end i32) (local $v v128) (local $r v128) ${MATH_LOCALS}
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $e (loop $l
      (br_if $e (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $v (v128.load (local.get $x)))
      ${op("$v", "$r")}
      (v128.store (local.get $o) (local.get $r))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $l)))
  )`;
}

// Sums accumulate in float64 (as the reference kernel does); max carries NaN through like NumPy.
const REDUCE = `
  ;; o[r] = sum of row r (rows x cols)
  (func (export "sum_rows") (param $x i32) (param $o i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $j i32) (local $n4 i32) (local $nb i32) (local $p i32) (local $v v128) (local $lo v128) (local $hi v128) (local $s f64)
    (local.set $nb (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $n4 (i32.and (local.get $nb) (i32.const -16)))
    (block $re (loop $rl
      (br_if $re (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $p (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $nb))))
      (local.set $lo (v128.const f64x2 0 0))
      (local.set $hi (v128.const f64x2 0 0))
      (local.set $j (i32.const 0))
      (block $ve (loop $vl
        (br_if $ve (i32.ge_u (local.get $j) (local.get $n4)))
        (local.set $v (v128.load (i32.add (local.get $p) (local.get $j))))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $hi (f64x2.add (local.get $hi) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vl)))
      (local.set $lo (f64x2.add (local.get $lo) (local.get $hi)))
      (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $lo)) (f64x2.extract_lane 1 (local.get $lo))))
      (block $se (loop $sl
        (br_if $se (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32.load (i32.add (local.get $p) (local.get $j))))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sl)))
      (f32.store (i32.add (local.get $o) (i32.shl (local.get $r) (i32.const 2))) (f32.demote_f64 (local.get $s)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))
  )

  ;; o[j] = sum over r of x[r, j] (rows x cols), with a float64 accumulator row at acc (8 * cols bytes)
  (func (export "sum_cols") (param $x i32) (param $o i32) (param $acc i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $j i32) (local $n4 i32) (local $nb i32) (local $p i32) (local $q i32) (local $v v128)
    (local.set $nb (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $n4 (i32.and (local.get $nb) (i32.const -16)))
    (memory.fill (local.get $acc) (i32.const 0) (i32.shl (local.get $cols) (i32.const 3)))
    (block $re (loop $rl
      (br_if $re (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $p (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $nb))))
      (local.set $j (i32.const 0))
      (block $ve (loop $vl
        (br_if $ve (i32.ge_u (local.get $j) (local.get $n4)))
        (local.set $v (v128.load (i32.add (local.get $p) (local.get $j))))
        (local.set $q (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 1))))
        (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q)) (f64x2.promote_low_f32x4 (local.get $v))))
        (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vl)))
      (block $se (loop $sl
        (br_if $se (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $q (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 1))))
        (f64.store (local.get $q) (f64.add (f64.load (local.get $q)) (f64.promote_f32 (f32.load (i32.add (local.get $p) (local.get $j))))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sl)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))
    (local.set $j (i32.const 0))
    (block $oe (loop $ol
      (br_if $oe (i32.ge_u (local.get $j) (local.get $nb)))
      (f32.store (i32.add (local.get $o) (local.get $j)) (f32.demote_f64 (f64.load (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 1))))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $ol)))
  )

  ;; o[r] = max of row r (rows x cols, cols >= 1)
  (func (export "max_rows") (param $x i32) (param $o i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $j i32) (local $n4 i32) (local $nb i32) (local $p i32) (local $m v128) (local $s f32)
    (local.set $nb (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $n4 (i32.and (local.get $nb) (i32.const -16)))
    (block $re (loop $rl
      (br_if $re (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $p (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $nb))))
      (local.set $m ${f4("-inf")})
      (local.set $j (i32.const 0))
      (block $ve (loop $vl
        (br_if $ve (i32.ge_u (local.get $j) (local.get $n4)))
        (local.set $m (f32x4.max (local.get $m) (v128.load (i32.add (local.get $p) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vl)))
      (local.set $s (f32.max (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m))) (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
      (block $se (loop $sl
        (br_if $se (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $s (f32.max (local.get $s) (f32.load (i32.add (local.get $p) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sl)))
      (f32.store (i32.add (local.get $o) (i32.shl (local.get $r) (i32.const 2))) (local.get $s))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))
  )`;

// im2col (unfold) and col2im (fold) over whole (n, c) planes, float32: x (planes, h, w) <->
// cols (planes, kh*kw, ho*wo), row i*kw + j of a plane, column oh*wo + ow (PyTorch's F.unfold layout).
// For each kernel offset (i, j) the outputs ow whose input column lies in the image, [ow0, ow1), are
// found once; a row is then a zero head, a copy (four lanes at a time at stride 1) and a zero tail.
// Vector stores never pass the end of their run: a thread's last row borders another thread's first.
const WINDOW_PARAMS = ["h", "w", "kh", "kw", "sh", "sw", "pt", "pl", "dh", "dw", "ho", "wo"].map((p) => `(param $${p} i32)`).join(" ");
const WINDOW_LOCALS = ["p", "i", "j", "oh", "k", "off", "ow0", "ow1", "ih", "src", "dst", "run", "hi"].map((l) => `(local $${l} i32)`).join(" ");

/** Sets $off, $ow0 and $ow1 for kernel column $j: outputs ow in [$ow0, $ow1) read input column $off + ow * $sw inside [0, $w). */
const insideRange = `
        (local.set $off (i32.sub (i32.mul (local.get $j) (local.get $dw)) (local.get $pl)))
        (local.set $ow0 (if (result i32) (i32.ge_s (local.get $off) (i32.const 0))
          (then (i32.const 0))
          (else (i32.div_u (i32.sub (i32.sub (local.get $sw) (i32.const 1)) (local.get $off)) (local.get $sw)))))
        (if (i32.gt_u (local.get $ow0) (local.get $wo)) (then (local.set $ow0 (local.get $wo))))
        (local.set $hi (i32.sub (i32.sub (local.get $w) (i32.const 1)) (local.get $off)))
        (local.set $ow1 (if (result i32) (i32.lt_s (local.get $hi) (i32.const 0))
          (then (local.get $ow0))
          (else (i32.add (i32.div_u (local.get $hi) (local.get $sw)) (i32.const 1)))))
        (if (i32.gt_u (local.get $ow1) (local.get $wo)) (then (local.set $ow1 (local.get $wo))))
        (if (i32.lt_u (local.get $ow1) (local.get $ow0)) (then (local.set $ow1 (local.get $ow0))))`;

/** Zeros `count` floats (an i32 expression) from byte address `at`, in vectors and then one by one; uses $k. */
const zeros = (at, count) => `
            (local.set $k (i32.const 0))
            (block $zv (loop $zvl
              (br_if $zv (i32.gt_s (i32.add (local.get $k) (i32.const 4)) ${count}))
              (v128.store (i32.add ${at} (i32.shl (local.get $k) (i32.const 2))) ${f4(0)})
              (local.set $k (i32.add (local.get $k) (i32.const 4)))
              (br $zvl)))
            (block $zs (loop $zsl
              (br_if $zs (i32.ge_s (local.get $k) ${count}))
              (f32.store (i32.add ${at} (i32.shl (local.get $k) (i32.const 2))) (f32.const 0))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $zsl)))`;

/** The row of input `$ih` that kernel row $i reads for output row $oh. */
const inputRow = `(local.set $ih (i32.add (i32.sub (i32.mul (local.get $oh) (local.get $sh)) (local.get $pt)) (i32.mul (local.get $i) (local.get $dh))))`;

/** Loops over planes, kernel rows and columns (setting the inside range) and output rows around `body`; `perPlane` runs before each plane. */
const windowLoops = (perPlane, body, afterOffset) => `
    (block $pe (loop $pl_
      (br_if $pe (i32.ge_u (local.get $p) (local.get $planes)))
      ${perPlane}
      (local.set $i (i32.const 0))
      (block $ie (loop $il
        (br_if $ie (i32.ge_u (local.get $i) (local.get $kh)))
        (local.set $j (i32.const 0))
        (block $je (loop $jl
          (br_if $je (i32.ge_u (local.get $j) (local.get $kw)))
          ${insideRange}
          (local.set $run (i32.sub (local.get $ow1) (local.get $ow0)))
          (local.set $oh (i32.const 0))
          (block $oe (loop $ol
            (br_if $oe (i32.ge_u (local.get $oh) (local.get $ho)))
            ${inputRow}
            ${body}
            (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
            (br $ol)))
          ${afterOffset}
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jl)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $il)))
      (local.set $x (i32.add (local.get $x) (i32.shl (i32.mul (local.get $h) (local.get $w)) (i32.const 2))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pl_)))`;

/** Byte address of input element (ih, off + ow0 * sw) of the current plane. */
const inputAt = `(i32.add (local.get $x) (i32.shl (i32.add (i32.mul (local.get $ih) (local.get $w)) (i32.add (local.get $off) (i32.mul (local.get $ow0) (local.get $sw)))) (i32.const 2)))`;

const WINDOW = `
  ;; cols (planes, kh*kw, ho*wo) = im2col of x (planes, h, w); $o advances one output row at a time
  (func (export "unfold_planes") (param $x i32) (param $o i32) (param $planes i32) ${WINDOW_PARAMS}
    ${WINDOW_LOCALS}
    ${windowLoops(
      "",
      `(if (i32.ge_u (local.get $ih) (local.get $h))
              (then ${zeros("(local.get $o)", "(local.get $wo)")})
              (else
                ${zeros("(local.get $o)", "(local.get $ow0)")}
                ${zeros("(i32.add (local.get $o) (i32.shl (local.get $ow1) (i32.const 2)))", "(i32.sub (local.get $wo) (local.get $ow1))")}
                (local.set $src ${inputAt})
                (local.set $dst (i32.add (local.get $o) (i32.shl (local.get $ow0) (i32.const 2))))
                (local.set $k (i32.const 0))
                (if (i32.eq (local.get $sw) (i32.const 1))
                  (then
                    (block $cv (loop $cvl
                      (br_if $cv (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $run)))
                      (v128.store (i32.add (local.get $dst) (i32.shl (local.get $k) (i32.const 2))) (v128.load (i32.add (local.get $src) (i32.shl (local.get $k) (i32.const 2)))))
                      (local.set $k (i32.add (local.get $k) (i32.const 4)))
                      (br $cvl)))))
                (block $cs (loop $csl
                  (br_if $cs (i32.ge_s (local.get $k) (local.get $run)))
                  (f32.store (i32.add (local.get $dst) (i32.shl (local.get $k) (i32.const 2)))
                    (f32.load (i32.add (local.get $src) (i32.shl (i32.mul (local.get $k) (local.get $sw)) (i32.const 2)))))
                  (local.set $k (i32.add (local.get $k) (i32.const 1)))
                  (br $csl)))))
            (local.set $o (i32.add (local.get $o) (i32.shl (local.get $wo) (i32.const 2))))`,
      "",
    )}
  )

  ;; x (planes, h, w) = col2im of cols (planes, kh*kw, ho*wo): zeroed, then each column added at its
  ;; input position in the order (i, j, oh, ow); $c is the current kernel offset's row block
  (func (export "fold_planes") (param $c i32) (param $x i32) (param $planes i32) ${WINDOW_PARAMS}
    ${WINDOW_LOCALS} (local $cr i32)
    ${windowLoops(
      `(memory.fill (local.get $x) (i32.const 0) (i32.shl (i32.mul (local.get $h) (local.get $w)) (i32.const 2)))`,
      `(if (i32.and (i32.lt_u (local.get $ih) (local.get $h)) (i32.gt_s (local.get $run) (i32.const 0)))
              (then
                (local.set $dst ${inputAt})
                (local.set $cr (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $oh) (local.get $wo)) (local.get $ow0)) (i32.const 2))))
                (local.set $k (i32.const 0))
                (if (i32.eq (local.get $sw) (i32.const 1))
                  (then
                    (block $av (loop $avl
                      (br_if $av (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $run)))
                      (local.set $src (i32.add (local.get $dst) (i32.shl (local.get $k) (i32.const 2))))
                      (v128.store (local.get $src) (f32x4.add (v128.load (local.get $src)) (v128.load (i32.add (local.get $cr) (i32.shl (local.get $k) (i32.const 2))))))
                      (local.set $k (i32.add (local.get $k) (i32.const 4)))
                      (br $avl)))))
                (block $as (loop $asl
                  (br_if $as (i32.ge_s (local.get $k) (local.get $run)))
                  (local.set $src (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $k) (local.get $sw)) (i32.const 2))))
                  (f32.store (local.get $src) (f32.add (f32.load (local.get $src)) (f32.load (i32.add (local.get $cr) (i32.shl (local.get $k) (i32.const 2))))))
                  (local.set $k (i32.add (local.get $k) (i32.const 1)))
                  (br $asl)))))`,
      `(local.set $c (i32.add (local.get $c) (i32.shl (i32.mul (local.get $ho) (local.get $wo)) (i32.const 2))))`,
    )}
  )`;

// Max pooling's kernels along one axis of (outer, n, inner), float32, in the reference kernels' order
// (src/core/backends/js/reduce.ts and layout.ts), so results are identical: argmax over each window's
// taps, gather of the maxima, scatterAdd of their gradient. Indices are checked first (check_indices):
// the gather and scatter loops trust them.
const INDEXING = `
  ;; the position of the first index not in [0, n), or -1
  (func (export "check_indices") (param $idx i32) (param $m i32) (param $n i32) (result i32)
    (local $k i32)
    (block $e (loop $l
      (br_if $e (i32.ge_u (local.get $k) (local.get $m)))
      (if (i32.ge_u (i32.load (i32.add (local.get $idx) (i32.shl (local.get $k) (i32.const 2)))) (local.get $n)) (then (return (local.get $k))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $l)))
    (i32.const -1)
  )

  ;; o[a, k] = the first m of the largest x[a, m, k] (the first NaN where there is one), as a float, for
  ;; count blocks; four columns k at a time, a running best per lane as the reference's loop keeps one
  (func (export "argmax_f32") (param $x i32) (param $o i32) (param $count i32) (param $n i32) (param $inner i32)
    (local $a i32) (local $k i32) (local $m i32) (local $p i32) (local $ib i32) (local $n4 i32)
    (local $bv v128) (local $bi v128) (local $v v128) (local $t v128) (local $sb f32) (local $si f32) (local $s f32)
    (local.set $ib (i32.shl (local.get $inner) (i32.const 2)))
    (local.set $n4 (i32.and (local.get $inner) (i32.const -4)))
    (block $ae (loop $al
      (br_if $ae (i32.ge_u (local.get $a) (local.get $count)))
      (local.set $k (i32.const 0))
      (block $ve (loop $vl
        (br_if $ve (i32.ge_u (local.get $k) (local.get $n4)))
        (local.set $p (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $bv (v128.load (local.get $p)))
        (local.set $bi ${f4(0)})
        (local.set $m (i32.const 1))
        (block $me (loop $ml
          (br_if $me (i32.ge_u (local.get $m) (local.get $n)))
          (local.set $p (i32.add (local.get $p) (local.get $ib)))
          (local.set $v (v128.load (local.get $p)))
          ;; take v where the best is not yet NaN and v is larger or NaN
          (local.set $t (v128.and (f32x4.eq (local.get $bv) (local.get $bv)) (v128.or (f32x4.gt (local.get $v) (local.get $bv)) (f32x4.ne (local.get $v) (local.get $v)))))
          (local.set $bv (v128.bitselect (local.get $v) (local.get $bv) (local.get $t)))
          (local.set $bi (v128.bitselect (f32x4.splat (f32.convert_i32_u (local.get $m))) (local.get $bi) (local.get $t)))
          (local.set $m (i32.add (local.get $m) (i32.const 1)))
          (br $ml)))
        (v128.store (i32.add (local.get $o) (i32.shl (local.get $k) (i32.const 2))) (local.get $bi))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $vl)))
      (block $se (loop $sl
        (br_if $se (i32.ge_u (local.get $k) (local.get $inner)))
        (local.set $p (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $sb (f32.load (local.get $p)))
        (local.set $si (f32.const 0))
        (local.set $m (i32.const 1))
        (block $me (loop $ml
          (br_if $me (i32.or (i32.ge_u (local.get $m) (local.get $n)) (f32.ne (local.get $sb) (local.get $sb))))
          (local.set $p (i32.add (local.get $p) (local.get $ib)))
          (local.set $s (f32.load (local.get $p)))
          (if (i32.or (f32.gt (local.get $s) (local.get $sb)) (f32.ne (local.get $s) (local.get $s)))
            (then
              (local.set $sb (local.get $s))
              (local.set $si (f32.convert_i32_u (local.get $m)))))
          (local.set $m (i32.add (local.get $m) (i32.const 1)))
          (br $ml)))
        (f32.store (i32.add (local.get $o) (i32.shl (local.get $k) (i32.const 2))) (local.get $si))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $sl)))
      (local.set $x (i32.add (local.get $x) (i32.mul (local.get $ib) (local.get $n))))
      (local.set $o (i32.add (local.get $o) (local.get $ib)))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br $al)))
  )

  ;; o[a, k, :] = x[a, idx[k], :] for k in [k0, k1) of every block a (x is (outer, n, inner), o (outer, m, inner))
  (func (export "gather_f32") (param $x i32) (param $o i32) (param $idx i32) (param $outer i32) (param $n i32) (param $m i32) (param $inner i32) (param $k0 i32) (param $k1 i32)
    (local $a i32) (local $k i32) (local $ib i32) (local $src i32) (local $dst i32)
    (local.set $ib (i32.shl (local.get $inner) (i32.const 2)))
    (block $ae (loop $al
      (br_if $ae (i32.ge_u (local.get $a) (local.get $outer)))
      (local.set $k (local.get $k0))
      (block $ke (loop $kl
        (br_if $ke (i32.ge_u (local.get $k) (local.get $k1)))
        (local.set $src (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (local.get $a) (local.get $n)) (i32.load (i32.add (local.get $idx) (i32.shl (local.get $k) (i32.const 2))))) (local.get $ib))))
        (local.set $dst (i32.add (local.get $o) (i32.mul (i32.add (i32.mul (local.get $a) (local.get $m)) (local.get $k)) (local.get $ib))))
        (if (i32.eq (local.get $inner) (i32.const 1))
          (then (f32.store (local.get $dst) (f32.load (local.get $src))))
          (else (memory.copy (local.get $dst) (local.get $src) (local.get $ib))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $kl)))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br $al)))
  )

  ;; o (count, n, inner) = zeros, then o[a, idx[k], :] += x[a, k, :] for k in order (x is (count, m, inner));
  ;; four lanes of a row at a time, which adds each element in the same order
  (func (export "scatter_add_f32") (param $x i32) (param $o i32) (param $idx i32) (param $count i32) (param $n i32) (param $m i32) (param $inner i32)
    (local $a i32) (local $k i32) (local $j i32) (local $ib i32) (local $ib4 i32) (local $src i32) (local $dst i32)
    (local.set $ib (i32.shl (local.get $inner) (i32.const 2)))
    (local.set $ib4 (i32.and (local.get $ib) (i32.const -16)))
    (memory.fill (local.get $o) (i32.const 0) (i32.mul (i32.mul (local.get $count) (local.get $n)) (local.get $ib)))
    (block $ae (loop $al
      (br_if $ae (i32.ge_u (local.get $a) (local.get $count)))
      (local.set $k (i32.const 0))
      (block $ke (loop $kl
        (br_if $ke (i32.ge_u (local.get $k) (local.get $m)))
        (local.set $dst (i32.add (local.get $o) (i32.mul (i32.load (i32.add (local.get $idx) (i32.shl (local.get $k) (i32.const 2)))) (local.get $ib))))
        (local.set $src (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $ib))))
        (if (i32.eq (local.get $inner) (i32.const 1))
          (then (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src)))))
          (else
            (local.set $j (i32.const 0))
            (block $ve (loop $vl
              (br_if $ve (i32.ge_u (local.get $j) (local.get $ib4)))
              (v128.store (i32.add (local.get $dst) (local.get $j)) (f32x4.add (v128.load (i32.add (local.get $dst) (local.get $j))) (v128.load (i32.add (local.get $src) (local.get $j)))))
              (local.set $j (i32.add (local.get $j) (i32.const 16)))
              (br $vl)))
            (block $se (loop $sl
              (br_if $se (i32.ge_u (local.get $j) (local.get $ib)))
              (f32.store (i32.add (local.get $dst) (local.get $j)) (f32.add (f32.load (i32.add (local.get $dst) (local.get $j))) (f32.load (i32.add (local.get $src) (local.get $j)))))
              (local.set $j (i32.add (local.get $j) (i32.const 4)))
              (br $sl)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $kl)))
      (local.set $x (i32.add (local.get $x) (i32.mul (local.get $m) (local.get $ib))))
      (local.set $o (i32.add (local.get $o) (i32.mul (local.get $n) (local.get $ib))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br $al)))
  )`;
