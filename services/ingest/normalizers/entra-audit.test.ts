import { test } from "node:test";
import assert from "node:assert/strict";
import { entraSignin } from "./entra-signin.ts";
import { json, normalizeWith, pantherRecord, pantherRecords } from "./testing.ts";

const records = pantherRecords("azure_entra_signin/panther-analysis__Azure.Audit.jsonl");
const audit = (name: string) => normalizeWith(entraSignin, json(pantherRecord(records, name)));

test("entra audit (corpus): role grants are User Access Management with the role and the member", () => {
  const pim = audit("Successfully added PIM role");
  assert.ok(pim.class_uid === 3005);
  assert.equal(pim.activity_name, "Assign Privileges");
  assert.deepEqual(pim.privileges, ["Application Administrator"]);
  assert.equal(pim.user.name, "Malenia");
  assert.equal(pim.actor?.user?.name, "Radahn@Starscourge.onmicrosoft.com");
  assert.equal(pim.time, Date.parse("2024-12-16T16:32:16.087Z"));
  const removed = audit("Different Operation");
  assert.ok(removed.class_uid === 3005 && removed.activity_name === "Revoke Privileges");
  assert.equal(removed.user.name, "former@company.com");
  assert.deepEqual(removed.privileges, ["Reader"]);
  const elevated = audit("User Elevated to User Access Administrator");
  assert.ok(elevated.class_uid === 3005);
  assert.equal(
    elevated.user.name,
    "denethor@lotr.com",
    "elevate access has no target: the initiator elevated themself",
  );
  assert.deepEqual(elevated.privileges, ["User Access Administrator"]);
});

test("entra audit (corpus): applications, policies and domains are Entity Management; invites are Account Change", () => {
  const creds = audit("Add Service Principal Credentials");
  assert.ok(creds.class_uid === 3004);
  assert.deepEqual(creds.entity, { uid: "sp-app-456", name: "Production API Service", type: "ServicePrincipal" });
  assert.equal(creds.severity_id, 3);
  assert.equal(creds.src_endpoint?.ip, "2.2.2.2");
  assert.ok(creds.unmapped && (creds.unmapped["modified_properties"] as string[]).includes("KeyType"));
  const ca = audit("Policy Changed");
  assert.ok(ca.class_uid === 3004 && ca.activity_name === "Delete");
  assert.equal(ca.entity.name, "Outside MFA");
  const federation = audit("Set Federation Settings");
  assert.ok(federation.class_uid === 3004 && federation.severity_id === 3);
  assert.equal(federation.riposte.entity_key, "user:frodo@lotr.com");
  const invite = audit("Successful Invite external user");
  assert.ok(invite.class_uid === 3001 && invite.activity_name === "Create");
  assert.equal(invite.status_id, 1);
  assert.equal(audit("Unsuccessful invite").status_id, 2);
});

// Microsoft Graph directoryAudit objects, built field by field from learn.microsoft.com/graph/api/resources/
// directoryaudit (properties) and the activity names of learn.microsoft.com/entra/identity/monitoring-health/
// reference-audit-activities.
const graph = (over: Record<string, unknown>) => ({
  id: "Directory_ABC_1",
  category: "UserManagement",
  correlationId: "c0ffee00-0000-0000-0000-000000000001",
  result: "success",
  resultReason: "",
  activityDisplayName: "Reset user password",
  activityDateTime: "2026-11-20T09:14:02.5Z",
  loggedByService: "Core Directory",
  operationType: "Update",
  initiatedBy: {
    user: { id: "u-admin", displayName: "Admin", userPrincipalName: "admin@contoso.com", ipAddress: "203.0.113.9" },
  },
  targetResources: [
    { id: "u-bob", displayName: "Bob", type: "User", userPrincipalName: "bob@contoso.com", modifiedProperties: [] },
  ],
  additionalDetails: [],
  ...over,
});

