/**
 * Where JSON text stops being valid, as "line L, column C": V8's own messages quote the
 * text around the error, and in a release record that text may be a Helm value. Runs only
 * after JSON.parse failed; iterative, so nesting depth cannot overflow the stack.
 */
export function jsonErrorPosition(text: string): string {
  const offset = firstInvalidOffset(text);
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf("\n"); at !== -1 && at < offset; at = text.indexOf("\n", at + 1)) {
    line++;
    lineStart = at + 1;
  }
  return `at line ${String(line)}, column ${String(offset - lineStart + 1)}`;
}

const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// eslint-disable-next-line no-control-regex -- JSON strings may not hold raw control characters
const STRING_BODY = /(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

type Expect = "value" | "key" | "colon" | "after-value";

/** The offset of the first character that makes `text` invalid JSON (text.length when it ends early). */
function firstInvalidOffset(text: string): number {
  const containers: ("{" | "[")[] = [];
  let expect: Expect = "value";
  let at = 0;
  const skipSpace = () => {
    while (at < text.length && WHITESPACE.has(text.charAt(at))) at++;
  };
  for (;;) {
    skipSpace();
    if (at >= text.length) return expect === "after-value" && containers.length === 0 ? at : text.length;
    const char = text.charAt(at);
    const top = containers.at(-1);
    if (expect === "after-value") {
      if (top === undefined) return at; // trailing content
      if (char === ",") {
        expect = top === "{" ? "key" : "value";
        at++;
      } else if ((char === "}" && top === "{") || (char === "]" && top === "[")) {
        containers.pop();
        at++;
      } else return at;
      continue;
    }
    if (expect === "colon") {
      if (char !== ":") return at;
      expect = "value";
      at++;
      continue;
    }
    if (expect === "key") {
      if (char === "}" && text.charAt(at - 1) !== ",") {
        containers.pop();
        expect = "after-value";
        at++;
        continue;
      }
      if (char !== '"') return at;
      const end = stringEnd(text, at);
      if (end === undefined) return at;
      at = end;
      expect = "colon";
      continue;
    }
    // A value.
    if (char === "{" || char === "[") {
      containers.push(char);
      at++;
      skipSpace();
      if (char === "[" && text.charAt(at) === "]") {
        containers.pop();
        at++;
        expect = "after-value";
      } else expect = char === "{" ? "key" : "value";
      continue;
    }
    const end = scalarEnd(text, at);
    if (end === undefined) return at;
    at = end;
    expect = "after-value";
  }
}

function stringEnd(text: string, at: number): number | undefined {
  STRING_BODY.lastIndex = at + 1;
  return STRING_BODY.test(text) ? STRING_BODY.lastIndex : undefined;
}

function scalarEnd(text: string, at: number): number | undefined {
  const char = text.charAt(at);
  if (char === '"') return stringEnd(text, at);
  for (const literal of ["true", "false", "null"])
    if (text.startsWith(literal, at)) return at + literal.length;
  NUMBER.lastIndex = at;
  return NUMBER.test(text) ? NUMBER.lastIndex : undefined;
}
