/**
 * PyTorch code for a backprop MLP: model.py (the same network as an nn.Module, reading our weights from
 * safetensors), train.py (the same loss, optimizer and hyper-parameters; one process, or
 * DistributedDataParallel under torchrun) and a README. Only text is made here: the library never runs
 * Python. Every value put into the code is a checked number or a JSON literal (which Python reads as
 * the same string or list), never text spliced in as code.
 */
import { ACTIVATIONS, type Activation } from "../nn/layers.js";
import type { TrainingSettings } from "../nn/saved-model.js";

/** The hyper-parameters train.py uses: those a checkpoint records. */
export type PytorchTraining = TrainingSettings;

/** The digits CNN (src/nn/cnn.ts) instead of an MLP: 3x3 convolutions (padding 1), ReLU and 2x2 max pooling per entry of channels. */
export interface PytorchCnn {
  image: [number, number, number];
  channels: number[];
  hidden: number[];
}

export interface PytorchSpec {
  /** An MLP's layer sizes; for a CNN [inputs, outputs] (the flat image size and the classes). */
  sizes: number[];
  cnn?: PytorchCnn;
  activation: Activation;
  classes: string[];
  /** Standardization applied to raw inputs before the first layer: (x - mean) / std per feature. */
  preprocess?: { mean: number[]; std: number[] };
  training: PytorchTraining;
  /** Where the hyper-parameters came from, for the comment in train.py ("the checkpoint", "backprop train's defaults"). */
  trainingSource: string;
  /** A short description of the source (the checkpoint's file name), put in comments only. */
  source: string;
  /** The data files written next to the code, for the README ("x.npy: 120 x 4, ..."). */
  files: { name: string; what: string }[];
  /** Whether init.safetensors (the weights backprop's training started from) and order.npy are written. */
  hasInit: boolean;
  hasOrder: boolean;
}

/** The file the weights are in, in PyTorch's layout. */
export const WEIGHTS_FILE = "model.safetensors";

const TORCH_ACTIVATION: Record<Activation, string> = {
  relu: "nn.ReLU()",
  leakyrelu: "nn.LeakyReLU(0.01)",
  sigmoid: "nn.Sigmoid()",
  tanh: "nn.Tanh()",
};

/** A finite number as a Python literal (JavaScript's shortest round-trip form is valid Python). */
function num(x: number, what: string): string {
  if (!Number.isFinite(x)) throw new Error(`PyTorch export: ${what} must be a finite number, got ${x}`);
  return String(x);
}

/** One line of text for a comment: no line breaks can end the comment early. */
const commentSafe = (s: string): string => s.replace(/[\r\n\u2028\u2029]+/g, " ");

export function checkSpec(spec: PytorchSpec): void {
  const { sizes, preprocess, training: t } = spec;
  if (sizes.length < 2 || !sizes.every((n) => Number.isSafeInteger(n) && n > 0)) throw new Error(`PyTorch export: bad layer sizes [${sizes.join(", ")}]`);
  if (!(ACTIVATIONS as readonly string[]).includes(spec.activation)) throw new Error(`PyTorch export: unknown activation ${JSON.stringify(spec.activation)}`);
  if (spec.classes.length !== sizes[sizes.length - 1])
    throw new Error(`PyTorch export: ${spec.classes.length} class names for ${sizes[sizes.length - 1]} outputs`);
  if (preprocess) {
    if (preprocess.mean.length !== sizes[0] || preprocess.std.length !== sizes[0])
      throw new Error(`PyTorch export: the standardization has ${preprocess.mean.length} means and ${preprocess.std.length} deviations for ${sizes[0]} inputs`);
    preprocess.mean.forEach((m, i) => num(m, `mean ${i}`));
    preprocess.std.forEach((s, i) => {
      if (!(s > 0 && Number.isFinite(s))) throw new Error(`PyTorch export: standard deviation ${i} must be positive, got ${s}`);
    });
  }
  if (t.optimizer !== "sgd" && t.optimizer !== "adam") throw new Error(`PyTorch export: optimizer must be sgd or adam, got ${JSON.stringify(t.optimizer)}`);
  if (!(Number.isFinite(t.lr) && t.lr > 0) || !(t.momentum >= 0 && t.momentum < 1))
    throw new Error(`PyTorch export: bad learning rate ${t.lr} or momentum ${t.momentum}`);
  for (const k of ["batch", "epochs"] as const)
    if (!(Number.isSafeInteger(t[k]) && t[k] > 0)) throw new Error(`PyTorch export: ${k} must be a positive integer`);
  if (!(Number.isSafeInteger(t.seed) && t.seed >= 0)) throw new Error("PyTorch export: seed must be a non-negative integer");
  if (t.lrDecay !== undefined && t.lrDecay !== "linear") throw new Error(`PyTorch export: lrDecay must be "linear" or absent`);
  if (t.shift !== undefined && !(Number.isSafeInteger(t.shift) && t.shift >= 0)) throw new Error("PyTorch export: shift must be a non-negative integer");
  const c = spec.cnn;
  if (c) {
    const ints = (xs: unknown) => Array.isArray(xs) && xs.every((n) => Number.isSafeInteger(n) && n > 0);
    if (!ints(c.image) || c.image.length !== 3 || !ints(c.channels) || c.channels.length === 0 || !ints(c.hidden))
      throw new Error("PyTorch export: the CNN needs an image [C, H, W], channels and hidden sizes as positive integers");
    if (sizes.length !== 2 || sizes[0] !== c.image[0] * c.image[1] * c.image[2])
      throw new Error("PyTorch export: a CNN's sizes are [its flat input, its classes]");
  }
}

