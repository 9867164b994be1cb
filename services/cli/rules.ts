/**
 * `riposte rules validate [DIR]` (alias `rules check`): checks rule files, playbooks, lists and source mappings as the
 * services load them, and names every problem as file:line:column. Exit 1 on any problem.
 */
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { PlaybookFile, RuleFile, type ConditionShape } from "../../schemas/index.ts";
import { checkCondition } from "../correlator/compile.ts";
import { loadLists, loadRules } from "../correlator/load.ts";
import { correlationProblems } from "../correlator/correlation.ts";
import { checkOperatorValue, type NamedLists } from "../correlator/operators.ts";
import { RuleSet } from "../correlator/ruleset.ts";
import { CONNECTORS, Executor } from "../executor/index.ts";
import { checkMappingFiles, mappingFiles } from "../ingest/sources.ts";
import { MemoryBus } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { messageOf } from "../shared/errors.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { listFiles, loadPlaybooks } from "../shared/rulefiles.ts";
import { MemoryState } from "../shared/state/index.ts";
import { formatProblem, parseWithPositions, type FileProblem, type PositionedDoc } from "../shared/yaml-positions.ts";

type Problems = FileProblem[];
export interface Issue {
  readonly path: PropertyKey[];
  readonly message: string;
  readonly code?: string;
  readonly errors?: Issue[][];
}

/**
 * The issues to show for a union that matched no branch (a rule's condition is all/any/not or a leaf): the branch
 * with the fewest issues is what the author most likely meant, so its issues stand for the union's, recursively.
 */
export function specific(issues: readonly Issue[], prefix: PropertyKey[] = []): Issue[] {
  return issues.flatMap((i) => {
    const path = [...prefix, ...i.path];
    if (i.code !== "invalid_union" || !i.errors?.length) return [{ path, message: i.message }];
    const best = [...i.errors].sort((a, b) => a.length - b.length)[0] ?? [];
    return best.length === 0 ? [{ path, message: i.message }] : specific(best, path);
  });
}

/** A path as the reader sees it: relative to the working directory when inside it. */
function shown(path: string): string {
  const r = relative(process.cwd(), path);
  return r && !r.startsWith("..") ? r : path;
}

/** Reads and parses a file against a schema; schema issues are placed at the path they name. */
async function checked<T>(
  path: string,
  schema: {
    safeParse(
      v: unknown,
    ):
      | { success: true; data: T }
      | { success: false; error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } };
  },
  problems: Problems,
): Promise<{ file: string; doc: PositionedDoc; data: T } | undefined> {
  const file = shown(path);
  const parsed = parseWithPositions(file, await readFile(path, "utf8"));
  if (!parsed.ok) {
    problems.push(...parsed.problems);
    return undefined;
  }
  const out = schema.safeParse(parsed.doc.value);
  if (!out.success) {
    for (const i of specific(out.error.issues)) problems.push({ file, ...parsed.doc.at(i.path), message: placed(i) });
    return undefined;
  }
  return { file, doc: parsed.doc, data: out.data };
}

