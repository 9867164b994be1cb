import { test } from "node:test";
import assert from "node:assert/strict";
import { oktaKind, oktaSystemLog } from "./okta-system-log.ts";
import { corpusEvents, json, normalizeWith, outcomeOf, pantherRecord, pantherRecords } from "./testing.ts";

const FILE = "okta/panther-analysis__Okta.SystemLog.jsonl";
const records = pantherRecords(FILE);

const normalized = (name: string, rule?: string) =>
  normalizeWith(oktaSystemLog, json(pantherRecord(records, name, rule)));
const eventTypeOf = (log: Record<string, unknown>) => (log["eventType"] ?? log["eventtype"]) as string | undefined;

test("okta: every corpus record is normalized, refused with a reason, or (test fragments) a clear error", () => {
  assert.equal(records.length, 59);
  const tally = { auth: 0, finding: 0, rejected: 0, undated: 0, notOkta: 0 };
  for (const r of records) {
    const type = eventTypeOf(r.log);
    const out = outcomeOf(oktaSystemLog, json(r.log));
    if (type === undefined) {
      assert.equal(oktaSystemLog.detect(json(r.log)), false, `${r.name} holds only Panther enrichment`);
      assert.ok(out.kind === "error" && /without eventType/.test(out.message));
      tally.notOkta++;
      continue;
    }
    assert.ok(oktaSystemLog.detect(json(r.log)), r.name);
    const kind = oktaKind(type);
    if (kind === undefined) {
      assert.ok(out.kind === "rejected" && out.reason.includes(type), `${r.name}: ${JSON.stringify(out)}`);
      tally.rejected++;
    } else if (out.kind === "error") {
      assert.match(out.message, /published time/, r.name);
      tally.undated++;
    } else {
      assert.ok(out.kind === "ok", `${r.name}: ${JSON.stringify(out)}`);
      assert.equal(out.event.class_uid, kind === "auth" ? 3002 : 2004, r.name);
      tally[kind]++;
    }
  }
  assert.deepEqual(tally, { auth: 22, finding: 3, rejected: 28, undated: 4, notOkta: 2 });
});

test("okta: 'Threat Detected Event - Deny' (all-lowercase keys) is a High Detection Finding on the source IP", () => {
  const e = normalized("Threat Detected Event - Deny");
  assert.ok(e.class_uid === 2004);
  assert.equal(e.finding_info.title, "Request from suspicious actor");
  assert.deepEqual(e.finding_info.types, [
    "Login failures with high unknown users count",
    "Password Spray",
    "Login Failures",
  ]);
  assert.equal(e.severity, "High");
  assert.equal(e.src_endpoint?.ip, "1.2.3.4");
  assert.equal(e.user, undefined, "the actor is an IP address, not a user");
  assert.equal(e.time, Date.parse("2022-12-14T19:16:32.015Z"));
  assert.equal(e.riposte.entity_key, "ip:1.2.3.4");
  assert.equal(e.unmapped?.["outcome_result"], "DENY");
  const success = normalized("Threat Detected Event - Success");
  assert.equal(success.src_endpoint?.ip, "1.2.3.4", "taken from the IP-address actor when client.ipAddress is absent");
});

test("okta: 'Successful Login' is a successful Authentication to the Okta Dashboard", () => {
  const e = normalized("Successful Login");
  assert.ok(e.class_uid === 3002);
  assert.equal(e.user.name, "casey.hill@hey.com");
  assert.equal(e.user.full_name, "Casey Hill");
  assert.equal(e.src_endpoint?.ip, "99.108.5.25");
  assert.equal(e.src_endpoint?.location?.city, "Atlanta");
  assert.equal(e.status_id, 1);
  assert.equal(e.severity, "Informational");
  assert.equal(e.time, Date.parse("2024-04-02T19:17:37.621Z"));
  assert.equal(e.service?.name, "Okta Dashboard");
  assert.equal(e.metadata.uid, "aac560bd-f125-11ee-9caa-cd5d09945def");
});

test("okta: failed, MFA, policy-evaluation and risk-scored sign-ins, each named", () => {
  const proxy = normalized("Anonymizing Proxy Used");
  assert.ok(proxy.class_uid === 3002);
  assert.equal(proxy.user.name, "homer.simpson@duff.com");
  assert.equal(proxy.status, "Failure");
  assert.equal(proxy.src_endpoint?.ip, "1.3.2.4");
  assert.equal(proxy.unmapped?.["is_proxy"], true);
  assert.equal(proxy.unmapped?.["outcome_reason"], "FastPass declined phishing attempt");

  const mfa = normalized("FastPass Phishing Block Event", "Okta.Phishing.Attempt.Blocked.FastPass");
  assert.ok(mfa.class_uid === 3002);
  assert.equal(mfa.is_mfa, true);
  assert.equal(mfa.status_id, 2);

  const policy = normalized("New Behavior Accessing Admin Console (logSecurityDataOnly)");
  assert.ok(policy.class_uid === 3002);
  assert.equal(policy.activity_id, 99);
  assert.equal(policy.status_id, 99);
  assert.equal(policy.status, "Challenge");
  assert.equal(policy.risk_level, "Low");
  assert.equal(policy.severity, "Low");
  assert.equal(policy.service?.name, "Okta Admin Console");
  assert.equal((policy.unmapped?.["behaviors"] as Record<string, string>)["New Device"], "POSITIVE");

  const rogue = normalized("Sign-In From Inconspicuous State");
  assert.ok(rogue.class_uid === 3002);
  assert.equal(rogue.risk_level, "Low", "from logOnlySecurityData given as a JSON string");
  assert.equal(rogue.src_endpoint?.ip, "1.1.1.1");

  const brute = normalized("Okta - Successful Login");
  assert.equal(brute.time, Date.parse("2021-06-04T09:59:53.650Z"), "published missing: Panther's p_event_time");
  assert.ok(brute.class_uid === 3002 && brute.user.name === "admin" && brute.user.uid === undefined);

  const reuse = normalized("Reuse Event");
  assert.ok(reuse.class_uid === 2004);
  assert.equal(reuse.finding_info.title, "Token Reuse");
  assert.equal(reuse.user?.uid, "abcd123");
  assert.equal(reuse.riposte.entity_key, "user:abcd123");
});

test("okta: admin events are refused with what to filter; detect leaves other vendors alone", () => {
  const out = outcomeOf(oktaSystemLog, json(pantherRecord(records, "Support Access Granted")));
  assert.ok(
    out.kind === "rejected" && /user\.session\.impersonation\.grant/.test(out.reason) && /filter/.test(out.reason),
  );
  for (const other of [
    ...corpusEvents("azure_entra_signin/panther-analysis__Azure.Audit.jsonl"),
    ...corpusEvents("crowdstrike/panther-analysis__Crowdstrike.EventStreams.jsonl"),
    ...corpusEvents("google_workspace/panther-analysis__GSuite.ActivityEvent.jsonl"),
  ])
    assert.equal(oktaSystemLog.detect(json(other)), false);
});
