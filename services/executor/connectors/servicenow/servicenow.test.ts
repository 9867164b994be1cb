/** The ServiceNow connector against the ServiceNow fake, through the executor: one incident per key, exactly once. */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  SN_PASSWORD,
  SN_USER,
  snError,
  startServiceNowFake,
  type ServiceNowFake,
} from "../../../../test/fakes/servicenow.ts";
import { decisionFor, live, playbookOf, runDecisions } from "../../../../test/support/steps.ts";
import { targetKey, type Decision } from "../../../../schemas/index.ts";
import { connectorVariables } from "../../../shared/config.ts";
import { MemoryState, stateKey } from "../../../shared/state/index.ts";
import { actionIdOf } from "../../executor.ts";
import { servicenow, serviceNowRetryAfterMs } from "./index.ts";

const CREDS = { username: SN_USER, password: SN_PASSWORD };
const TARGET = { type: "host" as const, value: "ws-042" };

const create = (params: Record<string, string> = {}, over: Record<string, unknown> = {}) =>
  playbookOf("sn-test", [
    {
      id: "s",
      connector: "servicenow",
      action: "create_incident",
      params: {
        short_description: "Contained {{target.value}}",
        description: "Host contained by Riposte.",
        dedup_key: "inc-1234",
        ...params,
      },
      ...over,
    },
  ]);

async function earlierAttempt(state: MemoryState, d: Decision) {
  await state.seen(stateKey("steps", targetKey(TARGET), "attempt", actionIdOf(d.id, "s")), 60_000);
}

