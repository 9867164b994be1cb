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
import { renderAll, valueAt } from "../shared/template.ts";
import { CONNECTORS } from "./connectors/index.ts";
import { preparePlaybook } from "./plan.ts";

const lists = await loadLists("rules");
const rules = (await loadRules("rules", lists)).map((l) => l.rule);
const playbooks = await loadPlaybooks("rules");

/** A realistic sample of each target type (a dry run of the real values, so the action's input checks apply). */
const SAMPLE_TARGET: Record<string, string> = {
  ip: "203.0.113.7",
  host: "fin-ws-042",
  user: "j.doe@example.com",
  email: "j.doe@example.com",
  mailbox_message: "<f00d@mail.example.com>",
  url: "https://bad.example/login",
  domain: "bad.example",
  hash: "44d88612fea8a8f36de82e1278abb02f",
};
const SAMPLE_PARAM: Record<string, unknown> = {
  sender: "billing@evil.example",
  recipients: ["ann@example.com", "bob@example.com"],
};

/** What the executor renders step params from (executor.ts templateData, dataOf), for one rule's decision. */
function decisionData(rule: (typeof rules)[number]) {
  const d = rule.decision;
  assert.ok(d);
  return {
    target: { type: d.target.type, value: SAMPLE_TARGET[d.target.type] ?? "sample-target" },
    params: Object.fromEntries(Object.keys(d.params).map((k) => [k, SAMPLE_PARAM[k] ?? `sample ${k}`])),
    alert: { uid: "alert-1", fingerprint: "f", entity_key: "user:sample", class_uid: 2004, title: "t", source: "s" },
    decision: { id: "decision-1", score: 50 },
    rule: { id: rule.id, version: rule.version, hash: "0".repeat(64), name: rule.name },
    incident: { id: "inc-1", alert_ids: ["alert-1"], decisions: [], severity: "High", score: 60 },
  };
}

/** Earlier steps' outputs as the vendors answer them (so templates and for_each over them render). */
const SAMPLE_STEPS = {
  find: {
    status: "succeeded",
    state: "succeeded",
    output: {
      copies: [{ mailbox: "ann@example.com", message_id: "AAMkAGI1" }],
      mailboxes_with_copies: ["ann@example.com"],
    },
  },
};

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
      const data = { ...decisionData(rule), steps: SAMPLE_STEPS };
      const prepared = preparePlaybook(book);
      for (const [i, step] of book.steps.entries()) {
        // A step whose if is false for this rule's decisions never renders (purge-phishing's search for a
        // Defender alert, the other EDR's steps); both sides of a condition on the incident are rendered.
        const cond = prepared.conditions[i];
        if (cond && !cond(data) && !JSON.stringify(step.if).includes('"incident"')) continue;
        const connector = CONNECTORS.find((c) => c.name === step.connector);
        assert.ok(connector, `${playbook}/${step.id}: no connector ${step.connector}`);
        const action = connector.actions[step.action];
        assert.ok(action, `${playbook}/${step.id}: ${step.connector} has no action ${step.action}`);
        // A param the rule does not give throws RIPOSTE_TEMPLATE_MISSING here, as it would in the executor.
        // A for_each step renders once per item: a sample item of the list it names.
        const list = step.for_each ? valueAt(data, step.for_each) : undefined;
        const item = Array.isArray(list) ? list[0] : (list ?? "sample-item@example.com");
        const params = renderAll(step.params, step.for_each ? { ...data, item } : data);
        const input = action.input.safeParse(params);
        assert.ok(input.success, `${playbook}/${step.id}: ${input.error?.message ?? ""}`);
      }
    });
  }
});
