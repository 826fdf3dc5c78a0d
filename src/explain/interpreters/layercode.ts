/**
 * Code for the convolution, pooling and normalization stages: the forward line, and a backward line per
 * operand written with the stage's textbook rule (matrix.ts prints the same rules): conv2d's ∂L/∂x spreads
 * each upstream entry back through the kernel (the transposed convolution), ∂L/∂w correlates x with the
 * upstream, ∂L/∂b sums it; max pooling routes each window's upstream entry to its argmax, average pooling
 * spreads it evenly; the normalizations' closed forms. NumPy code defines small loop helpers once at its
 * top; TypeScript calls the engine forward and defines the backward helpers over the tensors' data.
 */
import type { StageOp } from "../language/functions.js";
import { NORM_EPS } from "../language/functions.js";

export type LayerOp = "conv2d" | "maxpool" | "avgpool" | "batchnorm" | "layernorm";
export const LAYER_OPS: readonly StageOp[] = ["conv2d", "maxpool", "avgpool", "batchnorm", "layernorm"];
export const isLayerOp = (op: StageOp): op is LayerOp => LAYER_OPS.includes(op);

/** A layer stage's operands' code split into arrays and hyperparameters (the trailing numbers the parser stored). */
function split(op: LayerOp, a: readonly string[]): { t: readonly string[]; p: readonly string[] } {
  const n = op === "conv2d" ? a.length - 2 : op === "maxpool" || op === "avgpool" ? 1 : a.length;
  return { t: a.slice(0, n), p: a.slice(n) };
}

/** The forward code of a layer stage over its operands' code (arrays, then hyperparameters). */
export function layerForward(op: LayerOp, a: readonly string[], py: boolean): string {
  const { t, p } = split(op, a);
  switch (op) {
    case "conv2d":
      return py
        ? `_conv2d(${t[0]}, ${t[1]}, ${t[2] ?? "None"}, ${p[0]}, ${p[1]})`
        : `bp.conv2d(${t[0]}, ${t[1]}, ${t[2] ?? "null"}, { stride: ${p[0]}, padding: ${p[1]} })`;
    case "maxpool":
    case "avgpool":
      return py
        ? `_${op}(${t[0]}, ${p.join(", ")})`
        : `bp.${op === "maxpool" ? "maxPool2d" : "avgPool2d"}(${t[0]}, { kernelSize: ${p[0]}, stride: ${p[1]}, padding: ${p[2]} })`;
    case "batchnorm":
      return py ? `_batchnorm(${t.join(", ")})` : `bp.batchNorm(${t[0]}, { weight: ${t[1]}, bias: ${t[2]}, training: true, eps: ${NORM_EPS} })`;
    case "layernorm":
      return py
        ? `_layernorm(${t.join(", ")})`
        : `bp.layerNorm(${t[0]}, [${t[0]}.shape[${t[0]}.ndim - 1]], { weight: ${t[1]}, bias: ${t[2]}, eps: ${NORM_EPS} })`;
  }
}

/**
 * Each operand's gradient from the upstream `up`, by the stage's rule (one entry per operand, "" for a
 * hyperparameter, which has none).
 */
export function layerBackward(op: LayerOp, up: string, a: readonly string[], py: boolean): string[] {
  const { t, p } = split(op, a);
  const none = p.map(() => "");
  switch (op) {
    case "conv2d": {
      const [x, w, b] = t;
      const [s, pad] = p;
      const gx = py ? `_conv2d_grad_x(${up}, ${w}, np.shape(${x}), ${s}, ${pad})` : `_conv2dGradX(${up}, ${w}, ${x}.shape, ${s}, ${pad})`;
      const gw = py ? `_conv2d_grad_w(${x}, ${up}, np.shape(${w}), ${s}, ${pad})` : `_conv2dGradW(${x}, ${up}, ${w}.shape, ${s}, ${pad})`;
      const gb = py ? `np.sum(${up}, axis=(0, 2, 3))` : `bp.sum(${up}, [0, 2, 3])`;
      return [gx, gw, ...(b === undefined ? [] : [gb]), ...none];
    }
    case "maxpool":
      return [py ? `_maxpool_grad(${t[0]}, ${up}, ${p.join(", ")})` : `_maxPoolGrad(${t[0]}, ${up}, ${p.join(", ")})`, ...none];
    case "avgpool":
      return [py ? `_avgpool_grad(${up}, np.shape(${t[0]}), ${p.join(", ")})` : `_avgPoolGrad(${up}, ${t[0]}.shape, ${p.join(", ")})`, ...none];
    case "batchnorm":
    case "layernorm": {
      const call = py ? `_norm_grads("${op}", ${t[0]}, ${t[1]}, ${up})` : `_normGrads("${op}", ${t[0]}, ${t[1]}, ${up})`;
      return [0, 1, 2].map((k) => `${call}[${k}]`);
    }
  }
}

