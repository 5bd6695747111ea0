/**
 * Kubernetes resource quantities compared by value: the apiserver re-serializes them
 * canonically (0.5 -> 500m, 1024Mi -> 1Gi), so comparing text reports false drift.
 * Values are exact rationals (BigInt numerator/denominator); no float rounding.
 */
export interface Quantity {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

const BINARY: Record<string, bigint> = {
  Ki: 2n ** 10n,
  Mi: 2n ** 20n,
  Gi: 2n ** 30n,
  Ti: 2n ** 40n,
  Pi: 2n ** 50n,
  Ei: 2n ** 60n,
};
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const PATTERN = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE]?)$/;

export function parseQuantity(value: unknown): Quantity | undefined {
  const text = typeof value === "number" && Number.isFinite(value) ? numberText(value) : value;
  if (typeof text !== "string") return undefined;
  const match = PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, sign = "", number = "", suffix = ""] = match;
  const [whole = "", fraction = ""] = number.split(".");
  let numerator = BigInt(`${whole}${fraction}` || "0") * (sign === "-" ? -1n : 1n);
  let denominator = 10n ** BigInt(fraction.length);
  const binary = BINARY[suffix];
  let exponent = 0;
  if (binary !== undefined) numerator *= binary;
  else if (/^[eE]/.test(suffix)) exponent = Number(suffix.slice(1));
  else exponent = DECIMAL[suffix] ?? 0;
  if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
  else denominator *= 10n ** BigInt(-exponent);
  return { numerator, denominator };
}

export function quantitiesEqual(a: Quantity, b: Quantity): boolean {
  return a.numerator * b.denominator === b.numerator * a.denominator;
}

/** Plain decimal text for a JS number (YAML `0.5` or `2`), never exponent notation. */
function numberText(value: number): string {
  return Number.isInteger(value) ? BigInt(value).toString() : value.toFixed(20).replace(/0+$/, "");
}
