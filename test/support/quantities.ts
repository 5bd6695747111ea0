/**
 * Quantities as a manifest declares them (a YAML number, or a string) and the text the
 * kube-apiserver stores for each: in a ResourceList (container requests and limits, quota,
 * LimitRange...), whose values the core/v1 defaults round up to 1m, and in a lone quantity
 * (emptyDir sizeLimit), which ParseQuantity rounds up to 1n. The unit test checks the
 * comparison against this table; test/integration/quantities.test.ts applies every declared
 * value to the real apiserver and checks it stores exactly this text, so the table is a
 * fact, not a guess.
 */
export const STORED_QUANTITIES: readonly (readonly [
  declared: number | string,
  inResourceList: string,
  alone: string,
])[] = [
  [0.1, "100m", "100m"],
  [0.2, "200m", "200m"],
  [0.3, "300m", "300m"],
  [0.05, "50m", "50m"],
  [0.15, "150m", "150m"],
  [0.35, "350m", "350m"],
  [0.7, "700m", "700m"],
  [0.9, "900m", "900m"],
  [1.1, "1100m", "1100m"],
  [3.3, "3300m", "3300m"],
  [64.1, "64100m", "64100m"],
  [0.001, "1m", "1m"],
  [0.0001, "1m", "100u"],
  [0.12345, "124m", "123450u"],
  // The apiserver keeps the text of a value already in canonical form.
  [123.456, "123.456", "123.456"],
  [0.5, "500m", "500m"],
  [0.25, "250m", "250m"],
  [1.5, "1500m", "1500m"],
  [1.25, "1250m", "1250m"],
  [2.5, "2500m", "2500m"],
  [2, "2", "2"],
  [1000, "1k", "1k"],
  [1500, "1500", "1500"],
  // Go's encoding/json writes these with an exponent, as JavaScript does: 1e-7, 1e+21.
  [1e-7, "1e-3", "100e-9"],
  [1e21, "1e+21", "1e+21"],
  // Finer than the precision: rounded up (a ResourceList to 1m, any quantity to 1n).
  [1e-10, "1e-3", "1e-9"],
  [0.1234567891, "124m", "123456790n"],
  ["0.1", "100m", "100m"],
  ["100m", "100m", "100m"],
  ["1e3", "1e3", "1e3"],
  ["1000", "1k", "1k"],
  ["5000m", "5", "5"],
  ["1000M", "1G", "1G"],
  ["1024Mi", "1Gi", "1Gi"],
  ["1.5Gi", "1536Mi", "1536Mi"],
  ["1.1Gi", "1181116006400m", "1181116006400m"],
  ["0.1Ki", "102400m", "102400m"],
  ["100Mi", "100Mi", "100Mi"],
  ["104857600", "104857600", "104857600"],
  [".5", "500m", "500m"],
];