/** The nn.Sequential lines of the network, commented with the state dict names they make (as backprop's). */
function layerLines(spec: PytorchSpec): string[] {
  const layers: string[] = [];
  const c = spec.cnn;
  if (!c) {
    const sizes = spec.sizes;
    for (let i = 0; i + 1 < sizes.length; i++) {
      layers.push(`nn.Linear(${sizes[i]}, ${sizes[i + 1]}),  # layers.${2 * i}: weight (${sizes[i + 1]}, ${sizes[i]}), bias (${sizes[i + 1]},)`);
      if (i + 2 < sizes.length) layers.push(`${TORCH_ACTIVATION[spec.activation]},`);
    }
    return layers;
  }
  layers.push(`nn.Unflatten(1, (${c.image.join(", ")})),  # layers.0: flat rows to images`);
  let [ch, h, w] = c.image;
  for (const o of c.channels) {
    layers.push(`nn.Conv2d(${ch}, ${o}, 3, padding=1),  # layers.${layers.length}: weight (${o}, ${ch}, 3, 3), bias (${o},)`);
    layers.push("nn.ReLU(),", "nn.MaxPool2d(2),");
    [ch, h, w] = [o, Math.floor(h / 2), Math.floor(w / 2)];
  }
  layers.push("nn.Flatten(),");
  const widths = [ch * h * w, ...c.hidden, spec.sizes[1]];
  for (let i = 0; i + 1 < widths.length; i++) {
    layers.push(`nn.Linear(${widths[i]}, ${widths[i + 1]}),  # layers.${layers.length}: weight (${widths[i + 1]}, ${widths[i]}), bias (${widths[i + 1]},)`);
    if (i + 2 < widths.length) layers.push("nn.ReLU(),");
  }
  return layers;
}

/** "784-128-10" or "CNN 16-32 (1x28x28 -> 10)", as backprop names them. */
function networkName(spec: PytorchSpec): string {
  const c = spec.cnn;
  if (!c) return spec.sizes.join("-");
  return `CNN ${c.channels.join("-")}${c.hidden.length > 0 ? `, hidden ${c.hidden.join("-")}` : ""} (${c.image.join("x")} -> ${spec.sizes[1]})`;
}

