/**
 * The shipped playbooks against the shipped rules: every step names an action a connector has, and its params,
 * rendered from the decision of each rule that asks for the playbook, are what the action takes. `rules validate`
 * checks files one by one; this checks them together, so that a typo in a param or a rule that forgets a param the
 * playbook uses fails here rather than as a failed step in production.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadLists, loadRules } from "../correlator/index.ts";
import { loadPlaybooks } from "../shared/rulefiles.ts";
import { renderAll } from "../shared/template.ts";
import { CONNECTORS } from "./connectors/index.ts";

const lists = await loadLists("rules");
const rules = (await loadRules("rules", lists)).map((l) => l.rule);
const playbooks = await loadPlaybooks("rules");

/** What the executor renders step params from (executor.ts templateData), for one rule's decision. */
function decisionData(rule: (typeof rules)[number]) {
  const d = rule.decision;
  assert.ok(d);
  return {
    target: { type: d.target.type, value: d.target.type === "ip" ? "203.0.113.7" : "sample-target" },
    params: Object.fromEntries(Object.keys(d.params).map((k) => [k, `sample ${k}`])),
    alert: { uid: "alert-1", fingerprint: "f", entity_key: "user:sample", class_uid: 2004, title: "t", source: "s" },
    decision: { id: "decision-1", score: 50 },
    rule: { id: rule.id, version: rule.version, hash: "0".repeat(64), name: rule.name },
  };
}

describe("shipped playbooks", () => {
  test("every rule's playbook exists and every playbook is used by a rule", () => {
    const used = new Set(rules.flatMap((r) => (r.decision ? [r.decision.playbook] : [])));
    for (const id of used) assert.ok(playbooks.has(id), `playbook ${id} is missing`);
    for (const id of playbooks.keys()) assert.ok(used.has(id), `playbook ${id} is used by no rule`);
  });

  for (const rule of rules.filter((r) => r.decision)) {
    const playbook = rule.decision?.playbook ?? "";
    test(`${rule.id} → ${playbook}: each step's params render and are the action's input`, () => {
      const book = playbooks.get(playbook);
      assert.ok(book, playbook);
      const data = decisionData(rule);
      for (const step of book.steps) {
        const connector = CONNECTORS.find((c) => c.name === step.connector);
        assert.ok(connector, `${playbook}/${step.id}: no connector ${step.connector}`);
        const action = connector.actions[step.action];
        assert.ok(action, `${playbook}/${step.id}: ${step.connector} has no action ${step.action}`);
        // A param the rule does not give throws RIPOSTE_TEMPLATE_MISSING here, as it would in the executor.
        // A for_each step renders once per item: a sample item of the list it names.
        const params = renderAll(step.params, step.for_each ? { ...data, item: "sample-item@example.com" } : data);
        const input = action.input.safeParse(params);
        assert.ok(input.success, `${playbook}/${step.id}: ${input.error?.message ?? ""}`);
      }
    });
  }
});
