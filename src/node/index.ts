/** The Node entry of `backprop`: the whole library, with the native backend selected when it was built. */
import { useNativeBackend } from "./native.js";

export * from "../index.js";
export { useNativeBackend, nativeAddon } from "./native.js";
export { loadDigits, loadIris } from "./datasets.js";

useNativeBackend();
