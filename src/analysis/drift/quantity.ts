/**
 * Kubernetes resource quantities compared by value, as the apiserver parses them
 * (apimachinery's resource.ParseQuantity): it re-serializes them canonically
 * (0.5 -> 500m, 1024Mi -> 1Gi), so comparing text reports false drift. Values are exact
 * rationals (BigInt numerator/denominator); no float rounding.
 */
import type { FieldPath, PathSegment } from "./path.ts";

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
/**
 * The finest unit the apiserver keeps: ParseQuantity rounds up to 1n; the core/v1 defaults
 * (SetDefaults_ResourceList) round every value of a ResourceList up to 1m.
 */
export type QuantityPrecision = "nano" | "milli";
const UNITS: Readonly<Record<QuantityPrecision, bigint>> = { nano: 10n ** 9n, milli: 10n ** 3n };
/** ParseQuantity caps binary-suffixed values at the largest int64. */
const MAX_BINARY = 2n ** 63n - 1n;

/**
 * The value the apiserver stores for a manifest value: a quantity string, or a YAML number.
 * A number reaches the apiserver as the JSON Go's encoding/json writes for the float64 that
 * YAML decoding produced: the shortest decimal that reads back as the same double (0.1 ->
 * `0.1`, 1e-7 -> `1e-7`, 1e21 -> `1e+21`), which is exactly JavaScript's String(number).
 */
export function parseQuantity(value: unknown, precision: QuantityPrecision = "nano"): Quantity | undefined {
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== "string") return undefined;
  const match = PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, sign = "", number = "", suffix = ""] = match;
  const [whole = "", fraction = ""] = number.split(".");
  let numerator = BigInt(`${whole}${fraction}` || "0");
  let denominator = 10n ** BigInt(fraction.length);
  const binary = BINARY[suffix];
  // As Go's suffixer: the SI table first (`E` is exa), then `e`/`E` with a number.
  const exponent = binary === undefined ? (DECIMAL[suffix] ?? Number(suffix.slice(1))) : 0;
  if (binary !== undefined) numerator *= binary;
  if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
  else denominator *= 10n ** BigInt(-exponent);
  let magnitude = roundUp({ numerator, denominator }, UNITS.nano);
  if (binary !== undefined && magnitude.numerator > MAX_BINARY * magnitude.denominator)
    magnitude = { numerator: MAX_BINARY, denominator: 1n };
  magnitude = roundUp(magnitude, UNITS[precision]);
  return sign === "-" ? { ...magnitude, numerator: -magnitude.numerator } : magnitude;
}

/**
 * A non-zero magnitude finer than the unit, rounded up (away from zero, the sign is applied
 * after) to the next unit, "if you want some resources, you should get some": `1e-10` is
 * stored as `1n`, and as `1m` in a ResourceList.
 */
function roundUp(value: Quantity, unit: bigint): Quantity {
  const scaled = value.numerator * unit;
  if (scaled % value.denominator === 0n) return value;
  return { numerator: scaled / value.denominator + 1n, denominator: unit };
}

export function quantitiesEqual(a: Quantity, b: Quantity): boolean {
  return a.numerator * b.denominator === b.numerator * a.denominator;
}

/**
 * ResourceLists, maps whose values are quantities: container, pod-level and PVC `requests`/`limits`
 * (cpu, memory, ephemeral-storage, hugepages-*, extended resources), ResourceQuota `hard`,
 * PersistentVolume `capacity`, Pod `overhead`, RuntimeClass `overhead.podFixed`.
 */
const QUANTITY_MAPS = new Set([
  "limits",
  "requests",
  "hard",
  "capacity",
  "allocatable",
  "overhead",
  "podFixed",
]);
/** LimitRange `spec.limits[]` ResourceLists. */
const LIMIT_RANGE_MAPS = new Set(["default", "defaultRequest", "max", "min", "maxLimitRequestRatio"]);
/** HorizontalPodAutoscaler (autoscaling/v2) metric targets that are quantities. */
const METRIC_TARGET_QUANTITIES = new Set(["value", "averageValue"]);
/** CSIStorageCapacity's top-level quantities. */
const TOP_LEVEL_QUANTITIES = new Set(["capacity", "maximumVolumeSize"]);

/**
 * Whether a declared path holds a resource quantity, so values compare by what they mean,
 * and how precisely the apiserver keeps it; undefined for anything else.
 */
export function quantityPrecisionAt(path: FieldPath): QuantityPrecision | undefined {
  const [last, parent, listItem, list] = [path.at(-1), path.at(-2), path.at(-3), path.at(-4)];
  if (!last || !("field" in last)) return undefined;
  if (last.field === "sizeLimit") return "nano"; // emptyDir
  if (path.length === 1) return TOP_LEVEL_QUANTITIES.has(last.field) ? "nano" : undefined;
  const map = fieldOf(parent);
  if (map === "target" && METRIC_TARGET_QUANTITIES.has(last.field)) return "nano";
  if (map === undefined) return undefined;
  if (QUANTITY_MAPS.has(map)) return "milli";
  const inLimitRange = listItem !== undefined && !("field" in listItem) && fieldOf(list) === "limits";
  return LIMIT_RANGE_MAPS.has(map) && inLimitRange ? "milli" : undefined;
}

function fieldOf(segment: PathSegment | undefined): string | undefined {
  return segment && "field" in segment ? segment.field : undefined;
}
