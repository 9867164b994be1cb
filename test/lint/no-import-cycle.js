// ESLint rule: no import cycles between the project's modules (runtime imports; `import type` is erased).
// Each file's relative imports are read once per lint run; a cycle is reported at the import that closes it.
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { cwd } from "node:process";

const IMPORT =
  /^\s*(import|export)\s+(?!type\b)[^;]*?\sfrom\s+["'](\.{1,2}\/[^"']+)["']|^\s*import\s+["'](\.{1,2}\/[^"']+)["']/gm;
const graph = new Map();

function depsOf(file) {
  let deps = graph.get(file);
  if (deps) return deps;
  deps = [];
  graph.set(file, deps);
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return deps;
  }
  for (const m of text.matchAll(IMPORT)) deps.push(resolve(dirname(file), m[2] ?? m[3]));
  return deps;
}

function pathBack(from, to, seen = new Set()) {
  if (from === to) return [to];
  if (seen.has(from)) return undefined;
  seen.add(from);
  for (const d of depsOf(from)) {
    const rest = pathBack(d, to, seen);
    if (rest) return [from, ...rest];
  }
  return undefined;
}

export default {
  meta: { type: "problem", docs: { description: "forbid import cycles between project modules" }, schema: [] },
  create(context) {
    const file = resolve(context.filename);
    const check = (node) => {
      if (!node.source || typeof node.source.value !== "string" || !node.source.value.startsWith(".")) return;
      if (node.importKind === "type" || node.exportKind === "type") return;
      const target = resolve(dirname(file), node.source.value);
      const cycle = pathBack(target, file);
      if (cycle) {
        const names = [file, ...cycle].map((f) => relative(cwd(), f));
        context.report({ node, message: `import cycle: ${names.join(" → ")}` });
      }
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};
