/**
 * The micrograd-style baseline: a scalar Value with closures for backward, as in Karpathy's engine.py.
 * Plain JavaScript on purpose: tsx compiles TypeScript with esbuild's keepNames, which wraps the
 * closure made for every Value in a defineProperty call and made this baseline twice as slow.
 */

class Value {
  grad = 0;
  backwardFn = () => {};
  /** @param {number} data @param {Value[]} parents */
  constructor(data, parents = []) {
    this.data = data;
    this.parents = parents;
  }

  /** @param {number} k */
  mul(k) {
    const out = new Value(this.data * k, [this]);
    out.backwardFn = () => {
      this.grad += k * out.grad;
    };
    return out;
  }

  /** @param {number} k */
  add(k) {
    const out = new Value(this.data + k, [this]);
    out.backwardFn = () => {
      this.grad += out.grad;
    };
    return out;
  }

  backward() {
    // Topological order, iteratively (a recursive one overflows on long chains).
    const order = [];
    const seen = new Set();
    /** @type {[Value, boolean][]} */
    const stack = [[this, false]];
    while (stack.length) {
      const [v, done] = stack.pop();
      if (done) {
        order.push(v);
        continue;
      }
      if (seen.has(v)) continue;
      seen.add(v);
      stack.push([v, true]);
      for (const p of v.parents) if (!seen.has(p)) stack.push([p, false]);
    }
    this.grad = 1;
    for (let i = order.length - 1; i >= 0; i--) order[i].backwardFn();
  }
}

/**
 * The same chain as the backprop benchmark: `pairs` multiply-add pairs, forward and backward.
 * @param {number} pairs
 * @returns {number}
 */
export function microChain(pairs) {
  const x = new Value(0.5);
  let t = x;
  for (let i = 0; i < pairs; i++) t = t.mul(1.0000001).add(1e-7);
  t.backward();
  return x.grad;
}
