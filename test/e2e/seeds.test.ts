/**
 * The seed scenarios end to end, the services as separate processes (ingest, correlator, executor) on real Kafka and
 * Redis, every connector a seed playbook uses pointed at its fake, one set of processes for all of them:
 * - an EDR detection → one Falcon contain (exact body), one Jira issue, one Slack message;
 * - a phishing message delivered to three recipients (Proofpoint TAP messagesDelivered) → one Graph purge per copy,
 *   three notification mails, one Mimecast sender block, one Jira issue, one Slack message;
 * - five failed sign-ins then a success for one user → exactly one session revocation, at the identity provider the
 *   sign-ins came from: Okta for an Okta user, Entra ID (Graph revokeSignInSessions) for an Entra user;
 * - one external address reported by Suricata and a CEF firewall → exactly one PAN-OS User-ID registration (the tag,
 *   timeout 86400) and the address in the EDL served at GET /v1/edl/block;
 * and then the whole batch sent again: every repeated alert is a duplicate, and no fake counts anything more.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ABUSEIPDB_KEY, startAbuseIpdbFake, type AbuseIpdbFake } from "../fakes/abuseipdb.ts";
import { startFalconFake, type FalconFake } from "../fakes/crowdstrike.ts";
import { ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET, ENTRA_TENANT } from "../fakes/entra.ts";
import { startGraphFake, type GraphFake } from "../fakes/graph.ts";
import { JIRA_EMAIL, JIRA_PROJECT, JIRA_TOKEN, startJiraFake, type JiraFake } from "../fakes/jira.ts";
import { MIMECAST_CLIENT_ID, MIMECAST_CLIENT_SECRET, startMimecastFake, type MimecastFake } from "../fakes/mimecast.ts";
import { OKTA_TOKEN, startOktaFake, type OktaFake } from "../fakes/okta.ts";
import { PANOS_KEY, PANOS_TAG, startPanosFake, type PanosFake } from "../fakes/panos.ts";
import { SLACK_CHANNEL, SLACK_TOKEN, startSlackFake, type SlackFake } from "../fakes/slack.ts";
import { VT_KEY, startVirusTotalFake, type VirusTotalFake } from "../fakes/virustotal.ts";
import { eventUid, type NormalizedEvent } from "../../schemas/index.ts";
import { eventually } from "../support/env.ts";
import { startHarness, type Harness } from "../support/harness.ts";

const DEVICE = "0123456789abcdef0123456789abcdef";
const EDL_TOKEN = "e2e-seeds-edl-token-0123456789abcdef";
const SOC_SENDER = "soc-notify@corp.example";
const RECIPIENTS = ["ann.leroy@corp.example", "bruno.petit@corp.example", "chloe.marin@corp.example"];
const MESSAGE_ID = "<20261203081500.7c1e@invoices-example.net>";
const PHISH_SENDER = "billing@invoices-example.net";
const USER = {
  id: "00u1durand00000000001",
  status: "ACTIVE" as const,
  profile: { login: "c.durand@corp.example", email: "c.durand@corp.example" },
};
const ENTRA_USER = {
  id: "8a0b1c2d-0000-4000-8000-0000000000b7",
  userPrincipalName: "j.weber@corp.example",
  mail: "j.weber@corp.example",
  displayName: "Jonas Weber",
  accountEnabled: true,
};
const ATTACKER = "198.51.100.77";
const WAIT = 90_000;

let edr: FalconFake;
let jira: JiraFake;
let slack: SlackFake;
let graph: GraphFake;
let mimecast: MimecastFake;
let okta: OktaFake;
let panos: PanosFake;
let abuse: AbuseIpdbFake;
let vt: VirusTotalFake;
let h: Harness;

const minutesAgo = (m: number) => Date.now() - m * 60_000;

/** A Falcon EppDetectionSummaryEvent (Streaming API event reference), Critical, on host FIN-WS-042. */
function falconDetection(at: number): string {
  return JSON.stringify({
    metadata: {
      customerIDString: "5d3c1f0e9a8b4c2d9e7f6a5b4c3d2e1f",
      offset: 880412,
      eventType: "EppDetectionSummaryEvent",
      eventCreationTime: at,
      version: "1.0",
    },
    event: {
      Hostname: "FIN-WS-042",
      UserName: "j.doe",
      Name: "Credential Dumping",
      Description: "A process attempted to read the memory of LSASS.",
      Severity: 90,
      SeverityName: "Critical",
      FileName: "procdump64.exe",
      CommandLine: "procdump64.exe -ma lsass.exe out.dmp",
      LocalIP: "10.40.2.17",
      AgentId: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
      CompositeId: "5d3c1f0e9a8b4c2d9e7f6a5b4c3d2e1f:ind:a1b2c3d4e5f60718293a4b5c6d7e8f90:1001",
      Tactic: "Credential Access",
      Technique: "OS Credential Dumping",
    },
  });
}

