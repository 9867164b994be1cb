/** Loads rule files and named lists from the rules directory, checking each against its schema. */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { RuleFile } from "../../schemas/index.ts";
import { RiposteError } from "../shared/errors.ts";
import { sha256 } from "../shared/ids.ts";
import { issuesOf, listFiles, parseDoc } from "../shared/rulefiles.ts";
import { checkCondition } from "./compile.ts";
import { IndicatorList } from "./lists.ts";
import { checkOperatorValue, type NamedLists } from "./operators.ts";
import type { LoadedRule } from "./ruleset.ts";

interface LeafLike {
  operator?: string;
  value?: unknown;
  all?: LeafLike[];
  any?: LeafLike[];
  not?: LeafLike;
}

function leaves(c: LeafLike): LeafLike[] {
  return [...(c.all ?? []), ...(c.any ?? []), ...(c.not ? [c.not] : [])].flatMap(leaves).concat(c.operator ? [c] : []);
}

/**
 * Named lists: rules/lists/<name>.txt, one entry per line, `#` comments, matched canonically (lists.ts). Entries
 * imported into state (`riposte lists import`) are merged into the list of the same name by ImportedLists.
 */
export async function loadLists(rulesDir: string): Promise<Map<string, IndicatorList>> {
  const dir = join(rulesDir, "lists");
  const lists = new Map<string, IndicatorList>();
  let files: string[] = [];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith(".txt"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  for (const f of files) {
    const text = await readFile(join(dir, f), "utf8");
    const entries = text
      .split("\n")
      .map((l) => l.replace(/#.*/, "").trim())
      .filter(Boolean);
    lists.set(f.replace(/\.txt$/, ""), new IndicatorList(entries));
  }
  return lists;
}

/** Loads and checks every rule file; throws one error listing every invalid file. */
export async function loadRules(rulesDir: string, lists: NamedLists): Promise<LoadedRule[]> {
  const problems: string[] = [];
  const rules: LoadedRule[] = [];
  const seen = new Map<string, string>();
  for (const path of await listFiles(rulesDir)) {
    const file = relative(process.cwd(), path);
    const bytes = await readFile(path);
    let doc: unknown;
    try {
      doc = parseDoc(file, bytes.toString("utf8"));
    } catch (e) {
      problems.push((e as Error).message);
      continue;
    }
    const parsed = RuleFile.safeParse(doc);
    if (!parsed.success) {
      problems.push(issuesOf(file, parsed.error));
      continue;
    }
    const rule = parsed.data;
    for (const leaf of leaves(rule.match as LeafLike)) {
      const problem = checkOperatorValue(leaf.operator ?? "", leaf.value, lists);
      if (problem) problems.push(`${file}: ${leaf.operator}: ${problem}`);
    }
    if (!problems.some((p) => p.startsWith(`${file}: `))) {
      // What the compiled engine refuses (an `in` without a list, a pattern taken from another fact, ...).
      try {
        checkCondition(rule.match, lists);
      } catch (e) {
        problems.push(`${file}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const dup = seen.get(rule.id);
    if (dup) problems.push(`${file}: rule id "${rule.id}" is also used by ${dup}`);
    seen.set(rule.id, file);
    rules.push({ rule, hash: sha256(bytes), file });
  }
  if (problems.length > 0) {
    throw new RiposteError("RIPOSTE_RULE_INVALID", `invalid rule files:\n  - ${problems.join("\n  - ")}`);
  }
  return rules;
}
