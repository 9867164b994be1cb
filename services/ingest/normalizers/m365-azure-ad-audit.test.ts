import { test } from "node:test";
import assert from "node:assert/strict";
import { m365AzureAdAudit } from "./m365-azure-ad-audit.ts";
import { corpusEvents, json, normalizeWith, outcomeOf, pantherRecord, pantherRecords } from "./testing.ts";

const FILE = "azure_entra_signin/panther-analysis__Microsoft365.Audit.AzureActiveDirectory.jsonl";
const records = pantherRecords(FILE);

const auth = (name: string) => {
  const e = normalizeWith(m365AzureAdAudit, json(pantherRecord(records, name)));
  if (e.class_uid !== 3002) throw new Error("not an Authentication");
  return e;
};

test("m365 aad: 'Failed Login event' (UserLoginFailed) is a failure even though ResultStatus says Success", () => {
  const e = auth("Failed Login event");
  assert.equal(e.user.name, "sample.user@yourorg.onmicrosoft.com");
  assert.equal(e.src_endpoint?.ip, "1.2.3.4");
  assert.equal(e.status_id, 2);
  assert.equal(e.severity, "Informational");
  assert.equal(e.time, Date.parse("2022-12-12T15:57:57Z"));
  assert.equal(e.metadata.event_code, "UserLoginFailed");
  assert.equal(e.unmapped?.["logon_error"], "InvalidUserNameOrPassword");
  assert.equal(e.riposte.entity_key, "user:sample.user@yourorg.onmicrosoft.com");
});

test("m365 aad: 'Login Event' (UserLoggedIn, no Workload field) is a success", () => {
  const e = auth("Login Event");
  assert.equal(e.status, "Success");
  assert.equal(e.user.uid, "012345-abcde-543-xyz");
  assert.equal(e.unmapped?.["request_type"], "Login:reprocess");
});

test("m365 aad: every record is detected; directory changes ('Update user.') are refused with a reason", () => {
  assert.equal(records.length, 4);
  for (const r of records) {
    assert.ok(m365AzureAdAudit.detect(json(r.log)), r.name);
    const out = outcomeOf(m365AzureAdAudit, json(r.log));
    if (r.name.startsWith("MFA"))
      assert.ok(out.kind === "rejected" && /"Update user\."/.test(out.reason), JSON.stringify(out));
    else assert.equal(out.kind, "ok", r.name);
  }
});

test("m365 aad: detect leaves Exchange audit and Entra sign-in logs alone; a sign-in without UserId is a clear error", () => {
  for (const other of [
    ...corpusEvents("email_phishing/panther-analysis__Microsoft365.Audit.Exchange.jsonl").slice(0, 5),
    ...corpusEvents("azure_entra_signin/panther-analysis__Azure.Audit.jsonl"),
  ])
    assert.equal(m365AzureAdAudit.detect(json(other)), false);
  const login = pantherRecord(records, "Login Event");
  assert.throws(() => m365AzureAdAudit.normalize(json({ ...login, UserId: "" })), /without UserId/);
});
