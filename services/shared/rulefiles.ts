/** Reading the YAML/JSON files detection engineers commit: rules, playbooks. */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { parse as parseYaml } from "yaml";
import { PlaybookFile } from "../../schemas/index.ts";
import { RiposteError } from "./errors.ts";

/**
 * Files of the rules directory that are not rules: `protected.yaml` (assets the executor never contains, read by
 * the executor's guards). Kept out of every rule and playbook listing.
 */
export const RESERVED_FILES: ReadonlySet<string> = new Set(["protected.yaml", "protected.yml"]);

const isRuleFile = (f: string) => /\.(ya?ml|json)$/.test(f) && !RESERVED_FILES.has(f);

/** Rule-like files (YAML or JSON) of a directory, sorted; none if it does not exist. */
export async function listFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir))
      .filter(isRuleFile)
      .sort()
      .map((f) => join(dir, f));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** Parses YAML or JSON, refusing aliases. */
export function parseDoc(file: string, text: string): unknown {
  try {
    // YAML is a superset of JSON; aliases are refused so a file cannot expand into a huge document.
    return parseYaml(text, { maxAliasCount: 0, prettyErrors: true });
  } catch (e) {
    throw new RiposteError("RIPOSTE_RULE_INVALID", `${file}: not valid YAML/JSON: ${(e as Error).message}`);
  }
}

/** One line naming every schema problem of a file. */
export function issuesOf(
  file: string,
  error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> },
): string {
  return `${file}: ${error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`).join("; ")}`;
}

/** Loads and checks every playbook in rules/playbooks/. */
export async function loadPlaybooks(rulesDir: string): Promise<Map<string, PlaybookFile>> {
  const problems: string[] = [];
  const out = new Map<string, PlaybookFile>();
  for (const path of await listFiles(join(rulesDir, "playbooks"))) {
    const file = relative(process.cwd(), path);
    let doc: unknown;
    try {
      doc = parseDoc(file, await readFile(path, "utf8"));
    } catch (e) {
      problems.push((e as Error).message);
      continue;
    }
    const parsed = PlaybookFile.safeParse(doc);
    if (!parsed.success) problems.push(issuesOf(file, parsed.error));
    else if (out.has(parsed.data.id)) problems.push(`${file}: playbook id "${parsed.data.id}" is used twice`);
    else out.set(parsed.data.id, parsed.data);
  }
  if (problems.length > 0) {
    throw new RiposteError("RIPOSTE_RULE_INVALID", `invalid playbook files:\n  - ${problems.join("\n  - ")}`);
  }
  return out;
}