/** model.py: the network, a safetensors reader and writer in plain Python, and a command that predicts. */
export function modelPy(spec: PytorchSpec): string {
  checkSpec(spec);
  const { sizes, preprocess } = spec;
  const layers = layerLines(spec).map((l) => `            ${l}`);
  return `# The ${networkName(spec)} network of ${commentSafe(spec.source)}, exported by backprop as a PyTorch nn.Module.
# Raw features in, logits out: the same function as backprop's model${preprocess ? " with its standardization" : ""}.
#
# Weights: ${WEIGHTS_FILE}, a safetensors file in PyTorch's layout (nn.Linear's weight is (out, in); backprop's
# own is (in, out); nn.Conv2d's (out, in, kh, kw) is the same in both), loaded with model.load_state_dict. It is read below with json + struct + torch.frombuffer
# because Debian's torch 1.13 comes without the safetensors package; where that package is installed,
# safetensors.torch.load_file("${WEIGHTS_FILE}") returns the same tensors.
import json
import os
import struct
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHTS = os.path.join(HERE, ${JSON.stringify(WEIGHTS_FILE)})

SIZES = ${JSON.stringify(sizes)}
ACTIVATION = ${JSON.stringify(spec.cnn ? "relu" : spec.activation)}
CLASSES = ${JSON.stringify(spec.classes)}
${
  preprocess
    ? `# backprop's training standardized each feature with the training split's mean and standard deviation.
MEAN = [${preprocess.mean.map((m, i) => num(m, `mean ${i}`)).join(", ")}]
STD = [${preprocess.std.map((s, i) => num(s, `std ${i}`)).join(", ")}]`
    : "MEAN = None  # the network takes the features as they are\nSTD = None"
}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
${layers.join("\n")}
        )
        # Not part of the state dict (persistent=False): fixed by the export, not trained.
        if MEAN is not None:
            self.register_buffer("mean", torch.tensor(MEAN, dtype=torch.float64), persistent=False)
            self.register_buffer("std", torch.tensor(STD, dtype=torch.float64), persistent=False)

    def forward(self, x):
        if MEAN is not None:
            # In float64 and then rounded to float32, as backprop standardizes.
            x = ((x.double() - self.mean) / self.std).float()
        return self.layers(x)


_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64,
    "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def load_safetensors(path):
    """(tensors by name, metadata) of a safetensors file (little-endian data, as on x86 and ARM)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > 100_000_000 or 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} does not fit the file ({len(data)} bytes)")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    buf = bytearray(data[8 + n :])  # writable, so torch.frombuffer does not warn
    tensors, end = {}, 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, stop = e["data_offsets"]
        dtype = _DTYPES[e["dtype"]]
        count = 1
        for d in e["shape"]:
            count *= d
        if begin != end or stop - begin != count * torch.empty((), dtype=dtype).element_size():
            raise ValueError(f"{path}: tensor {name!r} has bad data_offsets {e['data_offsets']}")
        end = stop
        t = torch.frombuffer(buf, dtype=dtype, count=count, offset=begin) if count else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(e["shape"]).clone()
    if end != len(buf):
        raise ValueError(f"{path}: {len(buf) - end} bytes after the last tensor")
    return tensors, metadata


def save_safetensors(path, tensors, metadata=None):
    """Writes tensors (a dict name -> tensor) as a safetensors file, atomically (temporary file, then rename)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        b = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-(8 + len(h)) % 8)  # the data starts 8-byte aligned
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_model(path=WEIGHTS):
    tensors, _ = load_safetensors(path)
    model = Model()
    model.load_state_dict(tensors)
    return model.eval()


def predict_proba(model, x):
    """Class probabilities (softmax of the logits) for raw features x of shape (N, ${sizes[0]})."""
    with torch.no_grad():
        return torch.softmax(model(torch.as_tensor(x, dtype=torch.float32)), dim=-1)


if __name__ == "__main__":
    # python model.py FEATURES.npy [WEIGHTS]: the predicted class of each row.
    import numpy as np

    if len(sys.argv) < 2:
        sys.exit("usage: python model.py FEATURES.npy [WEIGHTS.safetensors]")
    model = load_model(sys.argv[2] if len(sys.argv) > 2 else WEIGHTS)
    p = predict_proba(model, np.load(sys.argv[1]))
    for row in p:
        k = int(row.argmax())
        print(f"{CLASSES[k]}\\t{float(row[k]):.4f}")
`;
}

