"""PyTorch CPU's steps per second on bench/cnn.ts's network and batch, for bench/run.ts: conv 1->16 3x3
pad 1, ReLU, max pool 2, conv 16->32 3x3 pad 1, ReLU, max pool 2, flatten, linear 1568->10, cross-entropy,
SGD lr 0.01, 64 images of 28x28. Printed as one JSON object.
Usage: python3 torch-cnn.py THREADS ROUNDS WARMUP_STEPS WARMUP_SECONDS"""
import json, sys, time
import torch

threads, rounds, warmup, warmup_seconds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
# As many intra-op threads as backprop's pool has (bench/run.ts passes that count).
torch.set_num_threads(threads)
torch.manual_seed(0)
nn = torch.nn
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.randn(64, 1, 28, 28)
y = torch.randint(0, 10, (64,))

def step():
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()

until = time.perf_counter() + warmup_seconds
for _ in range(warmup):
    step()
    if time.perf_counter() > until:
        break
times = []
for _ in range(rounds):
    t = time.perf_counter()
    for _ in range(3):  # three steps a round, as bench/isolated.ts times ours
        step()
    times.append((time.perf_counter() - t) / 3)
times.sort()
print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(), "mkldnn": torch.backends.mkldnn.is_available(), "stepsPerSecond": 1 / times[len(times) // 2]}))
