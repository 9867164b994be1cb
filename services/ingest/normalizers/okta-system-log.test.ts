import { test } from "node:test";
import assert from "node:assert/strict";
import { oktaKind, oktaSystemLog } from "./okta-system-log.ts";
import { corpusEvents, json, normalizeWith, outcomeOf, pantherRecord, pantherRecords } from "./testing.ts";
import { ACCOUNT_LOCK, APP_DELETE, GROUP_ADD, LIFECYCLE_DEACTIVATE, TOKEN_GRANT } from "./fixtures/okta.ts";

const FILE = "okta/panther-analysis__Okta.SystemLog.jsonl";
const records = pantherRecords(FILE);

const normalized = (name: string, rule?: string, eventType?: string) =>
  normalizeWith(
    oktaSystemLog,
    json(
      eventType === undefined
        ? pantherRecord(records, name, rule)
        : (records.find((r) => r.name === name && eventTypeOf(r.log) === eventType)?.log ?? {}),
    ),
  );
const eventTypeOf = (log: Record<string, unknown>) => (log["eventType"] ?? log["eventtype"]) as string | undefined;

test("okta: every corpus record with an eventType normalizes, as the class its event type maps to", () => {
  assert.equal(records.length, 59);
  const tally: Record<string, number> = {};
  for (const r of records) {
    const type = eventTypeOf(r.log);
    const out = outcomeOf(oktaSystemLog, json(r.log));
    if (type === undefined) {
      assert.equal(oktaSystemLog.detect(json(r.log)), false, `${r.name} holds only Panther enrichment`);
      assert.ok(out.kind === "error" && /without eventType/.test(out.message));
      tally["not okta"] = (tally["not okta"] ?? 0) + 1;
      continue;
    }
    assert.ok(oktaSystemLog.detect(json(r.log)), r.name);
    assert.ok(out.kind === "ok", `${r.name}: ${JSON.stringify(out)}`);
    const kind = oktaKind(type);
    const expected = kind === "auth" ? 3002 : kind === "finding" ? 2004 : kind.class_uid;
    // A sign-in naming no user is kept as a Base Event; an MFA factor change naming no user as Entity Management.
    assert.ok(out.event.class_uid === expected || out.event.class_uid === 0 || out.event.class_uid === 3004, r.name);
    assert.equal(out.event.metadata.event_code, type, r.name);
    assert.ok(!out.event.riposte.entity_key.startsWith("source:"), `${r.name}: ${out.event.riposte.entity_key}`);
    tally[out.event.class_uid] = (tally[out.event.class_uid] ?? 0) + 1;
  }
  assert.deepEqual(tally, { 0: 2, 2004: 3, 3001: 7, 3002: 25, 3004: 4, 3005: 1, 3006: 2, 6003: 13, "not okta": 2 });
});

