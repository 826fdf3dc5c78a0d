// The Explain tab's state in the URL. A query is read with `+` kept as `+` (URLSearchParams reads it as a
// space, so a hand-typed `?expr=x+y` became the product `x y`), and written with encodeURIComponent, which
// writes a space as %20 and `+` as %2B: every link the page writes reads back identically.

/** The query's parameters, each value percent-decoded with `+` left as it is. A malformed escape is kept as typed. */
export function readQuery(search: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of search.replace(/^\?/, "").split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const key = decode(eq < 0 ? part : part.slice(0, eq));
    if (!out.has(key)) out.set(key, eq < 0 ? "" : decode(part.slice(eq + 1)));
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A query string (without `?`) that readQuery reads back as `params`; entries with an undefined value are left out. */
export function writeQuery(params: Record<string, string | undefined>): string {
  return Object.entries(params)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
}
