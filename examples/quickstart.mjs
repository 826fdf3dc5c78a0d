// The README's example: run with `npm run demo` after `npm ci`.
import * as bp from "backprop";

// 1. The course's first graph: f(x, y, z) = (x + y) z at x = 1, y = 3, z = 2.
const x = bp.tensor(1, { requiresGrad: true });
const y = bp.tensor(3, { requiresGrad: true });
const z = bp.tensor(2, { requiresGrad: true });
const f = x.add(y).mul(z);
f.backward();
console.log(`f = ${f.item()}, df/dx = ${x.grad.item()}, df/dy = ${y.grad.item()}, df/dz = ${z.grad.item()}`);

// 2. JAX style: derivatives are functions, and can be differentiated again.
const sigmoid = (t) => t.sigmoid();
const dsig = bp.grad(sigmoid);
const d2sig = bp.grad(dsig);
console.log(`sigmoid'(2) = ${dsig(2).item().toFixed(6)}, sigmoid''(2) = ${d2sig(2).item().toFixed(6)}`);
console.log(`one descent step from x = 2 with step 0.2: x = ${(2 - 0.2 * dsig(2).item()).toFixed(4)}`);

// 3. Vectors and matrices without Jacobians: f(W, x) = ||W x||^2.
const W = bp.tensor(
  [
    [0.1, 0.5],
    [-0.3, 0.8],
  ],
  { dtype: "float64" },
);
const v = bp.tensor([0.2, 0.4], { dtype: "float64" });
const [fw, [gW, gx]] = bp.valueAndGrad((w, u) => bp.matmul(w, u).square().sum(), [0, 1])(W, v);
console.log(`||Wx||^2 = ${fw.item().toFixed(4)}, dW = ${JSON.stringify(gW.toArray())}, dx = ${JSON.stringify(gx.toArray())}`);

// 4. Train a 2-4-1 network on XOR: weights -= step_size * gradient.
const rng = new bp.Rng(0);
const X = bp.tensor([
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
]);
const T = bp.tensor([[0], [1], [1], [0]]);
const params = [
  bp.randn([2, 4], { rng, requiresGrad: true }),
  bp.zeros([4], { requiresGrad: true }),
  bp.randn([4, 1], { rng, requiresGrad: true }),
  bp.zeros([1], { requiresGrad: true }),
];
const [W1, b1, W2, b2] = params;
for (let step = 0; step <= 2000; step++) {
  const h = bp.matmul(X, W1).add(b1).tanh();
  const p = bp.matmul(h, W2).add(b2).sigmoid();
  const loss = bp.mse(p, T);
  bp.zeroGrad(params);
  loss.backward();
  bp.noGrad(() => {
    for (const w of params) w.data.set(w.sub(w.grad.mul(2)).data);
  });
  if (step % 500 === 0)
    console.log(`step ${String(step).padStart(4)}  loss ${loss.item().toFixed(5)}  predictions ${Array.from(p.data, (q) => q.toFixed(2)).join(" ")}`);
}

// 5. Shapes follow NumPy, and errors name the op and both shapes.
console.log(`(2,5,4) @ (3,2,4,8) -> ${bp.formatShape(bp.matmulShape([2, 5, 4], [3, 2, 4, 8]))}`);
try {
  bp.add(bp.zeros([6, 5, 3]), bp.zeros([6, 5]));
} catch (e) {
  console.log(e.message);
}
