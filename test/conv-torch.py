"""PyTorch's side of test/conv.test.ts: reads a JSON list of cases on stdin, runs each op in torch with
the same inputs, backpropagates the given cotangent, and writes outputs and gradients as JSON."""
import json
import sys

import torch
import torch.nn.functional as F

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def tensor(spec, dtype):
    return torch.tensor(spec["data"], dtype=dtype).reshape(spec["shape"]).requires_grad_(True)


def run(case):
    dtype = DTYPES[case["dtype"]]
    ins = {k: tensor(v, dtype) for k, v in case["inputs"].items()}
    a = case["args"]
    op = case["op"]
    indices = None
    if op == "conv2d":
        out = F.conv2d(ins["x"], ins["w"], ins.get("b"), stride=a["stride"], padding=a["padding"], dilation=a["dilation"], groups=a["groups"])
    elif op == "convTranspose2d":
        out = F.conv_transpose2d(
            ins["x"], ins["w"], ins.get("b"), stride=a["stride"], padding=a["padding"], output_padding=a["outputPadding"], groups=a["groups"], dilation=a["dilation"]
        )
    elif op == "maxPool2d":
        out, indices = F.max_pool2d(
            ins["x"], a["kernelSize"], stride=a["stride"], padding=a["padding"], dilation=a["dilation"], ceil_mode=a["ceilMode"], return_indices=True
        )
    elif op == "avgPool2d":
        out = F.avg_pool2d(ins["x"], a["kernelSize"], stride=a["stride"], padding=a["padding"], ceil_mode=a["ceilMode"], count_include_pad=a["countIncludePad"], divisor_override=a.get("divisorOverride"))
    elif op == "adaptiveAvgPool2d":
        out = F.adaptive_avg_pool2d(ins["x"], a["size"])
    elif op == "unfold":
        out = F.unfold(ins["x"], a["kernelSize"], dilation=a["dilation"], padding=a["padding"], stride=a["stride"])
    else:
        raise ValueError(op)
    ct = torch.tensor(case["ct"]["data"], dtype=dtype).reshape(case["ct"]["shape"])
    out.backward(ct)
    result = {
        "shape": list(out.shape),
        "out": out.detach().flatten().tolist(),
        "grads": {k: v.grad.flatten().tolist() for k, v in ins.items()},
    }
    if indices is not None:
        result["indices"] = indices.flatten().tolist()
    return result


def safe(case):
    # One failing case (a shape the TS side got wrong) must not hide the others' results.
    try:
        return run(case)
    except Exception as e:  # noqa: BLE001
        return {"error": f"{type(e).__name__}: {e}"}


json.dump([safe(c) for c in json.load(sys.stdin)], sys.stdout)
