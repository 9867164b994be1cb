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

test("m365 aad: every record is detected and normalizes; 'Update user.' changing MFA methods is an Account Change", () => {
  assert.equal(records.length, 4);
  for (const r of records) {
    assert.ok(m365AzureAdAudit.detect(json(r.log)), r.name);
    const out = outcomeOf(m365AzureAdAudit, json(r.log));
    assert.equal(out.kind, "ok", r.name);
    if (out.kind === "ok" && r.name.startsWith("MFA")) {
      assert.equal(out.event.class_uid, 3001);
      assert.equal(out.event.activity_name, r.name === "MFA Add Event" ? "MFA Factor Enable" : "MFA Factor Disable");
      assert.ok(out.event.class_uid === 3001 && out.event.user.name === "sample.user@yourorg.onmicrosoft.com");
    }
  }
});

test("m365 aad: detect leaves Entra sign-in logs alone; a sign-in without UserId is a clear error", () => {
  for (const other of corpusEvents("azure_entra_signin/panther-analysis__Azure.Audit.jsonl"))
    assert.equal(m365AzureAdAudit.detect(json(other)), false);
  const login = pantherRecord(records, "Login Event");
  assert.throws(() => m365AzureAdAudit.normalize(json({ ...login, UserId: "" })), /without UserId/);
});

const EXCHANGE = pantherRecords("email_phishing/panther-analysis__Microsoft365.Audit.Exchange.jsonl");

test("m365 exchange (corpus, lower-case keys): inbox rules and mailbox forwarding are API Activity with the forwarding", () => {
  assert.equal(EXCHANGE.length, 10);
  for (const r of EXCHANGE) {
    assert.ok(m365AzureAdAudit.detect(json(r.log)), r.name);
    const e = normalizeWith(m365AzureAdAudit, json(r.log));
    assert.ok(e.class_uid === 6003, r.name);
    assert.equal(e.metadata.log_name, "Audit.Exchange");
  }
  const rule = normalizeWith(m365AzureAdAudit, json(pantherRecord(EXCHANGE, "Suspicious Forwarding Pattern")));
  assert.ok(rule.class_uid === 6003);
  assert.equal(rule.api.operation, "New-InboxRule");
  assert.equal(rule.activity_name, "Create");
  assert.equal(rule.severity_id, 3);
  assert.deepEqual(rule.resources, [{ name: "Delete and Forward Rule", uid: "homer.simpson", type: "Inbox Rule" }]);
  assert.deepEqual(rule.unmapped?.["forwarding_to"], ["external@example.com"]);
  assert.equal(rule.unmapped?.["deletes_messages"], true);
  assert.equal(rule.riposte.entity_key, "user:homer.simpson@simpsons.onmicrosoft.com");
  assert.equal(rule.src_endpoint?.ip, "1.2.3.4");
  assert.equal(rule.time, Date.parse("2022-12-12T22:19:00Z"));
  const forward = normalizeWith(m365AzureAdAudit, json(pantherRecord(EXCHANGE, "External Organization Forwarding")));
  assert.ok(forward.class_uid === 6003 && forward.activity_name === "Update");
  assert.deepEqual(forward.unmapped?.["forwarding_to"], ["peter.griffin@familyguy.com"]);
  const port = normalizeWith(
    m365AzureAdAudit,
    json(pantherRecord(EXCHANGE, "Internal Forwarding with Suspicious Pattern")),
  );
  assert.equal(port.src_endpoint?.ip, "1.2.3.4", "ClientIP 1.2.3.4:10736 is an address and a port");
});

// Records built field by field from Microsoft's "Office 365 Management Activity API schema"
// (learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema): the common
// schema, the Azure Active Directory schema, the Exchange mailbox schema and the SharePoint file schema.
const common = {
  Id: "8f3d2c1b-0000-4000-8000-000000000001",
  CreationTime: "2026-11-20T09:14:02",
  OrganizationId: "org-1",
  UserKey: "10030000A1B2C3D4",
  UserType: 0,
  ResultStatus: "Succeeded",
  ClientIP: "203.0.113.50",
  UserId: "admin@contoso.com",
};

test("m365 (documented schemas): directory operations, mailbox access and file access", () => {
  const role = normalizeWith(
    m365AzureAdAudit,
    json({
      ...common,
      RecordType: 8,
      Workload: "AzureActiveDirectory",
      Operation: "Add member to role.",
      ObjectId: "bob@contoso.com",
      AzureActiveDirectoryEventType: 1,
      ModifiedProperties: [{ Name: "Role.DisplayName", NewValue: "Global Administrator", OldValue: "" }],
      Actor: [{ ID: "admin@contoso.com", Type: 5 }],
      Target: [{ ID: "bob@contoso.com", Type: 5 }],
    }),
  );
  assert.ok(role.class_uid === 3005 && role.activity_name === "Assign Privileges");
  assert.deepEqual(role.privileges, ["Global Administrator"]);
  assert.equal(role.user.name, "bob@contoso.com");
  assert.equal(role.actor?.user?.name, "admin@contoso.com");
  const reset = normalizeWith(
    m365AzureAdAudit,
    json({
      ...common,
      RecordType: 8,
      Workload: "AzureActiveDirectory",
      Operation: "Reset user password.",
      ObjectId: "bob@contoso.com",
    }),
  );
  assert.ok(reset.class_uid === 3001 && reset.activity_name === "Password Reset");
  const sp = normalizeWith(
    m365AzureAdAudit,
    json({
      ...common,
      RecordType: 8,
      Workload: "AzureActiveDirectory",
      Operation: "Add service principal.",
      ObjectId: "Mail Reader",
    }),
  );
  assert.ok(sp.class_uid === 3004 && sp.activity_name === "Create");
  const accessed = normalizeWith(
    m365AzureAdAudit,
    json({
      ...common,
      RecordType: 50,
      Workload: "Exchange",
      Operation: "MailItemsAccessed",
      MailboxOwnerUPN: "bob@contoso.com",
      LogonType: 0,
      ClientIPAddress: "[2001:db8::5]:443",
      ClientIP: undefined,
    }),
  );
  assert.ok(accessed.class_uid === 6003 && accessed.activity_name === "Read");
  assert.equal(accessed.src_endpoint?.ip, "2001:db8::5");
  const hardDelete = normalizeWith(
    m365AzureAdAudit,
    json({ ...common, RecordType: 3, Workload: "Exchange", Operation: "HardDelete", Item: { Subject: "Invoice" } }),
  );
  assert.ok(hardDelete.class_uid === 6003 && hardDelete.activity_name === "Delete");
  assert.equal(hardDelete.unmapped?.["item_subject"], "Invoice");
  const file = normalizeWith(
    m365AzureAdAudit,
    json({
      ...common,
      RecordType: 6,
      Workload: "SharePoint",
      Operation: "FileDownloaded",
      ObjectId: "https://contoso.sharepoint.com/sites/hr/Shared Documents/salaries.xlsx",
      SiteUrl: "https://contoso.sharepoint.com/sites/hr/",
      SourceFileName: "salaries.xlsx",
    }),
  );
  assert.ok(file.class_uid === 6003 && file.activity_name === "Read");
  assert.equal(file.resources?.[0]?.type, "File");
  assert.equal(file.metadata.log_name, "Audit.SharePoint");
});
