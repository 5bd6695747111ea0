/**
 * Quantities as a manifest declares them (a YAML number, or a string) and the text the
 * kube-apiserver stores for each. The unit test checks the comparison against this table;
 * test/integration/quantities.test.ts applies every declared value to the real apiserver
 * and checks it stores exactly this text, so the table is a fact, not a guess.
 */
export const STORED_QUANTITIES: readonly (readonly [declared: number | string, stored: string])[] = [
  [0.1, "100m"],
  [0.2, "200m"],
  [0.3, "300m"],
  [0.05, "50m"],
  [0.15, "150m"],
  [0.35, "350m"],
  [0.7, "700m"],
  [0.9, "900m"],
  [1.1, "1100m"],
  [3.3, "3300m"],
  [64.1, "64100m"],
  [0.001, "1m"],
  [0.0001, "100u"],
  [0.12345, "123450u"],
  [123.456, "123456m"],
  [0.5, "500m"],
  [0.25, "250m"],
  [1.5, "1500m"],
  [1.25, "1250m"],
  [2.5, "2500m"],
  [2, "2"],
  [1e3, "1k"],
  [1500, "1500"],
  // Go's encoding/json writes these with an exponent, as JavaScript does: 1e-7, 1e+21.
  [1e-7, "100e-9"],
  [1e21, "1e21"],
  // Finer than 1n: ParseQuantity rounds up to the next nano.
  [1e-10, "1e-9"],
  [0.1234567891, "123456790n"],
  ["0.1", "100m"],
  ["100m", "100m"],
  ["1e3", "1e3"],
  ["1000", "1k"],
  ["5000m", "5"],
  ["1000M", "1G"],
  ["1024Mi", "1Gi"],
  ["1.5Gi", "1536Mi"],
  ["1.1Gi", "1181116006400m"],
  ["0.1Ki", "102400m"],
  ["100Mi", "100Mi"],
  ["104857600", "104857600"],
  [".5", "500m"],
];
