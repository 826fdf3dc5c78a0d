/**
 * The Python the NumPy/PyTorch/onnx comparisons run: Debian's /usr/bin/python3, where .ci/run installs
 * python3-numpy, python3-torch and python3-onnx. Each test that needs one of them skips, saying why,
 * only where it is missing.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const DEBIAN_PYTHON = "/usr/bin/python3";

/**
 * Why Debian's Python cannot run `import MODULES` (then `check`, a Python statement), naming the Debian
 * packages to install; false when it can.
 */
export function pythonLacks(modules: string, debian: string, check = ""): string | false {
  if (!existsSync(DEBIAN_PYTHON)) return `${DEBIAN_PYTHON} is missing`;
  const r = spawnSync(DEBIAN_PYTHON, ["-c", `import ${modules}${check ? `; ${check}` : ""}`], { stdio: "ignore" });
  return r.status === 0 ? false : `${DEBIAN_PYTHON} cannot import ${modules}${check ? ` or fails ${check}` : ""} (Debian: apt-get install ${debian})`;
}

/** The older NumPy comparisons: Debian's Python when it has NumPy, else `python3` on PATH (a pyenv one may lack it). */
export const PYTHON = pythonLacks("numpy", "python3-numpy") ? "python3" : DEBIAN_PYTHON;
export const PYTHON_HAS_NUMPY = PYTHON === DEBIAN_PYTHON || spawnSync("python3", ["-c", "import numpy"]).status === 0;
