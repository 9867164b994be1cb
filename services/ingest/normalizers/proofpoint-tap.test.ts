import { test } from "node:test";
import assert from "node:assert/strict";
import { proofpointTap } from "./proofpoint-tap.ts";
import { corpusEvents, corpusText, json, normalizeWith } from "./testing.ts";
import { isRejection } from "./types.ts";

const CLICKS = corpusEvents(
  "proofpoint_tap/elastic-integrations__proofpoint_tap_clicks_blocked__test-clicks-blocked.log",
);
/** Panther's Proofpoint.Event test records by test name (the vendor event is `log`). */
const MESSAGES = new Map(
  corpusText("proofpoint_tap/panther-analysis__Proofpoint.Event.jsonl")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { test_name: string; log: Record<string, unknown> })
    .map((r) => [r.test_name, r.log] as const),
);
const message = (name: string) => {
  const m = MESSAGES.get(name);
  assert.ok(m, name);
  return normalizeWith(proofpointTap, json(m));
};

test("proofpoint: every corpus click is a Detection Finding about the recipient who clicked", () => {
  assert.equal(CLICKS.length, 5);
  const sev: Record<string, number> = { phish: 4, malware: 4, spam: 2 };
  for (const c of CLICKS) {
    const e = normalizeWith(proofpointTap, json(c));
    assert.ok(e.class_uid === 2004);
    assert.equal(e.user?.email_addr, c["recipient"]);
    assert.equal(e.src_endpoint?.ip, "89.160.20.112");
    assert.equal(e.severity_id, sev[c["classification"] as string]);
    assert.equal(e.finding_info.uid, c["id"]);
  }
  const e = normalizeWith(proofpointTap, json(CLICKS[0]!));
  assert.ok(e.class_uid === 2004);
  assert.equal(e.finding_info.title, "Proofpoint TAP: Click on phish URL");
  assert.equal(e.time, Date.parse("2022-03-21T07:52:11.000Z"));
  assert.equal(e.finding_info.first_seen_time, Date.parse("2022-03-18T14:54:20.000Z"));
  assert.equal(e.riposte.entity_key, "user:123abc@example.com");
  assert.equal(e.finding_info.analytic?.uid, "3xx97xx852c66a7xx761450xxxxxx9f4ffab74715b591294f78b5e37a76481xx");
  assert.deepEqual(e.dst_endpoint, { hostname: "www.example.com" });
  const ev = e.evidences?.[0];
  assert.equal(ev?.url?.url_string, "https://www.example.com/?name=john");
  assert.equal(ev?.email?.message_uid, "12345678912345.12345.mail@example.com");
  assert.equal(ev?.email?.from, "abc123@example.com");
});

test("proofpoint: the list a click came from sets the title and severity", () => {
  const permitted = normalizeWith(proofpointTap, json({ ...CLICKS[3]!, eventType: "clicksPermitted" }));
  const blocked = normalizeWith(proofpointTap, json({ ...CLICKS[3]!, eventType: "clicksBlocked" }));
  assert.ok(permitted.class_uid === 2004 && blocked.class_uid === 2004);
  assert.equal(permitted.finding_info.title, "Proofpoint TAP: Permitted click on malware URL");
  assert.equal(permitted.severity_id, 4);
  assert.equal(blocked.finding_info.title, "Proofpoint TAP: Blocked click on malware URL");
  assert.equal(blocked.severity_id, 3);
  assert.equal(blocked.metadata.log_name, "clicksBlocked");
});

test("proofpoint: every corpus message is Email Activity", () => {
  assert.equal(MESSAGES.size, 24);
  for (const [name, m] of MESSAGES) {
    const e = normalizeWith(proofpointTap, json(m));
    assert.equal(e.class_uid, 4009, name);
    assert.ok(e.class_uid === 4009 && e.email.message_uid === m["messageID"], name);
    assert.equal(e.src_endpoint?.ip, m["senderIP"], name);
  }
});

test("proofpoint: named messages map sender, recipients, subject, sender IP, severity, verdict and time", () => {
  const bec = message("Critical Impostor Score");
  assert.ok(bec.class_uid === 4009);
  assert.deepEqual(bec.email, {
    message_uid: "<bec-urgent@comp4ny.com>",
    from: "ceo@comp4ny.com",
    to: ["finance@company.com"],
    subject: "Urgent Wire Transfer Request",
    x_originating_ip: ["192.0.2.150"],
  });
  assert.equal(bec.verdict, "impostor");
  assert.equal(bec.severity_id, 5);
  assert.equal(bec.time, Date.parse("2026-01-08T14:00:00Z"));
  assert.equal(bec.riposte.entity_key, "user:finance@company.com");
  assert.equal(bec.metadata.log_name, "messagesDelivered");

  const phish = message("High Phish Score");
  assert.ok(phish.class_uid === 4009);
  assert.equal(phish.verdict, "phish");
  assert.equal(phish.severity_id, 5);
  assert.equal(phish.message, "Phish email delivered: Action Required: Confirm Your Payment");

  const quarantined = message("Malware Quarantine Rule Match");
  assert.ok(quarantined.class_uid === 4009);
  assert.equal(quarantined.verdict, "malware");
  assert.equal(quarantined.severity_id, 3, "blocked: nothing left to purge, Medium at most");
  assert.equal(quarantined.email.size, 202302);
  assert.equal(quarantined.unmapped?.["disposition"], "blocked");
  assert.equal(quarantined.metadata.log_name, "messagesBlocked");

  const campaign = message("Active Phishing Campaign");
  assert.ok(campaign.class_uid === 4009);
  assert.equal(campaign.url?.url_string, "http://paypa1-verify-account.com/login");

  const clean = message("Legitimate Email - No Alert");
  assert.ok(clean.class_uid === 4009);
  assert.equal(clean.verdict, "clean");
  assert.equal(clean.severity_id, 1);

  const cleared = message("Campaign But Threat Not Active - No Alert");
  assert.ok(cleared.class_uid === 4009);
  assert.equal(cleared.verdict, "clean", "cleared threats do not count");
  assert.equal(cleared.url, undefined);
});

test("proofpoint: the SIEM API envelope is refused; unreadable times fall back; malformed records are clear errors", () => {
  const envelope = {
    queryEndTime: "2024-05-02T10:00:00Z",
    messagesDelivered: [],
    messagesBlocked: [],
    clicksPermitted: [],
    clicksBlocked: [],
  };
  assert.ok(proofpointTap.detect(json(envelope)));
  const out = proofpointTap.normalize(json(envelope));
  assert.ok(isRejection(out) && /send each record/.test(out.reason));
  const soon = normalizeWith(proofpointTap, json({ ...CLICKS[0]!, clickTime: "soon" }));
  assert.equal(soon.riposte.time_fallback, true, "an unreadable clickTime takes the received time");
  assert.throws(() => proofpointTap.normalize(json({ foo: 1 })), /not a Proofpoint TAP message/);
});

test("proofpoint: detection is specific", () => {
  for (const c of CLICKS) assert.ok(proofpointTap.detect(json(c)));
  for (const m of MESSAGES.values()) assert.ok(proofpointTap.detect(json(m)));
  assert.equal(
    proofpointTap.detect(json(corpusEvents("splunk_notable/elastic-integrations__splunk_alert__test-alert.log")[0]!)),
    false,
  );
  assert.equal(
    proofpointTap.detect(
      json(corpusEvents("elastic_security_alerts/elastic-integrations__elastic_security_alert__test-alert.log")[0]!),
    ),
    false,
  );
});
