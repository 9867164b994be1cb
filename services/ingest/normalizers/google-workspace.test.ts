import { test } from "node:test";
import assert from "node:assert/strict";
import { googleWorkspaceAlert } from "./google-workspace.ts";
import { corpusEvents, json, normalizeWith, otherVendors, pantherRecord, pantherRecords } from "./testing.ts";
import type { NormalizedEvent } from "../../../schemas/index.ts";

const ALERTS = "google_workspace/elastic-integrations__google_workspace_alert__test-alert.log";
const ACTIVITY = "google_workspace/panther-analysis__GSuite.ActivityEvent.jsonl";
const alerts = () => corpusEvents(ALERTS);
const alert = (i: number) => normalizeWith(googleWorkspaceAlert, json(alerts()[i]!));
const title = (e: NormalizedEvent) => (e.class_uid === 2004 ? e.finding_info.title : undefined);

test("google workspace: every corpus alert normalizes; the AppsOutage service notice is a Base Event", () => {
  const all = alerts();
  assert.equal(all.length, 14);
  all.forEach((ev, i) => {
    assert.ok(googleWorkspaceAlert.detect(json(ev)), `alert ${i} detected`);
    const e = normalizeWith(googleWorkspaceAlert, json(ev));
    if (i === 10) {
      assert.equal(e.class_uid, 0);
      assert.equal(e.metadata.event_code, "AppsOutage");
      assert.match(e.message ?? "", /service status notice/);
    } else assert.equal(e.class_uid, 2004);
  });
});

test("google workspace: the Gmail phishing alert: recipient, sender, messages, hashes", () => {
  const e = alert(0);
  assert.equal(title(e), "User reported phishing");
  assert.equal(e.severity_id, 4);
  assert.equal(e.status_id, 1);
  assert.equal(e.time, Date.parse("2022-07-10T10:49:29.436Z"));
  assert.equal(e.metadata.uid, "91840a82-3af0-46d7-95ec-625c1cf0c3f7");
  assert.equal(e.metadata.event_code, "MailPhishing");
  assert.equal(e.user?.email_addr, "example@example.com");
  assert.equal(e.riposte.entity_key, "user:example@example.com");
  assert.ok(e.class_uid === 2004);
  assert.equal(e.finding_info.first_seen_time, Date.parse("2022-07-01T10:38:13.194Z"));
  assert.equal(e.evidences?.length, 2);
  assert.deepEqual(e.evidences?.[0]?.email, {
    message_uid: "decedih843@example.com",
    from: "header@example.com",
    to: ["example@example.com"],
    subject: "Sales",
  });
  assert.equal(
    e.evidences?.[1]?.file?.hashes?.[0]?.value,
    "5fb1679e08674059b72e271d8902c11a127bb5301b055dc77fa03932ada56a56",
  );
});

test("google workspace: named alerts: source IPs, users, placeholders ignored, actor, severity", () => {
  const whitelist = alert(2);
  assert.equal(title(whitelist), "Misconfigured whitelist");
  assert.equal(whitelist.src_endpoint?.ip, "89.160.20.128");
  assert.ok(whitelist.class_uid === 2004 && whitelist.evidences?.[0]?.email?.from === "test@sales.com");

  const leaked = alert(3);
  assert.equal(title(leaked), "Leaked password");
  assert.equal(leaked.user?.name, "foo@example.com");
  assert.equal(leaked.src_endpoint?.ip, "89.160.20.128");
  assert.equal(leaked.time, Date.parse("2022-07-13T10:49:29.436Z"));

  const takeout = alert(1);
  assert.equal(takeout.user, undefined, 'data.email "string" is a placeholder, not an address');
  assert.equal(takeout.riposte.entity_key, "resource:02umwv6u", "no user: the Workspace customer is the entity");
  assert.ok(takeout.class_uid === 2004);
  assert.deepEqual(takeout.resources, [{ uid: "02umwv6u", type: "Google Workspace customer" }]);
  const byAdmin = {
    ...alerts()[1]!,
    data: {
      "@type": "type.googleapis.com/google.apps.alertcenter.type.DomainWideTakeoutInitiated",
      email: "admin@example.com",
    },
  };
  const initiated = normalizeWith(googleWorkspaceAlert, json(byAdmin));
  assert.equal(initiated.actor?.user?.name, "admin@example.com");
  assert.equal(initiated.user, undefined);

  assert.equal(alert(5).user?.name, "example@example.com");
  const device = alert(6);
  assert.equal(device.user?.name, "example@fake.com");
  assert.deepEqual(device.device, { uid: "840a82", type: "device type" });
  assert.equal(alert(4).user?.name, "test@example.com");

  const reporting = alert(13);
  assert.equal(reporting.severity_id, 2);
  assert.ok(reporting.class_uid === 2004);
  assert.equal(reporting.finding_info.analytic?.name, "Drive Visibility rule update check");
  assert.equal(reporting.finding_info.src_url, "https://admin.google.com/ac/ac/investigate?alert=xxxxxxx");
  assert.equal(reporting.time, Date.parse("2022-07-27T03:31:28.440Z"));
});

