// ESLint: typed rules (no floating promises), no import cycles, and a pure rule-engine core.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import noImportCycle from "./test/lint/no-import-cycle.js";

export default tseslint.config(
  { ignores: ["node_modules/", ".cache/", ".riposte/", "schemas/json/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["eslint.config.js", "bin/riposte.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { riposte: { rules: { "no-import-cycle": noImportCycle } } },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", name: ["test", "it", "describe", "suite"], package: "node:test" },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "riposte/no-import-cycle": "error",
      "no-restricted-syntax": ["error", { selector: "TSEnumDeclaration", message: "enums are not erasable syntax" }],
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // Rule evaluation and normalization are pure: no I/O in these modules.
    files: [
      "services/correlator/ruleset.ts",
      "services/correlator/operators.ts",
      "services/ingest/normalizers/**/*.ts",
      "services/shared/template.ts",
    ],
    ignores: ["**/*.test.ts", "services/ingest/normalizers/testing.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["node:fs*", "node:http*", "node:child_process", "node:dgram", "node:tls", "fs", "http", "https"],
              message: "pure modules do no I/O",
            },
            { group: ["kafkajs", "ioredis", "fastify", "**/bus/**", "**/state/**"], message: "pure modules do no I/O" },
          ],
        },
      ],
      "no-restricted-globals": ["error", { name: "fetch", message: "pure modules do no I/O" }],
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
    },
  },
  { files: ["**/*.js"], ...tseslint.configs.disableTypeChecked },
  { files: ["bin/*.js"], languageOptions: { globals: { process: "readonly" } } },
);
