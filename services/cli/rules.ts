/** `riposte rules check [DIR]`: loads rules, lists and playbooks exactly as the services do. */
import { loadLists, loadRules } from "../correlator/load.ts";
import { loadPlaybooks } from "../shared/rulefiles.ts";
import { Executor } from "../executor/executor.ts";
import { CONNECTORS } from "../executor/connectors/index.ts";
import { MemoryBus } from "../shared/bus/index.ts";
import { MemoryState } from "../shared/state/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";

export async function rulesCheckCommand(dir: string): Promise<number> {
  const lists = await loadLists(dir);
  const rules = await loadRules(dir, lists);
  const playbooks = await loadPlaybooks(dir);
  const state = new MemoryState();
  new Executor({
    bus: new MemoryBus(),
    state,
    topics: topicNames("check"),
    playbooks,
    connectors: CONNECTORS,
    connectorConfig: {},
    log: silentLogger,
    metrics: new Metrics(),
    statePrefix: "check",
  });
  await state.close();
  const problems = rules
    .filter((r) => r.rule.decision && !playbooks.has(r.rule.decision.playbook))
    .map((r) => `${r.file}: decision names playbook "${r.rule.decision?.playbook}", which is not in ${dir}/playbooks`);
  for (const p of problems) process.stderr.write(`${p}\n`);
  process.stdout.write(
    `${rules.length} rules, ${playbooks.size} playbooks, ${lists.size} lists: ${problems.length === 0 ? "ok" : `${problems.length} problems`}\n`,
  );
  return problems.length === 0 ? 0 : 1;
}
