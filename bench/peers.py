"""Peer timings for backprop's benchmark: NumPy (and PyTorch when installed), printed as one JSON object.
Run by bench/run.ts in the same session so that ratios compare like with like."""
import json, sys, time

def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]

def timeit(fn, rounds, inner=1, warmup=1):
    # At most `warmup` calls or cfg's warmupSeconds, as bench/isolated.ts warms up the JavaScript libraries.
    until = time.perf_counter() + cfg.get("warmupSeconds", 10)
    for _ in range(warmup):
        fn()
        if time.perf_counter() > until:
            break
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        out.append((time.perf_counter() - t) / inner)
    return median(out)

cfg = json.loads(sys.argv[1])
rounds = cfg["rounds"]
result = {}
try:
    import numpy as np
    rng = np.random.default_rng(0)
    mm = {}
    for n, calls in zip(cfg["matmul"], cfg["productsPerRound"]):
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        t = timeit(lambda: a @ b, rounds, calls)
        mm[str(n)] = 2 * n**3 / t / 1e9
    ew = {}
    ex = {}
    for n in cfg["elementwise"]:
        a = rng.standard_normal(n, dtype=np.float32)
        b = rng.standard_normal(n, dtype=np.float32)
        t = timeit(lambda: a + b, rounds, max(1, int(2e7 / n)))
        ew[str(n)] = n / t / 1e9
        t = timeit(lambda: np.exp(a), rounds, max(1, int(2e7 / n)))
        ex[str(n)] = n / t / 1e9
    # MLP 784-256-10, batch 128, SGD, backprop written by hand in NumPy.
    x = rng.standard_normal((128, 784), dtype=np.float32)
    y = rng.integers(0, 10, 128)
    w1 = (rng.standard_normal((784, 256)) * 0.05).astype(np.float32); b1 = np.zeros(256, np.float32)
    w2 = (rng.standard_normal((256, 10)) * 0.05).astype(np.float32); b2 = np.zeros(10, np.float32)
    def step():
        global w1, b1, w2, b2
        h = x @ w1 + b1; a = np.maximum(h, 0); z = a @ w2 + b2
        z = z - z.max(1, keepdims=True); p = np.exp(z); p /= p.sum(1, keepdims=True)
        d = p; d[np.arange(128), y] -= 1; d /= 128
        gw2 = a.T @ d; gb2 = d.sum(0); da = d @ w2.T; da[h <= 0] = 0
        gw1 = x.T @ da; gb1 = da.sum(0)
        w1 -= 0.1 * gw1; b1 -= 0.1 * gb1; w2 -= 0.1 * gw2; b2 -= 0.1 * gb2
    t = timeit(step, rounds, 20, cfg.get("mlpWarmup", 1))
    result["numpy"] = {"version": np.__version__, "matmul": mm, "elementwise": ew, "exp": ex, "mlpStepsPerSecond": 1 / t}
    try:
        from threadpoolctl import threadpool_info
        result["numpy"]["blas"] = [{k: i.get(k) for k in ("internal_api", "num_threads", "architecture")} for i in threadpool_info()]
    except Exception:
        pass
except ImportError:
    result["numpy"] = None
try:
    import os, torch
    # One intra-op thread per core this process may use, as backprop's pool has: PyTorch's default
    # counts the machine's cores, which under `taskset` oversubscribes the allowed ones.
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    mm = {}
    for n, calls in zip(cfg["matmul"], cfg["productsPerRound"]):
        a = torch.randn(n, n); b = torch.randn(n, n)
        t = timeit(lambda: a @ b, rounds, calls)
        mm[str(n)] = 2 * n**3 / t / 1e9
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(128, 784); y = torch.randint(0, 10, (128,))
    def tstep():
        opt.zero_grad(); loss = torch.nn.functional.cross_entropy(model(x), y); loss.backward(); opt.step()
    t = timeit(tstep, rounds, 20, cfg.get("mlpWarmup", 1))
    result["pytorch"] = {"version": torch.__version__, "threads": torch.get_num_threads(), "matmul": mm, "mlpStepsPerSecond": 1 / t}
except ImportError:
    result["pytorch"] = None
print(json.dumps(result))