test("google workspace: every claimed Admin SDK activity event normalizes to its OCSF class; none is refused", () => {
  const classes: Record<number, number> = {};
  let claimed = 0;
  for (const ev of corpusEvents(ACTIVITY)) {
    if (!googleWorkspaceAlert.detect(json(ev))) continue;
    claimed++;
    const e = normalizeWith(googleWorkspaceAlert, json(ev));
    classes[e.class_uid] = (classes[e.class_uid] ?? 0) + 1;
  }
  // The 2 unclaimed records are Panther enrichment fragments without any Google field.
  assert.equal(claimed, 163);
  for (const cls of [0, 3001, 3002, 3004, 3005, 3006, 6003]) assert.ok((classes[cls] ?? 0) > 0, `class ${cls}`);
});

const records = pantherRecords(ACTIVITY);
const activity = (name: string) => normalizeWith(googleWorkspaceAlert, json(pantherRecord(records, name)));

test("google workspace activity (corpus): sign-ins, account changes, privileges, admin changes, OAuth grants", () => {
  const failed = normalizeWith(
    googleWorkspaceAlert,
    json(pantherRecord(records, "GSuite - Failed Login Event", "Standard.BruteForceByUser")),
  );
  assert.ok(failed.class_uid === 3002);
  assert.equal(failed.status_id, 2);
  assert.equal(failed.user.name, "bob@example.com");
  assert.equal(failed.src_endpoint?.ip, "111.111.111.111");
  assert.equal(failed.riposte.entity_key, "user:bob@example.com");
  const saml = activity("Saml Login Event");
  assert.ok(saml.class_uid === 3002 && saml.status_id === 1 && saml.service?.name === "Some SAML Application");
  const gov = activity("Government Backed Attack Warning");
  assert.ok(gov.class_uid === 3002 && gov.severity_id === 4 && gov.risk_level === "High");
  const leak = activity("Account Warning For Password Leaked");
  assert.ok(leak.class_uid === 3001 && leak.activity_name === "Disable");
  assert.equal(leak.user.email_addr, "homer.simpson@example.com");
  const twoSv = activity("Two Step Verification Disabled");
  assert.ok(twoSv.class_uid === 3001 && twoSv.activity_id === 11);
  const grant = activity("GSuite - Privileges Assigned");
  assert.ok(grant.class_uid === 3005 && grant.activity_id === 1);
  assert.equal(grant.user.name, "bob@example.com");
  assert.deepEqual(grant.privileges, ["Some Admin Role"]);
  assert.equal(grant.actor?.user?.name, "bobert@example.com");
  const trusted = activity("Workspace Admin Add Trusted Domain");
  assert.ok(trusted.class_uid === 3004 && trusted.activity_name === "Create");
  assert.deepEqual(trusted.entity, { name: "evilexample.com", type: "Domain" });
  const oauth = activity("Malicious App Privileged Scopes");
  assert.ok(oauth.class_uid === 6003);
  assert.equal(oauth.api.operation, "authorize");
  assert.equal(oauth.resources?.[0]?.name, "SuspiciousThirdPartyApp");
  assert.equal(oauth.resources?.[0]?.type, "OAuth Client");
  assert.equal(oauth.time, Date.parse("2024-01-15T10:30:00Z"));
  assert.equal((oauth.unmapped?.["parameters"] as Record<string, string[]>)["scope"]?.length, 4);
  const forwarding = activity("Forwarding to External Address - applicationName = login");
  assert.ok(forwarding.class_uid === 6003 && forwarding.activity_name === "Update");
  assert.equal(forwarding.riposte.entity_key, "user:homer.simpson@springfield.io");
  const download = activity("Document Downloaded");
  assert.ok(download.class_uid === 6003 && download.activity_name === "Read");
  assert.equal(download.resources?.[0]?.name, "My Sensitive Document");
  assert.equal(activity("Resource Accessed by Google").class_uid, 0);
});

