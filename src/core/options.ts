/** Checking option objects: a misspelt key is an error, not a silently used default. */

/**
 * Throws if `options` is not a plain object or has a key outside `known`, naming `op`, the key and
 * the keys it takes (PyTorch rejects unknown keyword arguments the same way).
 */
export function checkOptionKeys(op: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${op}: options must be an object, got ${Array.isArray(options) ? "an array" : String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`${op}: unknown option "${key}" (known: ${known.join(", ")})`);
  }
}

/** Throws unless `value` is one of `allowed`, listing them. */
export function checkChoice<T extends string>(op: string, what: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  const list = allowed.length > 1 ? `${allowed.slice(0, -1).join(", ")} or ${allowed[allowed.length - 1]}` : allowed[0];
  throw new TypeError(`${op}: unknown ${what} ${typeof value === "string" ? `"${value}"` : String(value)} (use ${list})`);
}
