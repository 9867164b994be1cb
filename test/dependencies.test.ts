/**
 * Every package the product imports is declared in package.json's `dependencies` (a package that is only present
 * because another one pulled it in breaks on the next install that hoists differently; a devDependency is absent
 * from a production install). Test code may also use devDependencies.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { glob } from "node:fs/promises";
import { builtinModules } from "node:module";
import { test } from "node:test";

const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Bare specifiers of static imports, re-exports and dynamic imports with a literal. */
export function importedPackages(source: string): string[] {
  const out = new Set<string>();
  const re =
    /(?:^|[\s;])(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|^import\s*["']([^"']+)["']/gm;
  for (const m of source.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? "";
    if (spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("node:")) continue;
    const parts = spec.split("/");
    const name = spec.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
    if (builtinModules.includes(name)) continue;
    out.add(name);
  }
  return [...out];
}

const isTestCode = (f: string) => f.startsWith("test/") || /\.(test|testing)\.ts$/.test(f);

test("the import scanner sees static, type-only, re-exported and dynamic imports, not relative or node: ones", () => {
  const src = [
    'import { a } from "pkg-a";',
    'import type { B } from "@scope/b/sub";',
    'export { c } from "pkg-c";',
    'const d = await import("pkg-d");',
    'import "pkg-e";',
    'import { f } from "./local.ts";',
    'import { g } from "node:fs";',
    'import { h } from "fs";',
  ].join("\n");
  assert.deepEqual(importedPackages(src).sort(), ["@scope/b", "pkg-a", "pkg-c", "pkg-d", "pkg-e"]);
});

test("every package the product imports is a declared dependency; test code may use devDependencies too", async () => {
  const missing: string[] = [];
  for await (const f of glob(["services/**/*.ts", "schemas/**/*.ts", "bin/**/*.js", "test/**/*.ts"])) {
    const file = f.replaceAll("\\", "/");
    // This file's own scanner test spells imports inside strings.
    if (file === "test/dependencies.test.ts") continue;
    const allowed = isTestCode(file) ? { ...pkg.dependencies, ...pkg.devDependencies } : pkg.dependencies;
    for (const name of importedPackages(readFileSync(file, "utf8"))) {
      if (!Object.hasOwn(allowed, name)) missing.push(`${file} imports ${name}`);
    }
  }
  assert.deepEqual(missing, [], "declare these in package.json (dependencies for product code)");
});