/** train.py: the same training as backprop's, in one process or many (torchrun). */
export function trainPy(spec: PytorchSpec): string {
  checkSpec(spec);
  const t = spec.training;
  return `# Trains model.py's network as backprop trained it: softmax cross-entropy (mean over the batch), the same
# optimizer, learning rate, batch size and epochs, the same initial weights and example order when
# init.safetensors and order.npy are here (the export re-creates them from the seed).
#
#   python3 train.py                                  # one process
#   torchrun --nproc_per_node=4 train.py              # DistributedDataParallel: 4 processes on this machine
#   torchrun --nnodes=2 --node_rank=R --master_addr=HOST --master_port=29500 --nproc_per_node=8 train.py
# (Debian 12's torch 1.13 under Python 3.11 needs "torchrun --redirects 1 --tee 1 ...": it misreads its default.)
#
# Under torchrun each global batch (the order one process would take) is split across the processes,
# and the loss is scaled so that DDP's averaged gradient equals the single process's: the same steps,
# up to float rounding. Gradients travel over gloo on CPUs and nccl on GPUs.
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import SIZES, Model, load_safetensors, save_safetensors  # noqa: E402

# The hyper-parameters (${commentSafe(spec.trainingSource)}). torch.optim.SGD with dampening 0 and
# torch.optim.Adam compute the same updates as backprop's SGD (v = momentum v + g, w -= lr v) and Adam.
OPTIMIZER = ${JSON.stringify(t.optimizer)}
LR = ${num(t.lr, "lr")}
MOMENTUM = ${num(t.momentum, "momentum")}
BATCH = ${t.batch}
EPOCHS = ${t.epochs}
SEED = ${t.seed}
# backprop train's --lr-decay linear: after step k of K, lr = LR * (1 - k / K).
LR_DECAY = ${JSON.stringify(t.lrDecay ?? "none")}
# backprop train's --shift: each training image moved by a random -SHIFT..SHIFT pixels per axis, zero filled
# (drawn here with torch's generator, so not the same draws as backprop's).
SHIFT = ${t.shift ?? 0}
IMAGE = ${spec.cnn ? JSON.stringify(spec.cnn.image) : "None"}


def here(name):
    path = os.path.join(HERE, name)
    return path if os.path.exists(path) else ""


def shifted(x, shift, generator):
    """Each row of x (N, C*H*W) as an image moved by its own random (dy, dx) in -shift..shift, zero filled."""
    c, h, w = IMAGE
    img = x.reshape(-1, c, h, w)
    padded = torch.nn.functional.pad(img, (shift, shift, shift, shift))
    out = torch.empty_like(img)
    d = torch.randint(0, 2 * shift + 1, (len(img), 2), generator=generator)
    for i in range(len(img)):
        # A move by (dy, dx) reads the padded image from (shift - dy, shift - dx).
        dy, dx = int(d[i, 0]) - shift, int(d[i, 1]) - shift
        out[i] = padded[i, :, shift - dy : shift - dy + h, shift - dx : shift - dx + w]
    return out.reshape(len(img), -1)


def arguments():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=os.path.join(HERE, "x.npy"), help="features, (N, %d) float, raw" % SIZES[0])
    p.add_argument("--labels", default=os.path.join(HERE, "y.npy"), help="class indices, (N,) integers")
    p.add_argument("--order", default=here("order.npy"), help="(epochs, N) example order per epoch; '' to shuffle with torch")
    p.add_argument("--init", default=here("init.safetensors"), help="starting weights; '' for PyTorch's initialization")
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--lr", type=float, default=LR)
    p.add_argument("--batch", type=int, default=BATCH)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default=OPTIMIZER)
    p.add_argument("--momentum", type=float, default=MOMENTUM)
    p.add_argument("--lr-decay", choices=["none", "linear"], default=LR_DECAY)
    p.add_argument("--shift", type=int, default=SHIFT)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--out", default=os.path.join(HERE, "trained.safetensors"), help="where the trained weights go")
    p.add_argument("--history", default="", help="write the per-epoch mean losses here as JSON")
    return p.parse_args()


def main():
    a = arguments()
    distributed = "WORLD_SIZE" in os.environ  # set by torchrun
    cuda = torch.cuda.is_available()
    if distributed:
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        local = int(os.environ.get("LOCAL_RANK", 0))
        if cuda and local >= torch.cuda.device_count():
            sys.exit(f"train.py: process {local} on this machine needs GPU {local}, there are {torch.cuda.device_count()}: "
                     "give --nproc_per_node at most that, or CUDA_VISIBLE_DEVICES= to train on CPUs")
        device = torch.device("cuda", local) if cuda else torch.device("cpu")
        if cuda:
            torch.cuda.set_device(device)
    else:
        rank, world = 0, 1
        device = torch.device("cuda" if cuda else "cpu")

    x = torch.from_numpy(np.load(a.data)).float()
    y = torch.from_numpy(np.load(a.labels)).long()
    n = len(y)
    if x.dim() != 2 or x.shape[1] != SIZES[0] or x.shape[0] != n:
        sys.exit(f"train.py: {a.data} must be (N, {SIZES[0]}) and {a.labels} (N,): got {tuple(x.shape)} and {tuple(y.shape)}")
    if n == 0 or int(y.min()) < 0 or int(y.max()) >= SIZES[-1]:
        sys.exit(f"train.py: the labels must be classes 0 to {SIZES[-1] - 1}")
    order = np.load(a.order) if a.order else None
    if order is not None and (order.ndim != 2 or order.shape[1] != n):
        sys.exit(f"train.py: {a.order} must be (epochs, {n}), got {order.shape}")

    torch.manual_seed(a.seed)  # PyTorch's initialization (when there is no --init) and the shuffles
    model = Model()
    if a.init:
        model.load_state_dict(load_safetensors(a.init)[0])
    model.to(device)
    x, y = x.to(device), y.to(device)
    net = DDP(model, device_ids=[device] if device.type == "cuda" else None) if distributed else model
    if a.optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    shuffle = torch.Generator().manual_seed(a.seed)  # the same on every process
    if a.shift > 0 and IMAGE is None:
        sys.exit("train.py: --shift moves images; this network takes features")
    total = a.epochs * ((n + a.batch - 1) // a.batch)
    step = 0

    history = []
    for epoch in range(1, a.epochs + 1):
        if order is not None and epoch <= len(order):
            perm = torch.from_numpy(order[epoch - 1]).long()
        else:
            perm = torch.randperm(n, generator=shuffle)
        net.train()
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for s in range(0, n, a.batch):
            batch = perm[s : s + a.batch]
            if a.shift > 0:
                # Drawn for the whole global batch on every process, so the processes agree.
                xb = shifted(x[batch.to(device)].cpu(), a.shift, shuffle).to(device)
                xs = torch.tensor_split(xb, world)[rank]
            else:
                xs = x[torch.tensor_split(batch, world)[rank].to(device)]
            mine = torch.tensor_split(batch, world)[rank].to(device)
            loss = F.cross_entropy(net(xs), y[mine], reduction="sum")
            opt.zero_grad()
            # DDP averages the processes' gradients; scaled so, the average is the gradient of the mean
            # loss over the whole global batch, whatever share of it each process had.
            (loss * (world / len(batch))).backward()
            opt.step()
            step += 1
            if a.lr_decay == "linear":
                for group in opt.param_groups:
                    group["lr"] = a.lr * max(0.0, 1 - step / total)
            loss_sum += loss.detach().double()
        if distributed:
            dist.all_reduce(loss_sum)
        mean = loss_sum.item() / n
        history.append(mean)
        if rank == 0:
            model.eval()
            with torch.no_grad():
                accuracy = (model(x).argmax(dim=1) == y).double().mean().item()
            print(f"epoch {epoch}/{a.epochs}  train loss {mean:.6f}  train acc {100 * accuracy:.2f}%  ({world} process{'es' if world > 1 else ''})", flush=True)

    if rank == 0:
        state = {k: v for k, v in model.state_dict().items()}
        save_safetensors(a.out, state, {"backprop.layout": "pytorch", "format": "pt"})
        print(f"saved {a.out}")
        if a.history:
            with open(a.history, "w") as f:
                json.dump({"loss": history, "processes": world}, f)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
`;
}

