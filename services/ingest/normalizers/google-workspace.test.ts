import { test } from "node:test";
import assert from "node:assert/strict";
import { googleWorkspaceAlert } from "./google-workspace.ts";
import { corpusEvents, json, normalizeWith, otherVendors } from "./testing.ts";
import type { NormalizedEvent } from "../../../schemas/index.ts";

const ALERTS = "google_workspace/elastic-integrations__google_workspace_alert__test-alert.log";
const ACTIVITY = "google_workspace/panther-analysis__GSuite.ActivityEvent.jsonl";
const alerts = () => corpusEvents(ALERTS);
const alert = (i: number) => normalizeWith(googleWorkspaceAlert, json(alerts()[i]!));
const title = (e: NormalizedEvent) => (e.class_uid === 2004 ? e.finding_info.title : undefined);

test("google workspace: every corpus alert normalizes, except the AppsOutage notice which is refused", () => {
  const all = alerts();
  assert.equal(all.length, 14);
  all.forEach((ev, i) => {
    assert.ok(googleWorkspaceAlert.detect(json(ev)), `alert ${i} detected`);
    const out = googleWorkspaceAlert.normalize(json(ev));
    if (i === 10)
      assert.ok("rejected" in out && /AppsOutage alerts are a Google Workspace service status notice/.test(out.reason));
    else assert.equal(normalizeWith(googleWorkspaceAlert, json(ev)).class_uid, 2004);
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
  assert.equal(takeout.riposte.entity_key, "source:test");
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

test("google workspace: Admin SDK activity events are not alerts: claimed ones are refused, none normalize", () => {
  let claimed = 0;
  for (const ev of corpusEvents(ACTIVITY)) {
    if (!googleWorkspaceAlert.detect(json(ev))) continue;
    claimed++;
    const out = googleWorkspaceAlert.normalize(json(ev));
    assert.ok("rejected" in out && /activity events \(Reports API\) are audit logs, not alerts/.test(out.reason));
  }
  // The 2 unclaimed records are Panther enrichment fragments without any Google field.
  assert.equal(claimed, 163);
});

test("google workspace: malformed alerts are clear errors; other vendors are not claimed", () => {
  const bad = { ...alerts()[3]!, createTime: "tomorrow" };
  assert.throws(() => googleWorkspaceAlert.normalize(json(bad)), /createTime "tomorrow" is not a time/);
  assert.throws(
    () => googleWorkspaceAlert.normalize(json({ alertId: "a" })),
    /not a Google Workspace Alert Center alert/,
  );
  for (const other of otherVendors("google_workspace")) assert.equal(googleWorkspaceAlert.detect(json(other)), false);
});
