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
const NANO = 10n ** 9n;
/** ParseQuantity caps binary-suffixed values at the largest int64. */
const MAX_BINARY = 2n ** 63n - 1n;

/**
 * The value the apiserver stores for a manifest value: a quantity string, or a YAML number.
 * A number reaches the apiserver as the JSON Go's encoding/json writes for the float64 that
 * YAML decoding produced: the shortest decimal that reads back as the same double (0.1 ->
 * `0.1`, 1e-7 -> `1e-7`, 1e21 -> `1e+21`), which is exactly JavaScript's String(number).
 */
export function parseQuantity(value: unknown): Quantity | undefined {
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
  let magnitude = roundUpToNano({ numerator, denominator });
  if (binary !== undefined && magnitude.numerator > MAX_BINARY * magnitude.denominator)
    magnitude = { numerator: MAX_BINARY, denominator: 1n };
  return sign === "-" ? { ...magnitude, numerator: -magnitude.numerator } : magnitude;
}

/**
 * ParseQuantity rounds a non-zero value finer than 1n up (away from zero) to the next
 * nano, "if you want some resources, you should get some": `1e-10` is stored as `1n`.
 */
function roundUpToNano(value: Quantity): Quantity {
  const scaled = value.numerator * NANO;
  if (scaled % value.denominator === 0n) return value;
  return { numerator: scaled / value.denominator + 1n, denominator: NANO };
}

export function quantitiesEqual(a: Quantity, b: Quantity): boolean {
  return a.numerator * b.denominator === b.numerator * a.denominator;
}

/**
 * Maps whose values are quantities: container, pod-level and PVC `requests`/`limits`
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
/** LimitRange `spec.limits[]` maps of quantities. */
const LIMIT_RANGE_MAPS = new Set(["default", "defaultRequest", "max", "min", "maxLimitRequestRatio"]);
/** HorizontalPodAutoscaler (autoscaling/v2) metric targets that are quantities. */
const METRIC_TARGET_QUANTITIES = new Set(["value", "averageValue"]);
/** CSIStorageCapacity's top-level quantities. */
const TOP_LEVEL_QUANTITIES = new Set(["capacity", "maximumVolumeSize"]);

/** Whether a declared path holds a resource quantity, so values compare by what they mean. */
export function isQuantityPath(path: FieldPath): boolean {
  const [last, parent, listItem, list] = [path.at(-1), path.at(-2), path.at(-3), path.at(-4)];
  if (!last || !("field" in last)) return false;
  if (last.field === "sizeLimit") return true; // emptyDir
  if (path.length === 1) return TOP_LEVEL_QUANTITIES.has(last.field);
  if (fieldOf(parent) === "target" && METRIC_TARGET_QUANTITIES.has(last.field)) return true;
  const map = fieldOf(parent);
  if (map === undefined) return false;
  if (QUANTITY_MAPS.has(map)) return true;
  return (
    LIMIT_RANGE_MAPS.has(map) &&
    listItem !== undefined &&
    !("field" in listItem) &&
    fieldOf(list) === "limits"
  );
}

function fieldOf(segment: PathSegment | undefined): string | undefined {
  return segment && "field" in segment ? segment.field : undefined;
}