// The Reports API's own shape (activities.list items: id, actor, ipAddress, events[] with typed parameters), built
// field by field from developers.google.com/admin-sdk/reports/reference/rest/v1/activities and the login and admin
// application event pages (.../v1/appendix/activity/login, .../activity/admin-user-settings).
test("google workspace activity (documented API shape): events[] with typed parameters", () => {
  const base = {
    kind: "admin#reports#activity",
    id: {
      time: "2026-11-20T09:14:02.123Z",
      uniqueQualifier: "-123456789",
      applicationName: "login",
      customerId: "C0abc",
    },
    etag: '"x"',
    actor: { callerType: "USER", email: "alice@example.com", profileId: "1001" },
    ipAddress: "203.0.113.7",
  };
  const challenge = normalizeWith(
    googleWorkspaceAlert,
    json({
      ...base,
      events: [
        {
          type: "login",
          name: "login_challenge",
          parameters: [
            { name: "login_type", value: "google_password" },
            { name: "login_challenge_method", multiValue: ["password", "idv_any_phone"] },
            { name: "login_challenge_status", value: "Challenge Failed" },
            { name: "is_suspicious", boolValue: true },
          ],
        },
      ],
    }),
  );
  assert.ok(challenge.class_uid === 3002);
  assert.equal(challenge.status, "Failure");
  assert.equal(challenge.is_mfa, true);
  assert.equal(challenge.logon_type, "google_password");
  assert.equal(challenge.time, Date.parse("2026-11-20T09:14:02.123Z"));
  assert.equal(challenge.metadata.uid, "2026-11-20T09:14:02.123Z/-123456789/login_challenge");
  assert.equal(challenge.src_endpoint?.ip, "203.0.113.7");
  const suspended = normalizeWith(
    googleWorkspaceAlert,
    json({
      ...base,
      id: { ...base.id, applicationName: "admin" },
      events: [
        { type: "USER_SETTINGS", name: "SUSPEND_USER", parameters: [{ name: "USER_EMAIL", value: "bob@example.com" }] },
      ],
    }),
  );
  assert.ok(suspended.class_uid === 3001 && suspended.activity_name === "Disable");
  assert.equal(suspended.user.name, "bob@example.com");
  assert.equal(suspended.actor?.user?.name, "alice@example.com");
  const member = normalizeWith(
    googleWorkspaceAlert,
    json({
      ...base,
      id: { ...base.id, applicationName: "admin" },
      events: [
        {
          type: "GROUP_SETTINGS",
          name: "ADD_GROUP_MEMBER",
          parameters: [
            { name: "USER_EMAIL", value: "bob@example.com" },
            { name: "GROUP_EMAIL", value: "admins@example.com" },
          ],
        },
      ],
    }),
  );
  assert.ok(member.class_uid === 3006 && member.activity_name === "Add User");
  assert.equal(member.group.name, "admins@example.com");
  assert.equal(member.user?.name, "bob@example.com");
});

test("google workspace: malformed alerts are clear errors; other vendors are not claimed", () => {
  const bad = { ...alerts()[3]!, createTime: "tomorrow" };
  assert.equal(normalizeWith(googleWorkspaceAlert, json(bad)).riposte.time_fallback, true);
  assert.throws(
    () => googleWorkspaceAlert.normalize(json({ alertId: "a" })),
    /not a Google Workspace Alert Center alert/,
  );
  for (const other of otherVendors("google_workspace")) assert.equal(googleWorkspaceAlert.detect(json(other)), false);
});

test("google workspace activity: vendor names that are Object.prototype members are plain data", () => {
  for (const name of ["constructor", "toString", "__proto__"]) {
    const e = normalizeWith(
      googleWorkspaceAlert,
      json({
        kind: "admin#reports#activity",
        id: { applicationName: "login" },
        actor: { email: "a@example.com" },
        name,
      }),
    );
    assert.equal(e.class_uid, 6003, name);
  }
});