/** A Proofpoint TAP SIEM API messagesDelivered record (help.proofpoint.com, "SIEM API"): phish, three recipients. */
function phishDelivered(at: number): string {
  return JSON.stringify({
    GUID: "Zr5UQn3cWoT9lQ2sM8xA1zIdE4gK0fHb",
    QID: "4Cn8Rl2oS003412",
    ccAddresses: [],
    cluster: "example_hosted",
    completelyRewritten: true,
    fromAddress: [PHISH_SENDER],
    headerFrom: `"Accounts Billing" <${PHISH_SENDER}>`,
    headerReplyTo: null,
    id: "f3c8d2e5-0b4a-4f7c-9d6e-2a1b3c4d5e6f",
    impostorScore: 0,
    malwareScore: 0,
    messageID: MESSAGE_ID,
    messageParts: [],
    messageSize: 48211,
    messageTime: new Date(at).toISOString(),
    modulesRun: ["urldefense", "spam", "dmarc", "pdr"],
    phishScore: 92,
    policyRoutes: ["default_inbound"],
    quarantineFolder: null,
    quarantineRule: null,
    recipient: RECIPIENTS,
    replyToAddress: [],
    sender: "bounce@invoices-example.net",
    senderIP: "198.51.100.23",
    spamScore: 14,
    subject: "Invoice overdue - action required",
    threatsInfoMap: [
      {
        campaignID: null,
        classification: "phish",
        threat: "https://login.invoices-example.net/o365/signin",
        threatID: "9d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e",
        threatStatus: "active",
        threatTime: new Date(at).toISOString(),
        threatType: "url",
        threatUrl: "https://threatinsight.proofpoint.com/00000000-1111-2222-3333-444444444444/threat/email/9d3e5f7a",
      },
    ],
    toAddresses: RECIPIENTS,
    xmailer: null,
  });
}

/** An Okta System Log user.session.start (System Log API reference, LogEvent), failed or successful. */
function oktaSignIn(n: number, ok: boolean, at: number): Record<string, unknown> {
  return {
    uuid: `7b1c0d00-0000-4000-8000-e2e0000000${String(n).padStart(2, "0")}`,
    published: new Date(at).toISOString(),
    eventType: "user.session.start",
    version: "0",
    severity: ok ? "INFO" : "WARN",
    displayMessage: "User login to Okta",
    actor: { id: USER.id, type: "User", alternateId: USER.profile.login, displayName: "C Durand" },
    client: {
      ipAddress: "192.0.2.61",
      device: "Computer",
      userAgent: { rawUserAgent: "Mozilla/5.0 (X11; Linux x86_64)", os: "Linux", browser: "FIREFOX" },
      geographicalContext: { city: "Nantes", country: "France" },
    },
    outcome: ok ? { result: "SUCCESS" } : { result: "FAILURE", reason: "INVALID_CREDENTIALS" },
    transaction: { type: "WEB", id: `WkE2E${n}` },
  };
}