/** README.md of the exported folder. */
export function readmeMd(spec: PytorchSpec): string {
  checkSpec(spec);
  const t = spec.training;
  const files = spec.files.map((f) => `- \`${f.name}\`: ${f.what}`).join("\n");
  return `# ${networkName(spec)} network, exported by backprop for PyTorch

Exported from ${commentSafe(spec.source)}. Needs Python 3 with PyTorch (1.13 or later) and NumPy.

${files}

Predict: \`python3 model.py features.npy\` (raw features, one row per example), or in Python
\`from model import load_model, predict_proba\`.

Train (${t.optimizer}, lr ${t.lr}${t.lrDecay ? " decaying linearly to 0" : ""}${t.optimizer === "sgd" ? `, momentum ${t.momentum}` : ""}${t.shift ? `, images shifted by up to ${t.shift} px` : ""}, batch ${t.batch}, ${t.epochs} epochs; ${commentSafe(spec.trainingSource)}; flags such as \`--epochs\` override them):

    python3 train.py                                   # one process
    torchrun --nproc_per_node=N train.py               # N processes with DistributedDataParallel (gloo on CPU, nccl on GPUs)
    torchrun --nnodes=2 --node_rank=R --master_addr=HOST --master_port=29500 --nproc_per_node=N train.py   # on each of 2 machines

Each global batch is split across the processes, so N processes take the same steps as one.
On Debian 12 (torch 1.13 under Python 3.11) torchrun cannot read its own default \`--redirects 0\`: add
\`--redirects 1 --tee 1\` (rank 0's output is then shown with a \`[default0]:\` prefix).
${spec.hasInit && spec.hasOrder ? "With init.safetensors and order.npy the run starts from the same weights and visits the examples in the same order as backprop's training, so its losses match backprop's up to float rounding.\n" : ""}The trained weights go to \`trained.safetensors\` (same names and layout as \`${WEIGHTS_FILE}\`).
`;
}
