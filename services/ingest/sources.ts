/**
 * Loads source mapping files, `<rules dir>/sources/*.yaml` (or .yml, .json), into normalizers and registers them.
 * Every problem names file:line:column.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { RiposteError } from "../shared/errors.ts";
import { formatProblem, parseWithPositions, type FileProblem } from "../shared/yaml-positions.ts";
import { BUILTIN_FORMATS, registerSourceMappings, type Normalizer } from "./normalizers/index.ts";
import { compileMapping } from "./normalizers/mapping.ts";

/** A mapping file's text checked and compiled: its normalizer, or its problems. */
export function checkMappingText(
  file: string,
  text: string,
): { ok: true; normalizer: Normalizer } | { ok: false; problems: FileProblem[] } {
  const parsed = parseWithPositions(file, text);
  if (!parsed.ok) return parsed;
  const compiled = compileMapping(parsed.doc.value);
  if (!compiled.ok)
    return {
      ok: false,
      problems: compiled.problems.map((p) => ({ file, ...parsed.doc.at(p.path), message: p.message })),
    };
  const n = compiled.normalizer;
  const taken = [n.format, ...(n.aliases ?? [])].filter((name) => BUILTIN_FORMATS.has(name));
  if (taken.length > 0)
    return {
      ok: false,
      problems: [
        { file, ...parsed.doc.at(["format"]), message: `${taken.join(", ")}: a built-in format has this name` },
      ],
    };
  return { ok: true, normalizer: n };
}

/** The mapping files of a rules directory, sorted; none when it has no sources/ folder. */
export async function mappingFiles(rulesDir: string): Promise<string[]> {
  const dir = join(rulesDir, "sources");
  try {
    return (await readdir(dir))
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()
      .map((f) => join(dir, f));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** Checks mapping files (also that no two share a format name); the normalizers when all are valid. */
export async function checkMappingFiles(
  paths: readonly string[],
): Promise<{ normalizers: Normalizer[]; problems: FileProblem[] }> {
  const normalizers: Normalizer[] = [];
  const problems: FileProblem[] = [];
  const owner = new Map<string, string>();
  for (const path of paths) {
    const rel = relative(process.cwd(), path);
    const file = rel && !rel.startsWith("..") ? rel : path;
    const text = await readFile(path, "utf8");
    const out = checkMappingText(file, text);
    if (!out.ok) {
      problems.push(...out.problems);
      continue;
    }
    const n = out.normalizer;
    const clash = [n.format, ...(n.aliases ?? [])].find((name) => owner.has(name));
    if (clash) {
      const at = parseWithPositions(file, text);
      const pos = at.ok ? at.doc.at(["format"]) : { line: 1, column: 1 };
      problems.push({ file, ...pos, message: `format name "${clash}" is also used by ${owner.get(clash)}` });
      continue;
    }
    for (const name of [n.format, ...(n.aliases ?? [])]) owner.set(name, file);
    normalizers.push(n);
  }
  return { normalizers, problems };
}

/**
 * Loads and registers every mapping file of the rules directory (replacing those registered before); throws
 * RIPOSTE_RULE_INVALID listing every problem when one is invalid, and registers nothing then.
 */
export async function loadSourceMappings(rulesDir: string, extra: readonly string[] = []): Promise<Normalizer[]> {
  const { normalizers, problems } = await checkMappingFiles([...(await mappingFiles(rulesDir)), ...extra]);
  if (problems.length > 0) {
    throw new RiposteError(
      "RIPOSTE_RULE_INVALID",
      `invalid source mapping files:\n  - ${problems.map(formatProblem).join("\n  - ")}`,
    );
  }
  registerSourceMappings(normalizers);
  return normalizers;
}
