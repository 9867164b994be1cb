/**
 * Dry run of the starter playbooks: with no connector configured, every step of each playbook is audited
 * `dry_run` with the exact method, path and body its connector would send (`response.would_send`).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { targetKey, type Decision } from "../schemas/index.ts";
import { MemoryBus, type Subscription } from "../services/shared/bus/index.ts";
import { topicNames } from "../services/shared/config.ts";
import { silentLogger } from "../services/shared/log.ts";
import { Metrics } from "../services/shared/metrics.ts";
import { MemoryState } from "../services/shared/state/index.ts";
import { loadPlaybooks } from "../services/shared/rulefiles.ts";
import { CONNECTORS } from "../services/executor/connectors/index.ts";
import { Executor } from "../services/executor/executor.ts";
import { eventually } from "./support/env.ts";

const topics = topicNames("dryseeds");
const bus = new MemoryBus();
const audit: Array<Record<string, unknown>> = [];
let sub: Subscription;
let ex: Executor;

before(async () => {
  await bus.ensureTopics([topics.actions, topics.dlq, topics.decisions].map((name) => ({ name, partitions: 1 })));
  sub = await bus.subscribe({
    groupId: "audit",
    topics: [topics.actions],
    handler: async (b) => void audit.push(...b.map((m) => JSON.parse(m.value.toString()) as Record<string, unknown>)),
  });
  ex = new Executor({
    bus,
    state: new MemoryState(),
    topics,
    playbooks: await loadPlaybooks("rules"),
    connectors: CONNECTORS,
    connectorConfig: {},
    log: silentLogger,
    metrics: new Metrics(),
    statePrefix: "dryseeds",
  });
});
after(async () => {
  await sub.stop();
  await bus.close();
});

let n = 0;
async function dryRun(playbook: string, target: Decision["target"], params: Record<string, unknown>) {
  const id = `dry-${++n}`;
  const d: Decision = {
    id,
    outcome: "respond",
    time: Date.now(),
    alert: {
      uid: `alert-${id}`,
      fingerprint: `fp-${id}`,
      entity_key: targetKey(target as NonNullable<Decision["target"]>),
      class_uid: 2004,
      title: "t",
      source: "s",
      severity_id: 4,
      time: 1,
    },
    rule: { id: "seed-rule", version: 1, hash: "0".repeat(64), name: "seed rule" },
    playbook,
    target,
    params,
    approval: "none",
  };
  await ex.handle([
    {
      topic: topics.decisions,
      partition: 0,
      offset: String(n),
      key: targetKey(target as NonNullable<Decision["target"]>),
      value: Buffer.from(JSON.stringify(d)),
      headers: {},
      timestamp: 0,
    },
  ]);
  return id;
}

type Sent = { method: string; path: string; body?: unknown };
/** The audit records of one decision, once its run has ended: step → status and what it would send. */
async function recordsOf(id: string, count: number) {
  await eventually(
    () => audit.filter((a) => a["decision_id"] === id).length >= count,
    () => `${count} audit records of ${id}`,
  );
  return audit
    .filter((a) => a["decision_id"] === id)
    .map((a) => ({
      step: a["step"] as string,
      status: a["status"] as string,
      sent: (a["response"] as { would_send?: Sent[] } | undefined)?.would_send ?? [],
    }));
}

/** Each step as `step: METHOD path, METHOD path` (every record dry_run). */
function lines(records: Awaited<ReturnType<typeof recordsOf>>): string[] {
  for (const r of records) assert.equal(r.status, "dry_run", `${r.step} is audited dry_run`);
  return records.map((r) => `${r.step}: ${r.sent.map((q) => `${q.method} ${q.path}`).join(", ")}`);
}
const body = (records: Awaited<ReturnType<typeof recordsOf>>, step: string, i: number) =>
  records.find((r) => r.step === step)?.sent[i]?.body;
const jira = (id: string) =>
  `ticket-no-incident: GET /rest/api/3/search/jql?jql=project+%3D+%22%7BRIPOSTE_CONNECTOR_JIRA_PROJECT%7D%22+AND+labels+%3D+%22riposte-${id}%22+ORDER+BY+created+ASC&fields=summary%2Cstatus&maxResults=1, POST /rest/api/3/issue`;
const SLACK = "notify: POST /chat.postMessage";

