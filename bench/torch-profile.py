"""PyTorch's profile of the benchmark's MLP step (784-256-10, batch 128, SGD) or CNN step (bench/cnn.ts),
for bench/profile.ts: its CPU time by op (self time, so nested ops are not counted twice) per step.
Usage: python3 torch-profile.py [steps] [mlp|cnn]"""
import os, sys, time
import torch
from torch.profiler import ProfilerActivity, profile

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 500
cnn = len(sys.argv) > 2 and sys.argv[2] == "cnn"
# As in peers.py: one thread per core this process may use.
torch.set_num_threads(len(os.sched_getaffinity(0)))
torch.manual_seed(0)
if cnn:
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1568, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(64, 1, 28, 28); y = torch.randint(0, 10, (64,))
else:
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(128, 784); y = torch.randint(0, 10, (128,))

def step():
    opt.zero_grad(); loss = torch.nn.functional.cross_entropy(model(x), y); loss.backward(); opt.step()

for _ in range(50 if cnn else 1000):  # as in the timed benchmark
    step()
t = time.perf_counter()
for _ in range(steps):
    step()
step_us = (time.perf_counter() - t) / steps * 1e6
with profile(activities=[ProfilerActivity.CPU]) as prof:
    for _ in range(steps):
        step()
rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
print(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads): {step_us:.0f} us a step ({1e6 / step_us:.0f} steps/s) unprofiled; self CPU time by op under the profiler:")
for e in rows[:20]:
    us = e.self_cpu_time_total / steps
    print(f"  {e.key[:40]:40} {us:8.1f} us {100 * us / step_us:5.1f}%  {e.count / steps:.1f} calls")