test("entra audit (documented Graph directoryAudit): detected bare, mapped by activity", () => {
  const reset = graph({});
  assert.ok(entraSignin.detect(json(reset)));
  const e = normalizeWith(entraSignin, json(reset));
  assert.ok(e.class_uid === 3001);
  assert.equal(e.activity_name, "Password Reset");
  assert.equal(e.user.name, "bob@contoso.com");
  assert.equal(e.actor?.user?.name, "admin@contoso.com");
  assert.equal(e.src_endpoint?.ip, "203.0.113.9");
  assert.equal(e.metadata.uid, "Directory_ABC_1");
  assert.equal(e.time, Date.parse("2026-11-20T09:14:02.5Z"));
  const disabled = normalizeWith(entraSignin, json(graph({ activityDisplayName: "Disable account" })));
  assert.ok(disabled.class_uid === 3001 && disabled.activity_name === "Disable");
  const group = normalizeWith(
    entraSignin,
    json(
      graph({
        category: "GroupManagement",
        activityDisplayName: "Add member to group",
        operationType: "Assign",
        targetResources: [
          { id: "u-bob", type: "User", userPrincipalName: "bob@contoso.com" },
          { id: "g-1", type: "Group", displayName: "Global Admins Shadow" },
        ],
      }),
    ),
  );
  assert.ok(group.class_uid === 3006 && group.activity_name === "Add User");
  assert.equal(group.group.name, "Global Admins Shadow");
  assert.equal(group.user?.name, "bob@contoso.com");
  const consent = normalizeWith(
    entraSignin,
    json(
      graph({
        category: "ApplicationManagement",
        activityDisplayName: "Consent to application",
        operationType: "Assign",
        initiatedBy: { app: { appId: "a-1", displayName: "Contoso Sync" } },
        targetResources: [{ id: "sp-1", type: "ServicePrincipal", displayName: "Mail Reader" }],
      }),
    ),
  );
  assert.ok(consent.class_uid === 3004 && consent.activity_name === "Create");
  assert.equal(consent.actor?.app_name, "Contoso Sync");
  const other = normalizeWith(
    entraSignin,
    json(graph({ category: "Other", activityDisplayName: "Export", targetResources: [] })),
  );
  assert.ok(other.class_uid === 6003 && other.api.operation === "Export");
  const failed = normalizeWith(
    entraSignin,
    json(graph({ result: "failure", resultReason: "Insufficient privileges" })),
  );
  assert.equal(failed.status_id, 2);
  assert.match(failed.message ?? "", /Insufficient privileges/);
});

// A Log Analytics `AuditLogs` table row (learn.microsoft.com/azure/azure-monitor/reference/tables/auditlogs): the
// same event with PascalCase columns and the nested objects as JSON strings.
test("entra audit (documented Log Analytics AuditLogs row): JSON-string columns are read", () => {
  const row = {
    Type: "AuditLogs",
    TimeGenerated: "2026-11-20T09:14:03Z",
    Id: "Directory_ROW_1",
    Category: "RoleManagement",
    OperationName: "Add member to role",
    ActivityDisplayName: "Add member to role",
    ActivityDateTime: "2026-11-20T09:14:02Z",
    Result: "success",
    LoggedByService: "Core Directory",
    OperationType: "Assign",
    InitiatedBy: JSON.stringify({ user: { userPrincipalName: "admin@contoso.com", ipAddress: "203.0.113.9" } }),
    TargetResources: JSON.stringify([
      { id: "u-bob", type: "User", userPrincipalName: "bob@contoso.com" },
      { id: "r-1", type: "Role", displayName: "Global Administrator" },
    ]),
  };
  assert.ok(entraSignin.detect(json(row)));
  const e = normalizeWith(entraSignin, json(row));
  assert.ok(e.class_uid === 3005);
  assert.deepEqual(e.privileges, ["Global Administrator"]);
  assert.equal(e.user.name, "bob@contoso.com");
  assert.equal(e.src_endpoint?.ip, "203.0.113.9");
  assert.equal(e.time, Date.parse("2026-11-20T09:14:02Z"));
});
