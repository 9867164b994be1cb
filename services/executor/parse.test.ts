/**
 * The fast parsing the executor uses (parse and safeParse of schemas/fast-parse.ts) against zod itself, over
 * decisions, audit records, run documents and every connector action's input, each with many mutations: the same
 * value, or the same refusal. And a run document's JSON (runs.ts runText, written from cached texts) against
 * JSON.stringify.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { z } from "zod";
import { Decision } from "../../schemas/index.ts";
import { AuditRecord } from "./audit.ts";
import { CONNECTORS } from "./connectors/index.ts";
import { parse, safeParse } from "../../schemas/fast-parse.ts";
import { RunDoc } from "./run-schema.ts";
import { knownText, runText } from "./runs.ts";

const decision: Decision = {
  id: "d1",
  outcome: "respond",
  time: 1_700_000_000_000,
  alert: {
    uid: "a1",
    fingerprint: "f",
    entity_key: "host:web-01",
    class_uid: 2004,
    title: "t",
    source: "s",
    severity_id: 4,
    time: 1,
  },
  rule: { id: "r", version: 1, hash: "h", name: "n" },
  playbook: "isolate-host",
  target: { type: "host", value: "web-01" },
  params: { reason: "x", nested: { a: [1, 2] } },
  approval: "none",
  correlation: { type: "event_count", group: { user: "u" }, window: { start: 1, end: 2 }, count: 3 },
};

const record: AuditRecord = {
  id: "x1",
  decision_id: "d1",
  playbook: "isolate-host",
  playbook_version: 2,
  playbook_hash: "abc",
  run_id: "r1",
  step: "contain",
  connector: "crowdstrike",
  action: "contain_host",
  classification: "containment",
  status: "refused_stale",
  target: { type: "host", value: "web-01" },
  attempts: 0,
  started: 1,
  finished: 2,
  request: { host: "web-01" },
  response: { reason: "old" },
  rule_id: "r",
  alert_uid: "a1",
  trace_id: "t",
  approval: { id: "ap", verdict: "approved", by: "alice", at: 5 },
};

const run: RunDoc = {
  id: "r1",
  decision_id: "d1",
  decision,
  playbook: { id: "isolate-host", version: 2, hash: "abc" },
  status: "failed",
  owner: "o",
  takeovers: 0,
  started: 1,
  updated: 2,
  finished: 3,
  steps: {
    contain: {
      state: "failed",
      status: "refused_stale",
      attempts: 0,
      output: { reason: "old" },
      items: [{ action_id: "x1", status: "refused_stale", attempts: 0, latency_ms: 1 }],
    },
    notify: { state: "pending", attempts: 0 },
  },
  actions: [record],
  version: 3,
};

const ODD: readonly unknown[] = [undefined, null, "", "x", 0, -1, 1.5, Number.NaN, true, [], {}, [1], { a: 1 }];

/** The value with one property (at any depth) deleted, replaced by an odd value, or an extra key added. */
function mutations(value: unknown, depth = 0): unknown[] {
  if (typeof value !== "object" || value === null || depth > 3) return [];
  const out: unknown[] = [];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  const copy = (): Record<string, unknown> => (Array.isArray(value) ? [...value] : { ...value }) as never;
  for (const [k, v] of entries) {
    const without = copy();
    delete without[k];
    out.push(without);
    for (const odd of ODD) out.push({ ...copy(), [k]: odd });
    for (const m of mutations(v, depth + 1)) out.push({ ...copy(), [k]: m });
  }
  if (!Array.isArray(value)) out.push({ ...copy(), extra: 1 });
  return out;
}

/** parse and safeParse agree with zod on `value`: same output (keys in the same order), or both refuse. */
function agrees(schema: z.ZodType, value: unknown): void {
  const want = schema.safeParse(value);
  const got = safeParse(schema, value);
  assert.equal(got.success, want.success, JSON.stringify(value)?.slice(0, 300));
  if (!want.success) {
    assert.throws(() => parse(schema, value));
    return;
  }
  assert.deepStrictEqual(got.data, want.data);
  assert.equal(JSON.stringify(got.data), JSON.stringify(want.data));
  assert.deepStrictEqual(parse(schema, value), want.data);
}

test("decisions, audit records and run documents parse as zod parses them, mutations included", () => {
  for (const [schema, value] of [
    [Decision, decision],
    [AuditRecord, record],
    [RunDoc, run],
  ] as const) {
    agrees(schema, value);
    for (const m of mutations(value)) agrees(schema, m);
  }
});

test("every connector action's input parses as zod parses it", () => {
  const samples: Array<Record<string, unknown>> = [
    { host: "web-01" },
    { device_id: "0123456789abcdef0123456789abcdef" },
    { ip: "10.0.0.1", list: "block", ttl: "24h" },
    { ip: "10.0.0.1" },
    { user: "j.doe@example.com", reason: "x" },
    { title: "t", decision: "d", text: "x", channel: "#soc" },
    { summary: "s", description: "d", dedup_key: "k" },
    { url: "https://example.com/x", hash: "0".repeat(64), domain: "example.com" },
    {},
  ];
  let n = 0;
  for (const c of CONNECTORS)
    for (const action of Object.values(c.actions))
      for (const s of samples) {
        agrees(action.input, s);
        for (const m of mutations(s)) agrees(action.input, m);
        n++;
      }
  assert.ok(n > 100, `${n} inputs`);
});

test("a run document's JSON is JSON.stringify's, whatever texts were remembered", () => {
  const known = { ...record, id: "x2" };
  knownText(known, JSON.stringify(known));
  const doc = { ...run, actions: [record, known] };
  assert.deepStrictEqual(JSON.parse(runText(doc)), JSON.parse(JSON.stringify(doc)));
  assert.equal(runText(doc), runText(doc), "the same text on the next save");
  // The next save: one step moved on (a new object), the others as they were; step ids that look like numbers.
  const next = {
    ...doc,
    steps: { ...doc.steps, notify: { state: "running", attempts: 0, started: 9 }, "2": doc.steps["contain"] },
  };
  assert.deepStrictEqual(JSON.parse(runText(next as RunDoc)), JSON.parse(JSON.stringify(next)));
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie("value"), { maxLength: 3 }),
      fc.dictionary(fc.string(), tie("value"), { maxKeys: 4 }),
    ),
  })).value;
  fc.assert(
    fc.property(
      fc.dictionary(fc.string(), json, { maxKeys: 4 }),
      fc.dictionary(fc.string(), json, { maxKeys: 4 }),
      fc.array(fc.dictionary(fc.string(), json, { maxKeys: 3 }), { maxLength: 3 }),
      (params, output, responses) => {
        const d = { ...decision, params };
        const actions = responses.map((response, i) => ({ ...record, id: `r${i}`, response }));
        const r = { ...run, decision: d, actions, steps: { s: { state: "succeeded", attempts: 1, output } } };
        assert.deepStrictEqual(JSON.parse(runText(r as RunDoc)), JSON.parse(JSON.stringify(r)));
      },
    ),
    { numRuns: 300 },
  );
});
