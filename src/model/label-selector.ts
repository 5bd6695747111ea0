/**
 * Kubernetes label selectors (`--namespace-selector`), with the grammar, the key and value rules
 * and the matching of k8s.io/apimachinery's labels.Parse: `key=value`, `key==value`,
 * `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key`, `!key`, `key>1`, `key<1`, joined by
 * commas. The apiserver applies a selector where it may list; checking it at start makes a typo
 * a start-up error rather than a failure of every scan, and matching it here serves an identity
 * that may only read namespaces one by one.
 */

export type Operator = "=" | "!=" | "in" | "notin" | "exists" | "!" | ">" | "<";

export interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  readonly values: readonly string[];
}

const SPECIAL = new Set(["=", "!", "(", ")", ",", "<", ">"]);
const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type Token =
  { readonly kind: "identifier"; readonly text: string } | { readonly kind: "symbol"; readonly text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text.charAt(index);
    if (/\s/.test(char)) {
      index++;
    } else if (SPECIAL.has(char)) {
      // The two-character operators, as the apiserver's lexer reads them.
      const pair = text.slice(index, index + 2);
      const symbol = pair === "==" || pair === "!=" ? pair : char;
      tokens.push({ kind: "symbol", text: symbol });
      index += symbol.length;
    } else {
      let end = index;
      while (end < text.length && !/\s/.test(text.charAt(end)) && !SPECIAL.has(text.charAt(end))) end++;
      tokens.push({ kind: "identifier", text: text.slice(index, end) });
      index = end;
    }
  }
  return tokens;
}

function keyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return `key ${JSON.stringify(key)}: its prefix must be a DNS subdomain`;
  if (name.length > 63 || !NAME.test(name))
    return `key ${JSON.stringify(key)} is not a valid label key (up to 63 letters, digits, '-', '_', '.', beginning and ending with a letter or digit, optionally after a DNS prefix and '/')`;
  return undefined;
}

function valueProblem(value: string): string | undefined {
  return value === "" || (value.length <= 63 && NAME.test(value))
    ? undefined
    : `value ${JSON.stringify(value)} is not a valid label value (up to 63 letters, digits, '-', '_', '.', beginning and ending with a letter or digit)`;
}

/** Why the selector is not one the apiserver accepts; undefined when it is. */
export function labelSelectorProblem(selector: string): string | undefined {
  const parsed = parseLabelSelector(selector);
  return typeof parsed === "string" ? parsed : undefined;
}

/** The selector's requirements, all of which a set of labels must meet; or why it is not valid. */
export function parseLabelSelector(selector: string): readonly Requirement[] | string {
  const tokens = tokenize(selector);
  const requirements: Requirement[] = [];
  let position = 0;
  const peek = () => tokens[position];
  const next = () => tokens[position++];
  const atEnd = () => position >= tokens.length || peek()?.text === ",";
  while (position < tokens.length) {
    const negated = peek()?.kind === "symbol" && peek()?.text === "!";
    if (negated) position++;
    const key = next();
    if (key?.kind !== "identifier")
      return `expected a label key${key ? ` before ${JSON.stringify(key.text)}` : " at the end"}`;
    const problem = keyProblem(key.text);
    if (problem) return problem;
    if (negated || atEnd()) {
      requirements.push({ key: key.text, operator: negated ? "!" : "exists", values: [] });
    } else {
      const operator = next();
      const values = operatorValues(operator, next, peek);
      if (typeof values === "string") return values;
      for (const value of values.list) {
        const bad = valueProblem(value);
        if (bad) return bad;
        if (values.integer && !/^[-+]?\d+$/.test(value))
          return `${operator?.text ?? ""} needs a whole number, not ${JSON.stringify(value)}`;
      }
      requirements.push({ key: key.text, operator: values.operator, values: values.list });
    }
    const separator = next();
    if (separator !== undefined && separator.text !== ",")
      return `expected "," or the end after a requirement, found ${JSON.stringify(separator.text)}`;
    if (separator && position >= tokens.length) return 'a trailing "," needs another requirement';
  }
  return requirements;
}

/** Whether labels meet every requirement, as apimachinery's Requirement.Matches decides. */
export function matchesLabelSelector(
  requirements: readonly Requirement[],
  labels: Readonly<Record<string, string>>,
): boolean {
  return requirements.every(({ key, operator, values }) => {
    const has = Object.hasOwn(labels, key);
    const value = labels[key];
    switch (operator) {
      case "=":
      case "in":
        return has && values.includes(value ?? "");
      case "!=":
      case "notin":
        return !has || !values.includes(value ?? "");
      case "exists":
        return has;
      case "!":
        return !has;
      case ">":
      case "<": {
        // A label value that is not a whole number matches neither.
        if (!has || !/^[-+]?\d+$/.test(value ?? "")) return false;
        const [live, bound] = [Number(value), Number(values[0])];
        return operator === ">" ? live > bound : live < bound;
      }
    }
  });
}

/** The values after an operator, or why they are wrong. */
function operatorValues(
  operator: Token | undefined,
  next: () => Token | undefined,
  peek: () => Token | undefined,
): { list: string[]; integer: boolean; operator: Operator } | string {
  const text = operator?.text ?? "";
  if (operator?.kind === "identifier" && (text === "in" || text === "notin")) {
    if (next()?.text !== "(") return `expected "(" after ${text}`;
    const list: string[] = [];
    for (;;) {
      const token = peek();
      if (token?.kind === "identifier") {
        list.push(token.text);
        next();
      } else list.push("");
      const after = next();
      if (after?.text === ")") return { list, integer: false, operator: text === "in" ? "in" : "notin" };
      if (after?.text !== ",") return `expected "," or ")" in the values of ${text}`;
    }
  }
  if (operator?.kind === "symbol" && ["=", "==", "!=", "<", ">"].includes(text)) {
    const value = peek();
    const single = value?.kind === "identifier" ? (next(), value.text) : "";
    if ((text === "<" || text === ">") && single === "") return `${text} needs a whole number`;
    const meaning: Operator = text === "<" ? "<" : text === ">" ? ">" : text === "!=" ? "!=" : "=";
    return { list: [single], integer: text === "<" || text === ">", operator: meaning };
  }
  return `expected an operator (=, ==, !=, in, notin, <, >) after the key, found ${JSON.stringify(text)}`;
}
