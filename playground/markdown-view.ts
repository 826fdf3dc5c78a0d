// Shows the exercise sheets' Markdown on the page as DOM built node by node: headings, paragraphs,
// lists, tables, `code` and $math$ (typeset by KaTeX). Text is only ever set as text, never as HTML,
// so nothing in a sheet can run or inject markup. Only the subset the sheets use is understood.
import katex from "katex";

/** Inline text: `code` spans, $math$ (KaTeX) and plain text. */
function inline(text: string, into: HTMLElement): void {
  // Code first: a $ inside code is literal.
  const re = /`([^`]*)`|\$([^$]+)\$/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) into.append(text.slice(last, m.index));
    if (m[1] !== undefined) {
      const code = document.createElement("code");
      code.textContent = m[1];
      into.append(code);
    } else {
      const span = document.createElement("span");
      katex.render(m[2], span, { throwOnError: false });
      into.append(span);
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) into.append(text.slice(last));
}

/** A table row's cells: split at | not escaped as \|. */
function cells(line: string): string[] {
  const inner = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  return inner.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

/** Numbers the tables, so each scrolling region has a name of its own. */
let tables = 0;

function table(lines: string[]): HTMLElement {
  const wrap = document.createElement("div");
  wrap.className = "scroll";
  // A wide table scrolls: the region takes the focus so it can be scrolled from the keyboard.
  wrap.tabIndex = 0;
  wrap.setAttribute("role", "region");
  wrap.setAttribute("aria-label", `Table ${++tables}: ${cells(lines[0]).join(", ")}`);
  const t = document.createElement("table");
  const head = t.createTHead().insertRow();
  for (const c of cells(lines[0])) {
    const th = document.createElement("th");
    th.scope = "col";
    inline(c, th);
    head.append(th);
  }
  const body = t.createTBody();
  for (const line of lines.slice(2)) {
    const tr = body.insertRow();
    for (const c of cells(line)) inline(c, tr.insertCell());
  }
  wrap.append(t);
  return wrap;
}

/**
 * The Markdown as elements. `#` becomes a heading `headingBase` levels down (the page's own headings
 * stay above the sheet's).
 */
export function markdownNodes(md: string, headingBase = 2): HTMLElement[] {
  const out: HTMLElement[] = [];
  const lines = md.split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (line.trim() === "") {
      i++;
    } else if (heading) {
      const h = document.createElement(`h${Math.min(6, heading[1].length + headingBase)}` as "h3");
      inline(heading[2], h);
      out.push(h);
      i++;
    } else if (line.startsWith("|")) {
      const rows: string[] = [];
      while (i < lines.length && lines[i].startsWith("|")) rows.push(lines[i++]);
      out.push(table(rows));
    } else if (/^\s*- /.test(line)) {
      const ul = document.createElement("ul");
      while (i < lines.length && /^\s*- /.test(lines[i])) {
        const li = document.createElement("li");
        inline(lines[i++].replace(/^\s*- /, ""), li);
        ul.append(li);
      }
      out.push(ul);
    } else {
      const para: string[] = [];
      while (i < lines.length && lines[i].trim() !== "" && !/^(#{1,6}\s|\||\s*- )/.test(lines[i])) para.push(lines[i++]);
      const p = document.createElement("p");
      inline(para.join(" "), p);
      out.push(p);
    }
  }
  return out;
}