/** The helpers' names (kept free of user names: codegen reserves them) and their definitions, emitted when the code calls them. */
export const LAYER_HELPERS: readonly { name: string; tsName?: string; python: readonly string[]; ts: readonly string[] }[] = [
  {
    name: "_conv2d",
    python: [
      "def _conv2d(x, w, b, stride, padding):",
      '    """conv2d as PyTorch computes it (a cross-correlation): x (N, C, H, W), w (O, C, kh, kw), b (O,) or None."""',
      "    n, c, h, wd = x.shape",
      "    o, _, kh, kw = w.shape",
      "    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))",
      "    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1",
      "    y = np.zeros((n, o, ho, wo))",
      "    for i in range(ho):",
      "        for j in range(wo):",
      "            window = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]",
      "            y[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))",
      "    return y if b is None else y + b[None, :, None, None]",
    ],
    ts: [],
  },
  {
    name: "_conv2d_grad_x",
    tsName: "_conv2dGradX",
    python: [
      "def _conv2d_grad_x(g, w, x_shape, stride, padding):",
      '    """dL/dx of conv2d: each upstream entry spread back through the kernel (the transposed convolution;',
      '    at stride 1 the full convolution of g with the kernel rotated by 180 degrees)."""',
      "    n, c, h, wd = x_shape",
      "    _, _, kh, kw = w.shape",
      "    gx = np.zeros((n, c, h + 2 * padding + kh, wd + 2 * padding + kw))",
      "    for i in range(g.shape[2]):",
      "        for j in range(g.shape[3]):",
      "            gx[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += np.tensordot(g[:, :, i, j], w, axes=([1], [0]))",
      "    return gx[:, :, padding:padding + h, padding:padding + wd]",
    ],
    ts: [
      "/** dL/dx of conv2d: each upstream entry spread back through the kernel (the transposed convolution). */",
      "function _conv2dGradX(g: bp.Tensor, w: bp.Tensor, xShape: readonly number[], stride: number, padding: number): bp.Tensor {",
      "  const [n, c, h, wd] = xShape;",
      "  const [o, , kh, kw] = w.shape;",
      "  const [, , ho, wo] = g.shape;",
      "  const gx = new Float64Array(n * c * h * wd);",
      "  for (let i = 0; i < n; i++) for (let p = 0; p < o; p++) for (let q = 0; q < c; q++)",
      "    for (let r = 0; r < ho; r++) for (let s = 0; s < wo; s++) for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {",
      "      const ih = r * stride - padding + a, iw = s * stride - padding + b;",
      "      if (ih >= 0 && ih < h && iw >= 0 && iw < wd) gx[((i * c + q) * h + ih) * wd + iw] += w.data[((p * c + q) * kh + a) * kw + b] * g.data[((i * o + p) * ho + r) * wo + s];",
      "    }",
      '  return bp.tensor(gx, { shape: xShape, dtype: "float64" });',
      "}",
    ],
  },
  {
    name: "_conv2d_grad_w",
    tsName: "_conv2dGradW",
    python: [
      "def _conv2d_grad_w(x, g, w_shape, stride, padding):",
      '    """dL/dw of conv2d: the correlation of x with the upstream gradient, summed over the batch."""',
      "    _, _, kh, kw = w_shape",
      "    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))",
      "    gw = np.zeros(w_shape)",
      "    for i in range(g.shape[2]):",
      "        for j in range(g.shape[3]):",
      "            gw += np.tensordot(g[:, :, i, j], xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw], axes=([0], [0]))",
      "    return gw",
    ],
    ts: [
      "/** dL/dw of conv2d: the correlation of x with the upstream gradient, summed over the batch. */",
      "function _conv2dGradW(x: bp.Tensor, g: bp.Tensor, wShape: readonly number[], stride: number, padding: number): bp.Tensor {",
      "  const [n, c, h, wd] = x.shape;",
      "  const [o, , kh, kw] = wShape;",
      "  const [, , ho, wo] = g.shape;",
      "  const gw = new Float64Array(o * c * kh * kw);",
      "  for (let i = 0; i < n; i++) for (let p = 0; p < o; p++) for (let q = 0; q < c; q++)",
      "    for (let r = 0; r < ho; r++) for (let s = 0; s < wo; s++) for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {",
      "      const ih = r * stride - padding + a, iw = s * stride - padding + b;",
      "      if (ih >= 0 && ih < h && iw >= 0 && iw < wd) gw[((p * c + q) * kh + a) * kw + b] += x.data[((i * c + q) * h + ih) * wd + iw] * g.data[((i * o + p) * ho + r) * wo + s];",
      "    }",
      '  return bp.tensor(gw, { shape: wShape, dtype: "float64" });',
      "}",
    ],
  },
  {
    name: "_maxpool",
    python: [
      "def _maxpool(x, k, stride, padding):",
      '    """Max pooling of x (N, C, H, W) over k x k windows (padding counts as -infinity)."""',
      "    n, c, h, wd = x.shape",
      "    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=-np.inf)",
      "    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1",
      "    y = np.zeros((n, c, ho, wo))",
      "    for i in range(ho):",
      "        for j in range(wo):",
      "            y[:, :, i, j] = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k].max(axis=(2, 3))",
      "    return y",
    ],
    ts: [],
  },
  {
    name: "_maxpool_grad",
    tsName: "_maxPoolGrad",
    python: [
      "def _maxpool_grad(x, g, k, stride, padding):",
      '    """dL/dx of max pooling: each window\'s upstream entry goes to the window\'s argmax (the first largest), 0 elsewhere."""',
      "    n, c, h, wd = x.shape",
      "    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=-np.inf)",
      "    gx = np.zeros(xp.shape)",
      "    rows, cols = np.arange(n)[:, None], np.arange(c)[None, :]",
      "    for i in range(g.shape[2]):",
      "        for j in range(g.shape[3]):",
      "            a = np.argmax(xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k].reshape(n, c, k * k), axis=2)",
      "            gx[rows, cols, i * stride + a // k, j * stride + a % k] += g[:, :, i, j]",
      "    return gx[:, :, padding:padding + h, padding:padding + wd]",
    ],
    ts: [
      "/** dL/dx of max pooling: each window's upstream entry goes to the window's argmax (the first largest), 0 elsewhere. */",
      "function _maxPoolGrad(x: bp.Tensor, g: bp.Tensor, k: number, stride: number, padding: number): bp.Tensor {",
      "  const [n, c, h, wd] = x.shape;",
      "  const [, , ho, wo] = g.shape;",
      "  const gx = new Float64Array(x.size);",
      "  for (let plane = 0; plane < n * c; plane++)",
      "    for (let r = 0; r < ho; r++) for (let s = 0; s < wo; s++) {",
      "      let best = -1;",
      "      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {",
      "        const ih = r * stride - padding + a, iw = s * stride - padding + b;",
      "        const at = plane * h * wd + ih * wd + iw;",
      "        if (ih >= 0 && ih < h && iw >= 0 && iw < wd && (best < 0 || x.data[at] > x.data[best])) best = at;",
      "      }",
      "      if (best >= 0) gx[best] += g.data[(plane * ho + r) * wo + s];",
      "    }",
      '  return bp.tensor(gx, { shape: x.shape, dtype: "float64" });',
      "}",
    ],
  },
  {
    name: "_avgpool",
    python: [
      "def _avgpool(x, k, stride, padding):",
      '    """Average pooling of x (N, C, H, W) over k x k windows (zero padding, divided by k * k)."""',
      "    n, c, h, wd = x.shape",
      "    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))",
      "    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1",
      "    y = np.zeros((n, c, ho, wo))",
      "    for i in range(ho):",
      "        for j in range(wo):",
      "            y[:, :, i, j] = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k].mean(axis=(2, 3))",
      "    return y",
    ],
    ts: [],
  },
  {
    name: "_avgpool_grad",
    tsName: "_avgPoolGrad",
    python: [
      "def _avgpool_grad(g, x_shape, k, stride, padding):",
      '    """dL/dx of average pooling: each window\'s upstream entry spread as 1/(k k) over the window."""',
      "    n, c, h, wd = x_shape",
      "    gx = np.zeros((n, c, h + 2 * padding + k, wd + 2 * padding + k))",
      "    for i in range(g.shape[2]):",
      "        for j in range(g.shape[3]):",
      "            gx[:, :, i * stride:i * stride + k, j * stride:j * stride + k] += g[:, :, i, j][:, :, None, None] / (k * k)",
      "    return gx[:, :, padding:padding + h, padding:padding + wd]",
    ],
    ts: [
      "/** dL/dx of average pooling: each window's upstream entry spread as 1/(k k) over the window. */",
      "function _avgPoolGrad(g: bp.Tensor, xShape: readonly number[], k: number, stride: number, padding: number): bp.Tensor {",
      "  const [n, c, h, wd] = xShape;",
      "  const [, , ho, wo] = g.shape;",
      "  const gx = new Float64Array(n * c * h * wd);",
      "  for (let plane = 0; plane < n * c; plane++)",
      "    for (let r = 0; r < ho; r++) for (let s = 0; s < wo; s++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {",
      "      const ih = r * stride - padding + a, iw = s * stride - padding + b;",
      "      if (ih >= 0 && ih < h && iw >= 0 && iw < wd) gx[plane * h * wd + ih * wd + iw] += g.data[(plane * ho + r) * wo + s] / (k * k);",
      "    }",
      '  return bp.tensor(gx, { shape: xShape, dtype: "float64" });',
      "}",
    ],
  },
  {
    name: "_batchnorm",
    python: [
      "def _batchnorm(x, gamma, beta):",
      '    """Batch normalization with the batch\'s statistics per channel (axis 1), over every other axis."""',
      "    axes = (0,) + tuple(range(2, x.ndim))",
      "    shape = (1, -1) + (1,) * (x.ndim - 2)",
      `    xhat = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + ${NORM_EPS})`,
      "    return xhat * gamma.reshape(shape) + beta.reshape(shape)",
    ],
    ts: [],
  },
  {
    name: "_layernorm",
    python: [
      "def _layernorm(x, gamma, beta):",
      '    """Layer normalization over the last axis."""',
      `    xhat = (x - x.mean(axis=-1, keepdims=True)) / np.sqrt(x.var(axis=-1, keepdims=True) + ${NORM_EPS})`,
      "    return xhat * gamma + beta",
    ],
    ts: [],
  },
  {
    name: "_norm_grads",
    tsName: "_normGrads",
    python: [
      "def _norm_grads(kind, x, gamma, g):",
      '    """dL/dx, dL/dgamma, dL/dbeta of y = gamma xhat + beta, xhat = (x - mu)/sigma over m entries, d = gamma g:',
      '    dx = (m d - sum(d) - xhat sum(d xhat)) / (m sigma), dgamma = sum(g xhat), dbeta = sum(g)."""',
      "    axes = (0,) + tuple(range(2, x.ndim)) if kind == 'batchnorm' else (x.ndim - 1,)",
      "    params = axes if kind == 'batchnorm' else tuple(range(x.ndim - 1))",
      "    shape = (1, -1) + (1,) * (x.ndim - 2) if kind == 'batchnorm' else gamma.shape",
      "    m = np.prod([x.shape[a] for a in axes])",
      `    sigma = np.sqrt(x.var(axis=axes, keepdims=True) + ${NORM_EPS})`,
      "    xhat = (x - x.mean(axis=axes, keepdims=True)) / sigma",
      "    d = g * gamma.reshape(shape)",
      "    dx = (m * d - d.sum(axis=axes, keepdims=True) - xhat * (d * xhat).sum(axis=axes, keepdims=True)) / (m * sigma)",
      "    return dx, (g * xhat).sum(axis=params), g.sum(axis=params)",
    ],
    ts: [
      "/** dL/dx, dL/dgamma, dL/dbeta of y = gamma xhat + beta, xhat = (x - mu)/sigma over m entries, d = gamma g: dx = (m d - sum(d) - xhat sum(d xhat)) / (m sigma). */",
      'function _normGrads(kind: "batchnorm" | "layernorm", x: bp.Tensor, gamma: bp.Tensor, g: bp.Tensor): [bp.Tensor, bp.Tensor, bp.Tensor] {',
      "  const all = x.shape.map((_, i) => i);",
      '  const axes = kind === "batchnorm" ? all.filter((i) => i !== 1) : [x.ndim - 1];',
      '  const params = kind === "batchnorm" ? axes : all.slice(0, -1);',
      "  const m = axes.reduce((p, a) => p * x.shape[a], 1);",
      "  const centered = bp.sub(x, bp.mean(x, axes, true));",
      `  const sigma = bp.sqrt(bp.add(bp.mean(bp.mul(centered, centered), axes, true), ${NORM_EPS}));`,
      "  const xhat = bp.div(centered, sigma);",
      '  const d = bp.mul(g, kind === "batchnorm" ? bp.reshape(gamma, [1, gamma.size, ...x.shape.slice(2).map(() => 1)]) : gamma);',
      "  const dx = bp.div(bp.sub(bp.sub(bp.mul(d, m), bp.sum(d, axes, true)), bp.mul(xhat, bp.sum(bp.mul(d, xhat), axes, true))), bp.mul(sigma, m));",
      "  return [dx, bp.reshape(bp.sum(bp.mul(g, xhat), params), gamma.shape), bp.reshape(bp.sum(g, params), gamma.shape)];",
      "}",
    ],
  },
];