test("isolate-host, a Falcon detection: the device query and record, the contain action with its body, Jira, Slack", async () => {
  const id = await dryRun(
    "isolate-host",
    { type: "host", value: "fin-ws-042" },
    { edr: "crowdstrike_falcon", reason: "r" },
  );
  const r = await recordsOf(id, 4);
  const q =
    "GET /devices/queries/devices/v1?filter=hostname%3A%27fin-ws-042%27&limit=2, GET /devices/entities/devices/v2?ids={device_id}";
  assert.deepEqual(lines(r), [
    `lookup-falcon: ${q}`,
    `contain-falcon: ${q}, POST /devices/entities/devices-actions/v2?action_name=contain`,
    jira(id),
    SLACK,
  ]);
  assert.deepEqual(body(r, "contain-falcon", 2), { ids: ["{device_id}"] });
  const issue = body(r, "ticket-no-incident", 1) as { fields: Record<string, unknown> };
  assert.deepEqual(issue.fields["labels"], ["riposte", `riposte-${id}`], "the dedup key is a label");
  assert.equal(issue.fields["summary"], "Host fin-ws-042: EDR isolation (seed-rule)");
  const slack = body(r, "notify", 0) as { channel: string; text: string };
  assert.equal(slack.channel, "<RIPOSTE_CONNECTOR_SLACK_CHANNEL>");
  assert.match(slack.text, /^Host fin-ws-042: EDR isolation requested/);
});

test("isolate-host, a Defender alert: the machine query, the isolate call with its body", async () => {
  const host = "fin-ws-042.corp.example.com";
  const id = await dryRun("isolate-host", { type: "host", value: host }, { edr: "microsoft_graph_alert", reason: "r" });
  const r = await recordsOf(id, 4);
  const q = "GET /api/machines?$filter=computerDnsName%20eq%20%27fin-ws-042.corp.example.com%27";
  assert.deepEqual(lines(r), [
    `lookup-defender: ${q}`,
    `contain-defender: ${q}, POST /api/machines/{machine_id}/isolate`,
    jira(id),
    SLACK,
  ]);
  assert.deepEqual(body(r, "contain-defender", 1), { Comment: "Riposte seed-rule: r", IsolationType: "Full" });
});

test("block-ip: the AbuseIPDB and VirusTotal lookups; both dry, the PAN-OS registration and the EDL entry are planned, dry too", async () => {
  const id = await dryRun("block-ip", { type: "ip", value: "203.0.113.7" }, { reason: "r" });
  const r = await recordsOf(id, 6);
  assert.deepEqual(lines(r), [
    "abuseipdb: GET /api/v2/check?ipAddress=203.0.113.7&maxAgeInDays=90",
    "virustotal: GET /api/v3/ip_addresses/203.0.113.7",
    "block-panos: POST /api/",
    "block-edl: ADD /v1/edl/block",
    jira(id),
    SLACK,
  ]);
  const uid = new URLSearchParams(body(r, "block-panos", 0) as string).get("cmd") ?? "";
  assert.match(
    uid,
    /<register><entry ip="203\.0\.113\.7"><tag><member timeout="86400">\{RIPOSTE_CONNECTOR_PANOS_TAG\}<\/member><\/tag><\/entry><\/register>/,
  );
  assert.deepEqual(body(r, "block-edl", 0), { entry: "203.0.113.7", ttl_ms: 86_400_000 });
  // The blocks were planned from the lookups' dry run: the record says so (the EDL, Riposte's own, is never dry
  // otherwise).
  const edl = audit.find((a) => a["decision_id"] === id && a["step"] === "block-edl");
  assert.match(
    String((edl?.["response"] as { reason?: string })?.reason),
    /planned from the dry run of step abuseipdb, virustotal/,
  );
});

test("revoke-user-sessions: Okta's user lookup and session DELETE; Entra's lookup and revokeSignInSessions", async () => {
  const okta = await dryRun("revoke-user-sessions", { type: "user", value: "j.doe@example.com" }, { reason: "r" });
  assert.deepEqual(lines(await recordsOf(okta, 3)), [
    "revoke-okta: GET /api/v1/users/j.doe%40example.com, DELETE /api/v1/users/{id}/sessions?oauthTokens=true",
    jira(okta),
    SLACK,
  ]);
  const entra = await dryRun(
    "revoke-user-sessions",
    { type: "user", value: "j.doe@example.com" },
    { idp: "entra_signin", reason: "r" },
  );
  assert.deepEqual(lines(await recordsOf(entra, 3)), [
    "revoke-entra: GET /v1.0/users/j.doe%40example.com?$select=id%2CuserPrincipalName%2Cmail%2CdisplayName%2CaccountEnabled, POST /v1.0/users/{id}/revokeSignInSessions",
    jira(entra),
    SLACK,
  ]);
});