const placed = (i: Issue) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`;

/** Every leaf condition of a rule's match, with its path in the file. */
function leaves(c: ConditionShape, path: PropertyKey[]): Array<{ leaf: ConditionShape; path: PropertyKey[] }> {
  const out: Array<{ leaf: ConditionShape; path: PropertyKey[] }> = [];
  c.all?.forEach((x, i) => out.push(...leaves(x, [...path, "all", i])));
  c.any?.forEach((x, i) => out.push(...leaves(x, [...path, "any", i])));
  if (c.not) out.push(...leaves(c.not, [...path, "not"]));
  if (c.operator) out.push({ leaf: c, path });
  return out;
}

async function checkRules(dir: string, lists: NamedLists, playbookIds: ReadonlySet<string>, problems: Problems) {
  const ids = new Map<string, string>();
  let count = 0;
  for (const path of await listFiles(dir)) {
    const r = await checked(path, RuleFile, problems);
    if (!r) continue;
    count++;
    for (const { leaf, path: at } of leaves(r.data.match, ["match"])) {
      const problem = checkOperatorValue(leaf.operator ?? "", leaf.value, lists);
      if (problem)
        problems.push({ file: r.file, ...r.doc.at([...at, "value"]), message: `${leaf.operator}: ${problem}` });
    }
    const dup = ids.get(r.data.id);
    if (dup)
      problems.push({ file: r.file, ...r.doc.at(["id"]), message: `rule id "${r.data.id}" is also used by ${dup}` });
    ids.set(r.data.id, r.file);
    const pb = r.data.decision?.playbook;
    if (pb !== undefined && !playbookIds.has(pb))
      problems.push({
        file: r.file,
        ...r.doc.at(["decision", "playbook"]),
        message: `decision names playbook "${pb}", which is not in ${join(dir, "playbooks")}`,
      });
  }
  return count;
}

async function checkPlaybooks(dir: string, lists: NamedLists, problems: Problems): Promise<Set<string>> {
  const ids = new Map<string, string>();
  for (const path of await listFiles(join(dir, "playbooks"))) {
    const p = await checked(path, PlaybookFile, problems);
    if (!p) continue;
    const dup = ids.get(p.data.id);
    if (dup)
      problems.push({
        file: p.file,
        ...p.doc.at(["id"]),
        message: `playbook id "${p.data.id}" is also used by ${dup}`,
      });
    ids.set(p.data.id, p.file);
    p.data.steps.forEach((s, i) => {
      const c = CONNECTORS.find((d) => d.name === s.connector);
      if (!c)
        problems.push({
          file: p.file,
          ...p.doc.at(["steps", i, "connector"]),
          message: `unknown connector "${s.connector}" (known: ${CONNECTORS.map((d) => d.name).join(", ")})`,
        });
      else if (!Object.hasOwn(c.actions, s.action))
        problems.push({
          file: p.file,
          ...p.doc.at(["steps", i, "action"]),
          message: `${s.connector} has no action "${s.action}" (it has ${Object.keys(c.actions).join(", ")})`,
        });
      // A step's `if` is checked as a rule's match is: each operator's value, then the whole condition.
      if (s.if) {
        let leafProblem = false;
        for (const { leaf, path: at } of leaves(s.if, ["steps", i, "if"])) {
          const problem = checkOperatorValue(leaf.operator ?? "", leaf.value, lists);
          if (problem) {
            leafProblem = true;
            problems.push({ file: p.file, ...p.doc.at([...at, "value"]), message: `${leaf.operator}: ${problem}` });
          }
        }
        if (!leafProblem) {
          try {
            checkCondition(s.if, lists);
          } catch (e) {
            problems.push({ file: p.file, ...p.doc.at(["steps", i, "if"]), message: `if: ${messageOf(e)}` });
          }
        }
      }
    });
  }
  return new Set(ids.keys());
}

/**
 * Loads everything once more exactly as the services do (rule compilation, the executor's checks): a problem only
 * they find has no position of its own, and is reported at the start of the file it names.
 */
async function loadAsServices(dir: string, problems: Problems): Promise<void> {
  try {
    const lists = await loadLists(dir);
    const rules = await loadRules(dir, lists);
    new RuleSet(rules, lists);
    // Correlations that name unknown rules, input rules nothing uses, ...: as the correlator refuses them at start.
    for (const p of correlationProblems(rules)) {
      const m = /^([^:]+): (.*)$/s.exec(p);
      problems.push({ file: m?.[1] ?? dir, line: 1, column: 1, message: m?.[2] ?? p });
    }
    const state = new MemoryState();
    new Executor({
      bus: new MemoryBus(),
      state,
      topics: topicNames("check"),
      playbooks: await loadPlaybooks(dir),
      connectors: CONNECTORS,
      connectorConfig: {},
      log: silentLogger,
      metrics: new Metrics(),
      statePrefix: "check",
    });
    await state.close();
  } catch (e) {
    for (const line of messageOf(e).split("\n").slice(1)) {
      const m = /^\s*- ([^:]+): (.*)$/.exec(line);
      problems.push(
        m
          ? { file: m[1] as string, line: 1, column: 1, message: m[2] as string }
          : { file: dir, line: 1, column: 1, message: line.trim() },
      );
    }
  }
}

export async function rulesValidateCommand(dir: string): Promise<number> {
  const problems: Problems = [];
  const lists = await loadLists(dir);
  const playbooks = await checkPlaybooks(dir, lists, problems);
  const rules = await checkRules(dir, lists, playbooks, problems);
  const mappings = await checkMappingFiles(await mappingFiles(dir));
  problems.push(...mappings.problems);
  if (problems.length === 0) await loadAsServices(dir, problems);
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
  process.stdout.write(
    `${rules} rules, ${playbooks.size} playbooks, ${lists.size} lists, ${mappings.normalizers.length} source mappings: ${problems.length === 0 ? "ok" : `${problems.length} problems`}\n`,
  );
  return problems.length === 0 ? 0 : 1;
}
