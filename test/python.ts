/**
 * The Python the NumPy/PyTorch comparisons run: Debian's /usr/bin/python3 (where .ci/run installs
 * python3-numpy, python3-torch and python3-onnx) when it has NumPy, else whatever `python3` is on PATH
 * (a pyenv one may lack NumPy: the tests that need it then skip, saying so).
 */
import { spawnSync } from "node:child_process";

const hasNumpy = (py: string): boolean => spawnSync(py, ["-c", "import numpy"]).status === 0;

export const PYTHON = hasNumpy("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
export const PYTHON_HAS_NUMPY = PYTHON === "/usr/bin/python3" || hasNumpy("python3");