/** A Microsoft Graph v1.0 signIn (learn.microsoft.com graph/api/resources/signin), failed (50126) or successful. */
function entraSignIn(n: number, ok: boolean, at: number): Record<string, unknown> {
  return {
    id: `3c9e5a10-0000-4000-8000-e2e0000000${String(n).padStart(2, "0")}`,
    createdDateTime: new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z"),
    userDisplayName: ENTRA_USER.displayName,
    userPrincipalName: ENTRA_USER.userPrincipalName,
    userId: ENTRA_USER.id,
    appId: "00000003-0000-0000-c000-000000000000",
    appDisplayName: "Microsoft Graph",
    ipAddress: "192.0.2.62",
    clientAppUsed: "Browser",
    status: ok ? { errorCode: 0 } : { errorCode: 50126, failureReason: "Invalid username or password." },
    location: { city: "Hamburg", countryOrRegion: "DE" },
  };
}

/** Suricata's EVE timestamp (docs.suricata.io, Eve JSON Output): microseconds and a +0000 offset. */
const eveTime = (at: number) => new Date(at).toISOString().replace(/\.(\d{3})Z$/, ".$1000+0000");

/** A Suricata EVE alert from the external address. */
function suricataScan(at: number): string {
  return JSON.stringify({
    timestamp: eveTime(at),
    flow_id: 1550000000000915,
    in_iface: "eth1",
    event_type: "alert",
    src_ip: ATTACKER,
    src_port: 50115,
    dest_ip: "10.20.4.9",
    dest_port: 22,
    proto: "TCP",
    alert: {
      action: "allowed",
      gid: 1,
      signature_id: 2001219,
      rev: 3,
      signature: "ET SCAN Potential SSH Scan",
      category: "Attempted Information Leak",
      severity: 2,
    },
  });
}

/** A CEF firewall deny from the same address (ArcSight CEF implementation standard). */
const cefDeny = (at: number) =>
  `CEF:0|Northwind Networks|NW-FW|7.2|deny-204|Inbound connection denied by policy|7|rt=${at} src=${ATTACKER} spt=51116 dst=10.20.4.9 dpt=3389 proto=TCP act=deny externalId=nwfw-e2e-916`;

/** Every alert of the seed scenarios, as posted (source, body, content type), built once so a re-send is identical. */
const now = Date.now();
const BATCH: ReadonlyArray<{ source: string; body: string; type?: string }> = [
  { source: "crowdstrike", body: falconDetection(now - 60_000) },
  { source: "proofpoint", body: phishDelivered(now - 120_000) },
  {
    source: "okta",
    body: JSON.stringify([
      ...[0, 1, 2, 3, 4].map((i) => oktaSignIn(i, false, now - (8 - i) * 60_000)),
      oktaSignIn(5, true, now - 2 * 60_000),
    ]),
  },
  {
    source: "entra",
    body: JSON.stringify([
      ...[0, 1, 2, 3, 4].map((i) => entraSignIn(i, false, now - (7 - i) * 60_000)),
      entraSignIn(5, true, now - 90_000),
    ]),
  },
  { source: "suricata", body: suricataScan(minutesAgo(20)) },
  { source: "cef", body: cefDeny(now - 8 * 60_000), type: "text/plain" },
];

/** Slack messages posted for a decision of `rule` (the blocks name the rule). */
const slackFor = (rule: string) => slack.messages.filter((m) => JSON.stringify(m.blocks ?? []).includes(rule));
/** Jira issues created whose summary matches. */
const issues = (summary: RegExp) =>
  jira
    .creates()
    .filter((r) => summary.test(String((JSON.parse(r.body) as { fields?: { summary?: string } }).fields?.summary)));
/** Audit records of one playbook's step with a status. */
const audited = (playbook: string, step: string, status = "succeeded") =>
  h.actions.filter((a) => a["playbook"] === playbook && a["step"] === step && a["status"] === status);
const trail = () => JSON.stringify(h.actions.map((a) => [a["playbook"], a["step"], a["status"], a["error"]]));

