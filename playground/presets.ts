// The Explain tab's gallery: the course documents' exercises (/work/shared/seeds) that the explainer can
// take, each with the document and exercise it comes from, and a few programs that show hazards. Plain
// data, so a unit test can explain every one (test/playground-explain.test.ts). Where a document gives
// no values, the values here are ours (and `note` says so).

export interface Preset {
  id: string;
  /** The button's text. */
  title: string;
  /** The document and the exercise: "Section 2, exercise 2(a)". */
  source: string;
  expr: string;
  at: string;
  /** One line on what to look at, or where the values come from. */
  note?: string;
  /** Shows something going wrong (a dead ReLU, saturation, ln at 0) rather than a course exercise. */
  hazard?: boolean;
}

export const PRESETS: readonly Preset[] = [
  {
    id: "section-2a",
    title: "(x + y) z, staged",
    source: "Section 2, exercises 1(a) and 2(a)",
    expr: "a = x + y\nb = z\nf = a * b",
    at: "x=1, y=3, z=2",
  },
  {
    id: "section-2b",
    title: "(x² + 2y) z³, staged",
    source: "Section 2, exercises 1(b) and 2(b)",
    expr: "a = x^2\nb = 2y\nc = a + b\nd = z^3\nh = c * d",
    at: "x=3, y=1, z=2",
  },
  {
    id: "section-2c",
    title: "(ln x + sin y)² + 4x, staged",
    source: "Section 2, exercises 1(c) and 2(c)",
    expr: "a = ln(x)\nb = sin(y)\nc = a + b\nd = c^2\nf = 4x\ng = d + f",
    at: "x=e, y=pi/2, z=2",
    note: "x fans out (the two gradients add); the gradient 4 reaching sin(y) dies at cos(π/2) = 0; z is unused, so its gradient is 0.",
  },
  {
    id: "section-3",
    title: "Sigmoid gate, staged",
    source: "Section 2, exercise 3 (sigmoid shenanigans)",
    expr: "a = -x\nb = exp(a)\nc = 1 + b\nf = 1 / c",
    at: "x=2",
    note: "The section's answer: about 0.1; one gradient-descent step of 0.2 takes x to 1.98.",
  },
  {
    id: "section-4",
    title: "ln x · σ(√y) / σ((x + y)²)",
    source: "Section 2, exercise 4 (complex_layer)",
    expr: "a = ln(x)\nb = sqrt(y)\nc = sigmoid(b)\nd = a * c\ng = x + y\nh = g^2\ni = sigmoid(h)\nj = 1 / i\nf = d * j",
    at: "x=0.5, y=0.25",
    note: "The TA's staging, the division as a product with 1/i; the values are ours (the section gives none).",
  },
  {
    id: "homework-easy",
    title: "L = ((wx + b) − y)², staged",
    source: "Homework 1, an easy example (Task 1)",
    expr: "p = w * x\nq = b\nr = p + q\ns = r - y\nL = s^2",
    at: "w=0.5, x=2, b=0.1, y=1",
    note: "∂L/∂w = 2sx and ∂L/∂b = 2s; the values are ours.",
  },
  {
    id: "homework-table1",
    title: "f = (w·e^(bx) + ln(wx))·b, Table 1",
    source: "Homework 1, Table 1 and Task 2",
    expr: "p = w * x\nq = ln(p)\nr = b * x\ns = exp(r)\nt = s * w\nu = t + q\nf = b * u",
    at: "x=1, b=0.5, w=2",
    note: "∂f/∂b = bwx e^{bx} + w e^{bx} + ln(wx); the values are ours.",
  },
  {
    id: "homework-task3",
    title: "σ(x), elementary operations",
    source: "Homework 1, Task 3",
    expr: "a = -x\nb = exp(a)\nc = 1 + b\ns = 1 / c",
    at: "x=0.5",
    note: "The gradient is σ(x)(1 − σ(x)); the value is ours.",
  },
  {
    id: "homework-task4",
    title: "L = (σ(wx + b) − y)²",
    source: "Homework 1, Task 4",
    expr: "L = (sigmoid(w x + b) - y)^2",
    at: "w=0.5, x=1.5, b=-0.2, y=1",
    note: "∂L/∂w = 2(σ(wx + b) − y) σ′(wx + b) x; the values are ours.",
  },
  {
    id: "homework-task5",
    title: "Two-layer network with L2",
    source: "Homework 1, Task 5",
    expr: "f = (y - sigmoid(w2 sigmoid(w1 x + b1) + b2))^2 + lambda (w1^2 + w2^2)",
    at: "w1=0.5, w2=-1, b1=0.1, b2=0.2, x=1, y=1, lambda=0.01",
    note: "The values are ours; Task 6 asks for the order that reuses work: the backward pass is that order.",
  },
  {
    id: "discussion-1",
    title: "(x + y) z at −2, 5, −4",
    source: "Discussion, exercise 1(c) and 1(d)",
    expr: "g = x + y\nf = g * z",
    at: "x=-2, y=5, z=-4",
  },
  {
    id: "discussion-2c",
    title: "(y − Σ σ(wᵢᵀx + bᵢ))²",
    source: "Discussion, exercise 2(b) and 2(c)",
    expr: "f = (y - sum(sigmoid(W @ x + b)))^2",
    at: "W=[[0.5,-0.2],[0.1,0.3],[-0.4,0.6]], x=[1,2], b=[0,0.1,-0.1], y=1",
    note: "Three sigmoid units (the rows of W); the values are ours.",
  },
  {
    id: "discussion-2e",
    title: "½‖W₂ Φ(W₁x + b) − y‖², Φ = tanh",
    source: "Discussion, exercise 2(e)",
    expr: "x1 = W1 @ x + b\nx2 = tanh(x1)\nx3 = W2 @ x2\nx4 = x3 - y\nl = 0.5 * sum(x4^2)",
    at: "W1=[[0.1,0.5],[-0.3,0.8]], W2=[[1,-1],[0.5,0.2]], x=[0.2,0.4], b=[0.1,-0.1], y=[0.5,0]",
    note: "The discussion's intermediate variables x⁽¹⁾…x⁽⁴⁾; Φ and the values are ours.",
  },
  {
    id: "discussion-2f",
    title: "½‖W₂(W₁x + b) − y‖², Φ = identity",
    source: "Discussion, exercise 2(f)",
    expr: "l = 0.5 * sum((W2 @ (W1 @ x + b) - y)^2)",
    at: "W1=[[0.1,0.5],[-0.3,0.8]], W2=[[1,-1],[0.5,0.2]], x=[0.2,0.4], b=[0.1,-0.1], y=[0.5,0]",
    note: "Try one gradient-descent step: it is the update 2(f) asks for. The values are ours.",
  },
  {
    id: "tutorial-2a",
    title: "z = 2x + y, x = ln t, y = t³/3",
    source: "Tutorial, exercise 2(a)",
    expr: "x = ln(t)\ny = t^3 / 3\nz = 2x + y",
    at: "t=2",
    note: "dz/dt = 2/t + t²; the value of t is ours.",
  },
  {
    id: "tutorial-2b",
    title: "z = x²y − y², x = t², y = 2t",
    source: "Tutorial, exercise 2(b)",
    expr: "x = t^2\ny = 2t\nz = x^2 y - y^2",
    at: "t=1",
    note: "dz/dt = 10t⁴ − 8t; the value of t is ours.",
  },
  {
    id: "tutorial-2c",
    title: "z = 3x² − 2xy + y², x = 3a + 2b, y = 4a − b",
    source: "Tutorial, exercise 2(c)",
    expr: "x = 3a + 2b\ny = 4a - b\nz = 3x^2 - 2x y + y^2",
    at: "a=1, b=1",
    note: "Two paths to each of a and b, summed; the values are ours.",
  },
  {
    id: "tutorial-7",
    title: "‖Wx‖²",
    source: "Tutorial, exercise 7 (vector virtuosity)",
    expr: "f = sum((W @ x)^2)",
    at: "W=[[0.1,0.5],[-0.3,0.8]], x=[0.2,0.4]",
    note: "∇W f = 2(Wx)xᵀ and ∇x f = 2WᵀWx.",
  },
  {
    id: "hazard-dead-relu",
    title: "Dead ReLU",
    source: "Hazard (lecture: dead ReLUs)",
    expr: "relu(w x + b)",
    at: "w=0.5, x=1, b=-1",
    note: "The unit's input is negative: relu passes no gradient, so w and b never learn from this example.",
    hazard: true,
  },
  {
    id: "hazard-saturation",
    title: "Saturated sigmoid",
    source: "Hazard (saturation)",
    expr: "sigmoid(w x)",
    at: "w=10, x=2",
    note: "σ(20) is 1 to eight digits, so σ′ is about 2·10⁻⁹: the gradient vanishes.",
    hazard: true,
  },
  {
    id: "hazard-ln-zero",
    title: "ln at 0",
    source: "Hazard (Section 2, exercise 2(c): ln at 0)",
    expr: "ln(x) + x",
    at: "x=0",
    note: "ln 0 is −∞ and its local derivative 1/x is ∞: the warnings say where it starts.",
    hazard: true,
  },
];