test("okta: event types map to the OCSF class and activity Okta's catalogue describes", () => {
  const cases: Record<string, readonly [number, number]> = {
    "user.lifecycle.create": [3001, 1],
    "user.lifecycle.suspend": [3001, 5],
    "user.account.lock": [3001, 9],
    "user.account.unlock": [3001, 12],
    "user.account.reset_password": [3001, 4],
    "user.account.update_password": [3001, 3],
    "user.mfa.factor.activate": [3001, 10],
    "user.mfa.factor.deactivate": [3001, 11],
    "user.mfa.factor.reset_all": [3001, 11],
    "system.mfa.factor.deactivate": [3001, 11],
    "user.account.privilege.grant": [3005, 1],
    "user.account.privilege.revoke": [3005, 2],
    "application.user_membership.add": [3005, 1],
    "group.privilege.grant": [3006, 1],
    "group.user_membership.add": [3006, 3],
    "group.user_membership.remove": [3006, 4],
    "application.lifecycle.create": [3004, 1],
    "application.lifecycle.deactivate": [3004, 11],
    "policy.rule.update": [3004, 3],
    "app.oauth2.as.token.grant.access_token": [6003, 1],
    "app.oauth2.token.revoke": [6003, 4],
    "system.api_token.create": [6003, 1],
    "system.api_token.revoke": [6003, 4],
    "application.user_membership.show_password": [6003, 2],
    "system.org.rate_limit.warning": [6003, 99],
    "user.session.impersonation.grant": [0, 99],
  };
  for (const [type, [cls, activity]] of Object.entries(cases)) {
    const kind = oktaKind(type);
    assert.ok(typeof kind === "object", type);
    assert.deepEqual([kind.class_uid, kind.activity_id], [cls, activity], type);
  }
  assert.equal(oktaKind("security.threat.detected"), "finding");
  assert.equal(oktaKind("USER.SESSION.START"), "auth");
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

test("okta: an MFA reset (all-lowercase keys) is an Account Change of the target user, by the admin actor", () => {
  const e = normalized("Other Event", undefined, "user.mfa.factor.reset_all");
  assert.ok(e.class_uid === 3001);
  assert.equal(e.activity_id, 11);
  assert.equal(e.activity_name, "MFA Factor Disable");
  assert.equal(e.type_uid, 300111);
  assert.equal(e.user.name, "peter.griffin@company.com");
  assert.equal(e.actor?.user?.name, "homer.simpson@duff.com");
  assert.equal(e.status, "Success");
  assert.equal(e.riposte.entity_key, "user:peter.griffin@company.com", "the affected account, not the admin");
  assert.equal(e.time, Date.parse("2022-06-22T18:18:29.015Z"));
});

test("okta: privilege grants, revealed passwords, API tokens and rate limits each as their class", () => {
  const grant = normalized("Admin Access Assigned");
  assert.ok(grant.class_uid === 3005);
  assert.equal(grant.activity_name, "Assign Privileges");
  assert.equal(grant.user.name, "alice@acme.io");
  assert.equal(grant.actor?.user?.name, "jack@acme.io");
  assert.deepEqual(grant.privileges, ["Organization administrator", "Application administrator (all)"]);
  assert.equal(grant.riposte.entity_key, "user:alice@acme.io");

  const group = normalized("Group Privilege Grant");
  assert.ok(group.class_uid === 3006);
  assert.equal(group.status, "Failure");
  assert.equal(group.resources?.[0]?.name, "App (123)");

  const shown = normalized("User accessed another user's password");
  assert.ok(shown.class_uid === 6003);
  assert.equal(shown.activity_name, "Read");
  assert.equal(shown.api.operation, "application.user_membership.show_password");
  assert.ok(shown.resources?.some((r) => r.type === "AppInstance" && r.name === "Application3"));

  const token = normalized("API Key Created");
  assert.ok(token.class_uid === 6003);
  assert.equal(token.activity_name, "Create");
  assert.equal(token.actor.user?.name, "user@example.com");
  assert.equal(token.resources?.[0]?.name, "test_key");

  const limit = normalized("Non-Login Event", undefined, "system.org.rate_limit.warning");
  assert.ok(limit.class_uid === 6003);
  assert.equal(limit.activity_name, "Rate Limit Warning");
  assert.equal(limit.resources?.[0]?.uid, "/api/v1/logs");
  assert.equal(limit.unmapped?.["request_uri"], "/api/v1/logs");
});

test("okta: a redacted or absent published falls back to the received time, marked", () => {
  const redacted = records.filter(
    (r) => eventTypeOf(r.log) && /redacted/i.test(JSON.stringify(r.log["published"] ?? "")),
  );
  assert.ok(redacted.length > 0);
  for (const r of redacted) {
    const e = normalizeWith(oktaSystemLog, json(r.log));
    assert.equal(e.riposte.time_fallback, true, r.name);
    assert.equal(e.time, 1_700_000_000_000, r.name);
    assert.ok(e.metadata.labels?.includes("riposte:time_fallback"), r.name);
  }
  const { published: _p, ...absent } = pantherRecord(records, "Admin Access Assigned");
  const e = normalizeWith(oktaSystemLog, json(absent));
  assert.equal(e.riposte.time_fallback, true);
  assert.equal(e.class_uid, 3005);
});

test("okta: understood admin events are kept (Base Event with the event type); detect leaves other vendors alone", () => {
  const e = normalized("Support Access Granted");
  assert.equal(e.class_uid, 0);
  assert.equal(e.metadata.event_code, "user.session.impersonation.grant");
  assert.equal(e.riposte.entity_key, "user:homer@springfield.gov");
  for (const other of [
    ...corpusEvents("azure_entra_signin/panther-analysis__Azure.Audit.jsonl"),
    ...corpusEvents("crowdstrike/panther-analysis__Crowdstrike.EventStreams.jsonl"),
    ...corpusEvents("google_workspace/panther-analysis__GSuite.ActivityEvent.jsonl"),
  ])
    assert.equal(oktaSystemLog.detect(json(other)), false);
});

// LogEvent shapes built field by field from Okta's documentation (see fixtures/okta.ts).

test("okta: documented shapes — lock, deactivation, group add, OAuth token grant, app deletion", () => {
  const lock = normalizeWith(oktaSystemLog, json(ACCOUNT_LOCK));
  assert.ok(lock.class_uid === 3001);
  assert.deepEqual([lock.activity_id, lock.activity_name, lock.status], [9, "Lock", "Failure"]);
  assert.equal(lock.user.name, "alice@example.com");
  assert.equal(lock.severity, "Medium", "Okta WARN");
  assert.equal(lock.src_endpoint?.ip, "198.51.100.77");
  assert.equal(lock.src_endpoint?.location?.country, "Portugal");
  assert.equal(lock.metadata.correlation_uid, `tx-${ACCOUNT_LOCK["uuid"] as string}`);

  const off = normalizeWith(oktaSystemLog, json(LIFECYCLE_DEACTIVATE));
  assert.ok(off.class_uid === 3001 && off.activity_id === 5);
  assert.equal(off.user.name, "alice@example.com");
  assert.equal(off.actor?.user?.name, "it.admin@example.com");
  assert.equal(off.riposte.entity_key, "user:alice@example.com");

  const add = normalizeWith(oktaSystemLog, json(GROUP_ADD));
  assert.ok(add.class_uid === 3006);
  assert.deepEqual([add.activity_id, add.activity_name], [3, "Add User"]);
  assert.deepEqual(add.group, { uid: "00gadmins000000000x7", name: "Okta Admins", type: "UserGroup" });
  assert.equal(add.user?.name, "alice@example.com");
  assert.equal(add.riposte.entity_key, "user:alice@example.com");

  const token = normalizeWith(oktaSystemLog, json(TOKEN_GRANT));
  assert.ok(token.class_uid === 6003);
  assert.equal(token.activity_name, "Create");
  assert.equal(token.actor.app_name, "Reporting");
  assert.equal(token.api.operation, "app.oauth2.as.token.grant.access_token");
  assert.equal(token.api.request?.uid, `req-${TOKEN_GRANT["uuid"] as string}`);
  assert.equal(token.riposte.entity_key, "ip:198.51.100.77", "no user: the client IP");

  const gone = normalizeWith(oktaSystemLog, json(APP_DELETE));
  assert.ok(gone.class_uid === 3004);
  assert.deepEqual([gone.activity_id, gone.activity_name], [4, "Delete"]);
  assert.deepEqual(gone.entity, { uid: "0oaapp000000000x7", name: "Payroll", type: "AppInstance" });
  assert.equal(gone.riposte.entity_key, "user:it.admin@example.com");
});

test("okta: keys in all lower case map the same", () => {
  const lower = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(lower)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.toLowerCase(), lower(x)]))
        : v;
  for (const ev of [ACCOUNT_LOCK, GROUP_ADD, TOKEN_GRANT]) {
    const a = normalizeWith(oktaSystemLog, json(ev));
    const b = normalizeWith(oktaSystemLog, json(lower(ev) as Record<string, unknown>));
    assert.deepEqual(
      { ...b, raw_data: undefined, riposte: undefined },
      { ...a, raw_data: undefined, riposte: undefined },
    );
  }
});

test("okta: system.mfa.factor.deactivate for a user is an Account Change; for the org, Entity Management", () => {
  const forUser = normalizeWith(
    oktaSystemLog,
    json({ ...LIFECYCLE_DEACTIVATE, eventType: "system.mfa.factor.deactivate" }),
  );
  assert.ok(forUser.class_uid === 3001 && forUser.activity_id === 11);
  assert.equal(forUser.user.name, "alice@example.com");
  const factor = { id: "aut-okta-verify", type: "Authenticator", displayName: "Okta Verify" };
  const forOrg = normalizeWith(
    oktaSystemLog,
    json({ ...LIFECYCLE_DEACTIVATE, eventType: "system.mfa.factor.deactivate", target: [factor] }),
  );
  assert.ok(forOrg.class_uid === 3004);
  assert.deepEqual([forOrg.activity_id, forOrg.entity.name], [11, "Okta Verify"]);
  assert.equal(forOrg.actor?.user?.name, "it.admin@example.com");
});