describe("servicenow connector", () => {
  let fake: ServiceNowFake;
  before(async () => {
    fake = await startServiceNowFake();
  });
  after(async () => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.faults.length = 0;
    fake.incidents.length = 0;
    fake.denyInsert = false;
    fake.holdCreateMs = 0;
  });

  const run = (
    playbook = create(),
    opts: { creds?: Record<string, string>; state?: MemoryState; decisions?: Decision[] } = {},
  ) =>
    runDecisions({
      playbook,
      decisions: opts.decisions ?? [decisionFor("sn-test", TARGET)],
      connectorConfig: { servicenow: live(fake.url, opts.creds ?? CREDS) },
      ...(opts.state ? { state: opts.state } : {}),
    });

  test("reads exactly RIPOSTE_CONNECTOR_SERVICENOW_URL, _USERNAME and _PASSWORD", () => {
    assert.deepEqual(connectorVariables(servicenow), [
      "RIPOSTE_CONNECTOR_SERVICENOW_URL",
      "RIPOSTE_CONNECTOR_SERVICENOW_USERNAME",
      "RIPOSTE_CONNECTOR_SERVICENOW_PASSWORD",
    ]);
  });

  test("create_incident looks the correlation_id up, then creates one incident (basic auth)", async () => {
    const [a] = await run();
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.deepEqual(
      fake.requests.map((r) => `${r.method} ${r.path}`),
      ["GET /api/now/table/incident", "POST /api/now/table/incident"],
    );
    assert.equal(fake.requests[0]?.query.get("sysparm_query"), "correlation_id=inc-1234^ORDERBYsys_created_on");
    assert.equal(fake.requests[0]?.query.get("sysparm_limit"), "1");
    const basic = `Basic ${Buffer.from(`${SN_USER}:${SN_PASSWORD}`).toString("base64")}`;
    assert.ok(fake.requests.every((r) => r.headers.authorization === basic));
    assert.deepEqual(JSON.parse(fake.creates()[0]?.body ?? ""), {
      short_description: "Contained ws-042",
      description: "Host contained by Riposte.",
      urgency: "2",
      impact: "2",
      correlation_id: "inc-1234",
      correlation_display: "Riposte",
    });
    const inc = fake.incidents[0];
    assert.deepEqual(a?.response, {
      sys_id: inc?.sys_id,
      number: "INC0010001",
      state: "1",
      url: `${fake.url}/incident.do?sys_id=${inc?.sys_id}`,
      created: true,
    });
  });

  test("a second decision about the same incident adds a work note instead of opening another", async () => {
    await run();
    const [b] = await run(create({ work_notes: "Second alert: lateral movement" }));
    assert.equal(b?.status, "succeeded", JSON.stringify(b));
    assert.equal(b?.response?.["created"], false);
    assert.equal(fake.creates().length, 1);
    assert.equal(fake.updates().length, 1);
    assert.deepEqual(fake.incidents[0]?.work_notes, ["Second alert: lateral movement"]);
  });

  test("two executors deciding about the same incident at once open one incident and add a note to it", async () => {
    fake.holdCreateMs = 300;
    const state = new MemoryState();
    const both = await Promise.all([run(create(), { state }), run(create({ work_notes: "at once" }), { state })]);
    assert.deepEqual(
      both.map(([r]) => r?.status),
      ["succeeded", "succeeded"],
      JSON.stringify(both),
    );
    assert.deepEqual(both.map(([r]) => r?.response?.["created"]).sort(), [false, true]);
    assert.equal(fake.creates().length, 1, "exactly one insert");
    assert.deepEqual(fake.incidents[0]?.work_notes, ["at once"]);
  });

  test("unknown outcome: verify finds the incident and nothing is sent; finds none and one is created", async () => {
    const state = new MemoryState();
    const d1 = decisionFor("sn-test", TARGET);
    await run(); // the earlier attempt did create it
    fake.requests.length = 0;
    await earlierAttempt(state, d1);
    const [a] = await run(create(), { state, decisions: [d1] });
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(a?.response?.["verified"], true);
    assert.equal(fake.creates().length + fake.updates().length, 0);
    fake.incidents.length = 0;
    const d2 = decisionFor("sn-test", TARGET);
    await earlierAttempt(state, d2);
    const [b] = await run(create(), { state, decisions: [d2] });
    assert.equal(b?.response?.["created"], true);
    assert.equal(fake.creates().length, 1);
  });

  test("unknown outcome and ServiceNow cannot be asked: unknown_outcome, never re-sent", async () => {
    const state = new MemoryState();
    const d = decisionFor("sn-test", TARGET);
    await earlierAttempt(state, d);
    fake.faults.push(
      { status: 200, body: { result: [] } },
      ...[1, 2, 3].map(() => snError(503, "Service Unavailable", "")),
    );
    const [a] = await run(create(), { state, decisions: [d] });
    assert.equal(a?.status, "unknown_outcome", JSON.stringify(a));
    assert.equal(fake.creates().length, 0);
  });

  test("a lost answer (timeout) or a 5xx on the insert is not resent; 429 is, after Retry-After", async () => {
    fake.holdCreateMs = 1_500;
    const [a] = await run(create({}, { timeout: "300ms" }));
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_TIMEOUT");
    assert.equal(fake.creates().length, 1);
    fake.holdCreateMs = 0;
    fake.incidents.length = 0;
    fake.faults.push({ status: 200, body: { result: [] } }, snError(500, "Internal error", "Transaction cancelled"));
    const [b] = await run();
    assert.equal(b?.error?.code, "RIPOSTE_CONNECTOR_UNAVAILABLE");
    assert.equal(fake.creates().length, 2);
    fake.faults.push(
      { status: 200, body: { result: [] } },
      {
        ...snError(429, "Too many requests", "Rate limit exceeded"),
        headers: { "retry-after": "0", "x-ratelimit-rule": "r1" },
      },
    );
    const [c] = await run();
    assert.equal(c?.status, "succeeded", JSON.stringify(c));
    assert.equal(fake.creates().length, 4);
    assert.equal(fake.incidents.length, 1);
  });

  test("X-RateLimit-Reset is Unix seconds; Retry-After wins", () => {
    const now = 1_700_000_000_000;
    assert.equal(serviceNowRetryAfterMs(new Headers({ "x-ratelimit-reset": "1700000010" }), now), 10_000);
    assert.equal(
      serviceNowRetryAfterMs(new Headers({ "x-ratelimit-reset": "1700000010", "retry-after": "1" }), now),
      1_000,
    );
  });

  test("401 and 403 say what to check; a malformed search answer is retried", async () => {
    const [bad] = await run(create(), { creds: { username: SN_USER, password: "wrong-password" } });
    assert.equal(bad?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(bad?.error?.message ?? "", /User Not Authenticated.*RIPOSTE_CONNECTOR_SERVICENOW_PASSWORD/);
    assert.ok(!JSON.stringify(bad).includes("wrong-password"));
    fake.denyInsert = true;
    const [denied] = await run();
    assert.equal(denied?.error?.code, "RIPOSTE_CONNECTOR_AUTH");
    assert.match(denied?.error?.message ?? "", /ACL Exception.*itil/);
    fake.denyInsert = false;
    fake.requests.length = 0;
    fake.faults.push({ status: 200, raw: "<html>login</html>", headers: { "content-type": "text/html" } });
    const [c] = await run();
    assert.equal(c?.status, "succeeded", JSON.stringify(c));
    assert.equal(fake.requests.filter((r) => r.method === "GET").length, 2);
  });

  test("409 on the insert is a rejection with ServiceNow's message, not retried", async () => {
    fake.faults.push({ status: 200, body: { result: [] } }, snError(409, "Conflict", "Record is being updated"));
    const [a] = await run();
    assert.equal(a?.error?.code, "RIPOSTE_CONNECTOR_REJECTED");
    assert.match(a?.error?.message ?? "", /HTTP 409 Conflict: Record is being updated/);
    assert.equal(fake.creates().length, 1);
  });

  test("update_incident PATCHes work notes and state; an unknown sys_id is not found; a bad one is refused unsent", async () => {
    await run();
    const sysId = fake.incidents[0]?.sys_id ?? "";
    const update = (id: string) =>
      playbookOf("sn-test", [
        {
          id: "s",
          connector: "servicenow",
          action: "update_incident",
          params: { sys_id: id, work_notes: "Contained.", state: "2" },
        },
      ]);
    const [a] = await run(update(sysId));
    assert.equal(a?.status, "succeeded", JSON.stringify(a));
    assert.equal(fake.updates()[0]?.path, `/api/now/table/incident/${sysId}`);
    assert.deepEqual(JSON.parse(fake.updates()[0]?.body ?? ""), { work_notes: "Contained.", state: "2" });
    assert.equal(fake.incidents[0]?.state, "2");
    const [missing] = await run(update("0".repeat(32)));
    assert.equal(missing?.error?.code, "RIPOSTE_CONNECTOR_NOT_FOUND");
    const n = fake.requests.length;
    const [bad] = await run(update("../sys_user"));
    assert.equal(bad?.status, "failed");
    assert.equal(fake.requests.length, n);
  });

  test("dry run: the exact search and insert, nothing sent", async () => {
    const [a] = await runDecisions({
      playbook: create(),
      decisions: [decisionFor("sn-test", TARGET)],
      connectorConfig: { servicenow: { url: undefined, credentials: {}, dryRun: true } },
    });
    assert.equal(a?.status, "dry_run");
    assert.deepEqual(a?.response?.["would_send"], [
      {
        method: "GET",
        path: "/api/now/table/incident?sysparm_query=correlation_id%3Dinc-1234%5EORDERBYsys_created_on&sysparm_fields=sys_id%2Cnumber%2Cstate&sysparm_limit=1",
      },
      {
        method: "POST",
        path: "/api/now/table/incident?sysparm_fields=sys_id%2Cnumber%2Cstate",
        body: {
          short_description: "Contained ws-042",
          description: "Host contained by Riposte.",
          urgency: "2",
          impact: "2",
          correlation_id: "inc-1234",
          correlation_display: "Riposte",
        },
      },
    ]);
    assert.equal(fake.requests.length, 0);
  });
});