/** Counts at the fakes, per scenario: what must not change when the batch is sent again. */
function counts() {
  return {
    contains: edr.actions().filter((r) => r.query.get("action_name") === "contain").length,
    purges: graph.purges().length,
    mails: graph.sent.length,
    senderBlocks: mimecast.calls("/api/policy/blockedsenders/create-policy").length,
    revocations: okta.revocations().length,
    entraRevocations: graph.revocations().length,
    registrations: panos.uidCalls().length,
    jiraIssues: jira.creates().length,
    jiraComments: jira.comments().length,
    slack: slack.messages.length,
  };
}

describe("seed scenarios end to end (distributed: ingest, correlator, executor processes)", () => {
  before(async () => {
    [edr, jira, slack, graph, mimecast, okta, panos, abuse, vt] = await Promise.all([
      startFalconFake({ "FIN-WS-042": DEVICE, "10.40.2.17": DEVICE }),
      startJiraFake(),
      startSlackFake(),
      startGraphFake([ENTRA_USER]),
      startMimecastFake(),
      startOktaFake([USER]),
      startPanosFake(),
      startAbuseIpdbFake(),
      startVirusTotalFake(),
    ]);
    // Each recipient's mailbox holds one copy of the message; the SOC's sending mailbox exists.
    RECIPIENTS.forEach((r, i) =>
      graph.mailboxes.set(r, [
        { id: `AAMk-${i}-inbox`, internetMessageId: MESSAGE_ID, subject: "Invoice overdue", parentFolderId: "inbox" },
      ]),
    );
    graph.mailboxes.set(SOC_SENDER, []);
    abuse.reports.set(ATTACKER, {
      abuseConfidenceScore: 100,
      totalReports: 212,
      countryCode: "NL",
      isWhitelisted: false,
    });
    vt.objects.set(`ip_addresses/${ATTACKER}`, {
      stats: { malicious: 9, suspicious: 1, harmless: 50, undetected: 30 },
      reputation: -40,
    });
    h = await startHarness("distributed", edr.url, {
      RIPOSTE_CONNECTOR_JIRA_URL: jira.url,
      RIPOSTE_CONNECTOR_JIRA_EMAIL: JIRA_EMAIL,
      RIPOSTE_CONNECTOR_JIRA_API_TOKEN: JIRA_TOKEN,
      RIPOSTE_CONNECTOR_JIRA_PROJECT: JIRA_PROJECT,
      RIPOSTE_CONNECTOR_SLACK_URL: slack.api,
      RIPOSTE_CONNECTOR_SLACK_BOT_TOKEN: SLACK_TOKEN,
      RIPOSTE_CONNECTOR_SLACK_CHANNEL: SLACK_CHANNEL,
      RIPOSTE_CONNECTOR_GRAPH_URL: graph.url,
      RIPOSTE_CONNECTOR_GRAPH_AUTH_URL: graph.url,
      RIPOSTE_CONNECTOR_GRAPH_TENANT_ID: ENTRA_TENANT,
      RIPOSTE_CONNECTOR_GRAPH_CLIENT_ID: ENTRA_CLIENT_ID,
      RIPOSTE_CONNECTOR_GRAPH_CLIENT_SECRET: ENTRA_CLIENT_SECRET,
      RIPOSTE_CONNECTOR_GRAPH_MAIL_SENDER: SOC_SENDER,
      RIPOSTE_CONNECTOR_MIMECAST_URL: mimecast.url,
      RIPOSTE_CONNECTOR_MIMECAST_CLIENT_ID: MIMECAST_CLIENT_ID,
      RIPOSTE_CONNECTOR_MIMECAST_CLIENT_SECRET: MIMECAST_CLIENT_SECRET,
      RIPOSTE_CONNECTOR_OKTA_URL: okta.url,
      RIPOSTE_CONNECTOR_OKTA_API_TOKEN: OKTA_TOKEN,
      RIPOSTE_CONNECTOR_PANOS_URL: panos.url,
      RIPOSTE_CONNECTOR_PANOS_API_KEY: PANOS_KEY,
      RIPOSTE_CONNECTOR_PANOS_TAG: PANOS_TAG,
      RIPOSTE_CONNECTOR_ABUSEIPDB_URL: abuse.url,
      RIPOSTE_CONNECTOR_ABUSEIPDB_API_KEY: ABUSEIPDB_KEY,
      RIPOSTE_CONNECTOR_VIRUSTOTAL_URL: vt.url,
      RIPOSTE_CONNECTOR_VIRUSTOTAL_API_KEY: VT_KEY,
      RIPOSTE_EDL_TOKENS: `block:${EDL_TOKEN}`,
    });
    for (const a of BATCH) {
      const res = await h.post(a.source, a.body, a.type ? { "content-type": a.type } : {});
      assert.equal(res.status, 202, `${a.source}: ${JSON.stringify(res.body)}`);
    }
  });
  after(async () => {
    await h?.stop();
    await Promise.all([edr, jira, slack, graph, mimecast, okta, panos, abuse, vt].map((f) => f?.close()));
  });

  test("an EDR detection: one isolation (exact body), one ticket, one Slack message", async () => {
    await eventually(
      () => audited("isolate-host", "notify").length === 1,
      () => `isolate-host to end: ${trail()}`,
      WAIT,
    );
    const contains = edr.actions().filter((r) => r.query.get("action_name") === "contain");
    assert.equal(contains.length, 1, "one contain at the EDR");
    assert.deepEqual(JSON.parse(contains[0]?.body ?? "{}"), { ids: [DEVICE] });
    assert.equal(issues(/^Host FIN-WS-042: EDR isolation/i).length, 1, "one Jira issue");
    assert.equal(slackFor("edr-high-severity-detection-isolate").length, 1, "one Slack message");
  });

  test("a phishing message delivered to three recipients: three purges, three mails, one sender block, one ticket, one Slack message", async () => {
    await eventually(
      () => audited("purge-phishing", "notify").length === 1,
      () => `purge-phishing to end: ${trail()}`,
      WAIT,
    );
    assert.equal(graph.messageSearches().length, 3, "one search per recipient's mailbox");
    const purged = graph.purges().map((r) => r.path);
    assert.deepEqual(
      purged.sort(),
      RECIPIENTS.map((r, i) => `/v1.0/users/${encodeURIComponent(r)}/messages/AAMk-${i}-inbox/move`).sort(),
      "one purge per copy",
    );
    for (const r of RECIPIENTS)
      assert.deepEqual(
        graph.mailboxes.get(r)?.map((m) => m.parentFolderId),
        ["recoverableitemsdeletions"],
      );
    const told = graph.sent.map((s) => {
      assert.equal(s.sender, SOC_SENDER);
      const to = (s.body["message"] as { toRecipients: Array<{ emailAddress: { address: string } }> }).toRecipients;
      return to.map((t) => t.emailAddress.address).join(",");
    });
    assert.deepEqual(told.sort(), [...RECIPIENTS].sort(), "one notification per recipient");
    assert.equal(mimecast.calls("/api/policy/blockedsenders/create-policy").length, 1, "one gateway block");
    assert.deepEqual(
      mimecast.policies.map((p) => p.policy.from.emailAddress),
      [PHISH_SENDER],
    );
    assert.equal(issues(/^Phishing /).length, 1, "one Jira issue");
    assert.equal(slackFor("email-phishing-delivered-purge").length, 1, "one Slack message");
  });

  test("five failed sign-ins then a success, at Okta and at Entra ID: one revocation each, at its own provider", async () => {
    await eventually(
      () => audited("revoke-user-sessions", "notify").length === 2,
      () => `both revoke-user-sessions runs to end: ${trail()}`,
      WAIT,
    );
    const idps = h.decisions
      .filter((d) => d["playbook"] === "revoke-user-sessions")
      .map((d) => `${(d["target"] as { value: string }).value} ${String((d["params"] as { idp?: string }).idp)}`);
    assert.deepEqual(idps.sort(), ["c.durand@corp.example okta_system_log", "j.weber@corp.example entra_signin"]);
    assert.deepEqual(
      okta.revocations().map((r) => r.path),
      [`/api/v1/users/${USER.id}/sessions`],
    );
    assert.deepEqual(
      graph.revocations().map((r) => r.path),
      [`/v1.0/users/${ENTRA_USER.id}/revokeSignInSessions`],
    );
    assert.equal(issues(/^User c\.durand@corp\.example: sessions revoked/).length, 1, "one Jira issue");
    assert.equal(issues(/^User j\.weber@corp\.example: sessions revoked/).length, 1, "one Jira issue");
    assert.equal(slackFor("signin-brute-force-then-success-revoke-sessions").length, 2, "one Slack message each");
  });

  test("one external address from Suricata and a CEF firewall: one PAN-OS registration, the address in the EDL", async () => {
    await eventually(
      () => audited("block-ip", "notify").length === 1,
      () => `block-ip to end: ${trail()}`,
      WAIT,
    );
    assert.equal(panos.uidCalls().length, 1, "one User-ID request");
    const cmd = new URLSearchParams(panos.uidCalls()[0]?.body).get("cmd") ?? "";
    assert.match(cmd, new RegExp(`<register><entry ip="${ATTACKER.replace(/\./g, "\\.")}"`));
    assert.deepEqual([...(panos.registered.get(ATTACKER) ?? [])], [[PANOS_TAG, 86400]]);
    assert.equal(panos.registered.size, 1);
    const res = await fetch(`${h.url}/v1/edl/block`, { headers: { authorization: `Bearer ${EDL_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `${ATTACKER}\n`);
    assert.equal(issues(/^IP 198\.51\.100\.77: firewall block/).length, 1, "one Jira issue");
    assert.equal(slackFor("external-ip-multi-sensor-block-ip").length, 1, "one Slack message");
  });

  test("the whole batch sent again: every repeated alert is a duplicate, the fakes count nothing more", async () => {
    const before = counts();
    const decided = h.decisions.length;
    const normalized = h.normalized.length;
    const responded = h.decisions.filter((d) => d["outcome"] === "respond").length;
    for (const a of BATCH) {
      const res = await h.post(a.source, a.body, a.type ? { "content-type": a.type } : {});
      assert.equal(res.status, 202, `${a.source}: ${JSON.stringify(res.body)}`);
    }
    // Every repeated alert is normalized again, then decided on again (one decision record per alert at least).
    await eventually(() => h.normalized.length >= 2 * normalized, "the repeated alerts normalized", WAIT);
    const repeated = new Set(h.normalized.slice(normalized).map((e) => eventUid(e as unknown as NormalizedEvent)));
    const decidedOn = () => new Set(h.decisions.slice(decided).map((d) => (d["alert"] as { uid: string }).uid));
    await eventually(
      () => [...repeated].every((uid) => decidedOn().has(uid)),
      () => `a decision for each repeated alert: ${[...repeated].filter((u) => !decidedOn().has(u)).join(", ")}`,
      WAIT,
    );
    const repeat = h.decisions.slice(decided);
    assert.deepEqual(
      repeat.filter((d) => d["outcome"] === "respond").map((d) => [d["rule"], d["target"]]),
      [],
      "no repeated alert makes a respond decision",
    );
    assert.ok(
      repeat.some((d) => d["outcome"] === "duplicate"),
      JSON.stringify(repeat.map((d) => d["outcome"])),
    );
    assert.equal(h.decisions.filter((d) => d["outcome"] === "respond").length, responded);
    assert.deepEqual(counts(), before);
    const edl = await fetch(`${h.url}/v1/edl/block`, { headers: { authorization: `Bearer ${EDL_TOKEN}` } });
    assert.equal(await edl.text(), `${ATTACKER}\n`);
  });
});