test("purge-phishing: one message search per recipient's mailbox, the Mimecast blocked-sender policy with its body", async () => {
  const id = await dryRun(
    "purge-phishing",
    { type: "mailbox_message", value: "<f00d@mail.example.com>" },
    { reason: "r", sender: "billing@evil.example", recipients: ["ann@example.com", "bob@example.com"] },
  );
  const r = await recordsOf(id, 8);
  const search = (m: string) =>
    `GET /v1.0/users/${m}/messages?$filter=internetMessageId%20eq%20%27%3Cf00d%40mail.example.com%3E%27&$select=id%2CinternetMessageId%2Csubject%2CparentFolderId&$top=100`;
  const move = (m: string) => `purge: POST /v1.0/users/${m}/messages/{id}/move`;
  const mail = "notify-recipients: POST /v1.0/users/<RIPOSTE_CONNECTOR_GRAPH_MAIL_SENDER>/sendMail";
  // The dry run of find answers its sample (one copy in each recipient's mailbox, id unknown): one purge per copy
  // and one notice per recipient are planned from it, dry too.
  assert.deepEqual(lines(r), [
    `find: ${search("ann%40example.com")}, ${search("bob%40example.com")}`,
    "block-sender: POST /api/policy/blockedsenders/get-policy, POST /api/policy/blockedsenders/create-policy",
    move("ann%40example.com"),
    move("bob%40example.com"),
    mail,
    mail,
    jira(id),
    SLACK,
  ]);
  const find = audit.find((a) => a["decision_id"] === id && a["step"] === "find")?.["response"] as Record<
    string,
    unknown
  >;
  assert.equal(find["sample"], true);
  assert.deepEqual(find["mailboxes_with_copies"], ["ann@example.com", "bob@example.com"]);
  const to = r
    .filter((x) => x.step === "notify-recipients")
    .map(
      (x) =>
        (x.sent[0]?.body as { message: { toRecipients: Array<{ emailAddress: { address: string } }> } }).message
          .toRecipients[0]?.emailAddress.address,
    );
  assert.deepEqual(to.sort(), ["ann@example.com", "bob@example.com"]);
  assert.deepEqual(body(r, "block-sender", 1), {
    data: [
      {
        option: "block_sender",
        policy: {
          description: "Riposte: block billing@evil.example (r)",
          fromPart: "both",
          fromType: "individual_email_address",
          fromValue: "billing@evil.example",
          toType: "everyone",
        },
      },
    ],
  });
});

test("ti-hit and incident-ticket: VirusTotal, AbuseIPDB, MISP with its body; a ServiceNow incident keyed by correlation_id", async () => {
  const ti = await dryRun("ti-hit", { type: "ip", value: "198.51.100.23" }, { reason: "r" });
  const r = await recordsOf(ti, 5);
  assert.deepEqual(lines(r), [
    "virustotal-ip: GET /api/v3/ip_addresses/198.51.100.23",
    "abuseipdb: GET /api/v2/check?ipAddress=198.51.100.23&maxAgeInDays=90",
    "misp: POST /attributes/restSearch",
    jira(ti),
    SLACK,
  ]);
  assert.deepEqual(body(r, "misp", 0), {
    returnFormat: "json",
    value: "198.51.100.23",
    includeEventTags: true,
    limit: 100,
    page: 1,
  });
  const inc = await dryRun(
    "incident-ticket",
    { type: "host", value: "fin-ws-042" },
    { reason: "r", ticketing: "servicenow" },
  );
  const s = await recordsOf(inc, 2);
  assert.deepEqual(lines(s), [
    `servicenow-no-incident: GET /api/now/table/incident?sysparm_query=correlation_id%3D${inc}%5EORDERBYsys_created_on&sysparm_fields=sys_id%2Cnumber%2Cstate&sysparm_limit=1, POST /api/now/table/incident?sysparm_fields=sys_id%2Cnumber%2Cstate`,
    SLACK,
  ]);
  assert.deepEqual(body(s, "servicenow-no-incident", 1), {
    short_description: "Riposte: host fin-ws-042 crossed its risk threshold",
    description: `Decision ${inc}, rule seed-rule, alert alert-${inc}: r.`,
    urgency: "2",
    impact: "2",
    correlation_id: inc,
    correlation_display: "Riposte",
  });
});
