/** The micrograd-style baseline: a scalar Value with closures for backward, as in Karpathy's engine.py. */

class Value {
  grad = 0;
  backwardFn: () => void = () => {};
  constructor(
    public data: number,
    public readonly parents: Value[] = [],
  ) {}

  mul(k: number): Value {
    const out = new Value(this.data * k, [this]);
    out.backwardFn = () => {
      this.grad += k * out.grad;
    };
    return out;
  }

  add(k: number): Value {
    const out = new Value(this.data + k, [this]);
    out.backwardFn = () => {
      this.grad += out.grad;
    };
    return out;
  }

  backward(): void {
    // Topological order, iteratively (a recursive one overflows on long chains).
    const order: Value[] = [];
    const seen = new Set<Value>();
    const stack: [Value, boolean][] = [[this, false]];
    while (stack.length) {
      const [v, done] = stack.pop()!;
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

/** The same chain as the backprop benchmark: `pairs` multiply-add pairs, forward and backward. */
export function microChain(pairs: number): number {
  const x = new Value(0.5);
  let t = x;
  for (let i = 0; i < pairs; i++) t = t.mul(1.0000001).add(1e-7);
  t.backward();
  return x.grad;
}
