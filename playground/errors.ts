// How the playground shows an explain error. Kept apart from main.ts (which needs a page) so a unit
// test can check the wording: values come from the Input values box here, not from --at.
import { ExplainSyntaxError, type ErrorHint } from "../src/explain/language/parser.js";
import { ExplainError } from "../src/explain/interpreters/stage.js";

/** The playground's wording of what to do about an error (the CLI has its own, naming --at). */
export function playgroundHint(hint: ErrorHint): string {
  switch (hint.kind) {
    case "missing-input":
      return `add ${hint.name}=... to the Input values`;
    case "defined-input":
      return `remove ${hint.name}=... from the Input values`;
    case "array-values":
      return "give array values in the Input values, as W=[[1,2],[3,4]]";
  }
}

/** The error box's text: a syntax error with its line and caret, anything else as `error: message (hint)`. */
export function playgroundErrorText(e: unknown): string {
  if (e instanceof ExplainSyntaxError) return e.format(e.hint && playgroundHint(e.hint));
  const message = e instanceof Error ? e.message : String(e);
  const hint = e instanceof ExplainError && e.hint ? ` (${playgroundHint(e.hint)})` : "";
  return `error: ${message}${hint}`;
}
