import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The floors of src/, lowest first: data flows up from the cluster (kube, read) through pure
 * analysis to the finished report and its outputs. A module imports only from floors below its
 * own (tests may import anything). docs/architecture.md says what each floor is for.
 */
const FLOORS = [
  ["util", "log"],
  ["kube", "helm", "model"],
  ["analysis"],
  ["read", "config", "report"],
  ["scan", "metrics", "server", "output"],
  ["serve"],
  ["cli"],
];

/** For each folder, a rule refusing imports from its own floor's other folders and every floor above. */
function floorRules() {
  return FLOORS.flatMap((floor, level) =>
    floor.map((folder) => {
      const refused = [...floor.filter((other) => other !== folder), ...FLOORS.slice(level + 1).flat()];
      return {
        files: [`src/${folder}/**/*.ts`],
        ignores: ["src/**/*.test.ts"],
        rules: {
          "no-restricted-imports": [
            "error",
            {
              patterns: [
                {
                  regex: `^(\\.\\./)+(${refused.join("|")})/`,
                  message: `src/${folder} is on floor ${String(level)} of docs/architecture.md: it imports only from floors below it.`,
                },
              ],
            },
          ],
        },
      };
    }),
  );
}

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".cluster/", "coverage/"] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["eslint.config.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowBoolean: true },
      ],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      // @kubernetes/client-node models are plain data classes that its own docs build from object literals.
      "@typescript-eslint/no-unsafe-class-instance-assignment": "off",
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts"],
    rules: {
      // node:test's describe/it return promises the runner awaits itself.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] },
          ],
        },
      ],
    },
  },
  ...floorRules(),
  { files: ["eslint.config.js"], extends: [tseslint.configs.disableTypeChecked] },
);
