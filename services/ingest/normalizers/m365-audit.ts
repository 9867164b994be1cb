/**
 * Office 365 Management Activity API audit records other than sign-ins (Microsoft's "Office 365 Management Activity
 * API schema": learn.microsoft.com/office/office-365-management-api/office-365-management-activity-api-schema —
 * common schema Id, RecordType, CreationTime, Operation, OrganizationId, UserType, UserKey, Workload, ResultStatus,
 * ObjectId, UserId, ClientIP; the Azure Active Directory schema's Actor, Target, ModifiedProperties; the Exchange
 * admin schema's Parameters [{Name, Value}] and the mailbox schema's MailboxOwnerUPN, ClientIPAddress, Item).
 * Keys in any case (some pipelines lower-case them).
 *
 * AzureActiveDirectory directory operations ("Add user.", "Reset user password.", "Add member to role." ...) →
 * Account Change (3001), User Access Management (3005) or Group Management (3006), as Entra's audit log names them;
 * application, service principal, policy and domain changes → Entity Management (3004); Exchange cmdlets and
 * mailbox actions (New-InboxRule, Set-Mailbox, MailItemsAccessed, Send, HardDelete ...), SharePoint/OneDrive file
 * actions and every other operation → API Activity (6003), so correlation sees inbox-rule and forwarding persistence.
 */
import type { Draft } from "./types.ts";
import { eventTime } from "./finalize.ts";
import { directoryActivity } from "./entra-audit.ts";
import { ciArr, ciGet, ciStr, compact, dict, ip, type Obj } from "./util.ts";

/** A client address as M365 writes it: `1.2.3.4`, `1.2.3.4:10736`, `[2001:db8::1]:443`. */
export function clientIp(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  const s = v.trim();
  return ip(s) ?? ip(/^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(s)?.[1]) ?? ip(/^\[([^\]]+)\]:\d+$/.exec(s)?.[1]);
}

/** [{Name, Value}] (Parameters, ExtendedProperties) by name. */
function nameValues(v: Obj, key: string): Record<string, string> {
  const out = dict<string>();
  for (const p of ciArr(v, key)) {
    const name = ciStr(p, "Name");
    const value = ciStr(p, "Value");
    if (name && value !== undefined) out[name] = value;
  }
  return out;
}

/** ModifiedProperties [{Name, NewValue, OldValue}]. */
function modified(v: Obj): Array<{ name: string; newValue: string; oldValue: string }> {
  return ciArr(v, "ModifiedProperties").flatMap((m) => {
    const name = ciStr(m, "Name");
    return name ? [{ name, newValue: ciStr(m, "NewValue") ?? "", oldValue: ciStr(m, "OldValue") ?? "" }] : [];
  });
}

/** Exchange parameters that make a rule or mailbox setting a forwarding or deletion: persistence. */
const FORWARDING = ["ForwardTo", "ForwardAsAttachmentTo", "RedirectTo", "ForwardingSmtpAddress", "ForwardingAddress"];
const DELETING = ["DeleteMessage", "SoftDeleteMessage"];

/** API Activity activity from an operation's verb (Exchange cmdlets, mailbox and file actions). */
function apiVerb(op: string): readonly [number, string] {
  const o = op.toLowerCase();
  if (/^(new|add|enable|create)-|^(create|fileuploaded|send(as|onbehalf)?|anonymouslinkcreated|addedtogroup)$/.test(o))
    return [1, "Create"];
  if (/^get-|^(mailitemsaccessed|folderbind|fileaccessed|filedownloaded|filepreviewed|searchqueryinitiated)/.test(o))
    return [2, "Read"];
  if (/^(set|update|disable)-|^(update|updateinboxrules|filemodified|filerenamed|sharingset|move)$/.test(o))
    return [3, "Update"];
  if (/^remove-|^(harddelete|softdelete|movetodeleteditems|filedeleted|filerecycled)$/.test(o)) return [4, "Delete"];
  return [99, "Other"];
}

/** The user a directory operation is about: ObjectId when it is a UPN, else a Target that is one. */
function targetUser(v: Obj): string | undefined {
  const object = ciStr(v, "ObjectId");
  if (object?.includes("@")) return object;
  return ciArr(v, "Target")
    .map((t) => ciStr(t, "ID"))
    .find((id): id is string => id !== undefined && id.includes("@"));
}

function directoryDraft(v: Obj, op: string, common: Common): Draft | undefined {
  const changes = modified(v);
  const user = targetUser(v);
  const userObj = compact({ name: user, email_addr: user?.includes("@") ? user : undefined });
  const prop = (n: string) => changes.find((c) => c.name.toLowerCase() === n.toLowerCase());
  const strong = prop("StrongAuthenticationMethod");
  let kind = directoryActivity(op);
  // "Update user." changing the registered MFA methods is an MFA factor added or removed (the portal's own wording).
  if (!kind && strong && /^update user/i.test(op)) {
    const empty = (s: string) => s.trim() === "" || s.trim() === "[]";
    if (empty(strong.newValue) && !empty(strong.oldValue))
      kind = { class_uid: 3001, activity_id: 11, activity_name: "MFA Factor Disable" };
    else if (!empty(strong.newValue) && empty(strong.oldValue))
      kind = { class_uid: 3001, activity_id: 10, activity_name: "MFA Factor Enable" };
  }
  if (!kind && /^update user/i.test(op)) kind = { class_uid: 3001, activity_id: 99, activity_name: "Update" };
  const unmapped = { ...common.unmapped, modified_properties: changes.map((c) => c.name).slice(0, 30) };
  const message = `${op}${user ? ` ${user}` : ""}${common.by}`;
  if (kind?.class_uid === 3001)
    return {
      ...common.base,
      class_uid: 3001,
      activity_id: kind.activity_id,
      activity_name: kind.activity_name,
      severity_id: kind.activity_id === 11 || kind.activity_id === 4 ? 2 : 1,
      message,
      user: userObj,
      unmapped,
    };
  if (kind?.class_uid === 3005) {
    const role = prop("Role.DisplayName")?.newValue || prop("Role.DisplayName")?.oldValue;
    return {
      ...common.base,
      class_uid: 3005,
      activity_id: kind.activity_id,
      activity_name: kind.activity_name,
      severity_id: 3,
      message: `${op}${role ? ` ${role}` : ""}${user ? ` for ${user}` : ""}${common.by}`,
      user: userObj,
      ...(role ? { privileges: [role] } : {}),
      unmapped,
    };
  }
  if (kind?.class_uid === 3006) {
    const group = prop("Group.DisplayName")?.newValue || prop("Group.DisplayName")?.oldValue;
    return {
      ...common.base,
      class_uid: 3006,
      activity_id: kind.activity_id,
      activity_name: kind.activity_name,
      severity_id: 1,
      message: `${op}${group ? ` ${group}` : ""}${user ? ` member ${user}` : ""}${common.by}`,
      group: compact({ name: group, uid: prop("Group.ObjectID")?.newValue || undefined }),
      ...(user ? { user: userObj } : {}),
      unmapped,
    };
  }
  if (/application|service principal|policy|domain|federation|device|credential|consent|partner|company/i.test(op)) {
    const o = op.toLowerCase();
    const [activity_id, activity_name] = /^(add|create|register|consent)/.test(o)
      ? [1, "Create"]
      : /^(delete|remove|hard delete)/.test(o)
        ? [4, "Delete"]
        : [3, "Update"];
    const object = ciStr(v, "ObjectId");
    return {
      ...common.base,
      class_uid: 3004,
      activity_id,
      activity_name,
      severity_id: /federation|domain authentication|credential/i.test(op) ? 3 : 1,
      message: `${op}${object ? ` ${object}` : ""}${common.by}`,
      entity: compact({ name: object, type: /policy/i.test(op) ? "Policy" : undefined }),
      unmapped,
    };
  }
  return undefined;
}

interface Common {
  readonly base: Pick<Draft, "time" | "metadata"> & {
    readonly status_id: number;
    readonly status: string;
    readonly actor?: { user: { name: string; uid?: string; email_addr?: string } };
    readonly src_endpoint?: { ip: string };
  };
  readonly unmapped: Record<string, unknown>;
  readonly by: string;
  readonly actorName: string | undefined;
}

function commonOf(v: Obj, op: string, workload: string): Common {
  const actorName = ciStr(v, "UserId") ?? ciStr(v, "MailboxOwnerUPN");
  const created = ciStr(v, "CreationTime");
  const result = (ciStr(v, "ResultStatus") ?? "").toLowerCase();
  const [status_id, status] = ["success", "succeeded", "true", "partiallysucceeded"].includes(result)
    ? [1, "Success"]
    : ["failed", "failure", "false"].includes(result)
      ? [2, "Failure"]
      : [0, "Unknown"];
  const srcIp =
    clientIp(ciGet(v, "ClientIP")) ?? clientIp(ciGet(v, "ClientIPAddress")) ?? clientIp(ciGet(v, "ActorIpAddress"));
  return {
    base: {
      time: eventTime(created),
      status_id,
      status,
      ...(actorName
        ? {
            actor: {
              user: compact({
                name: actorName,
                uid: ciStr(v, "UserKey"),
                email_addr: actorName.includes("@") ? actorName : undefined,
              }) as { name: string },
            },
          }
        : {}),
      ...(srcIp ? { src_endpoint: { ip: srcIp } } : {}),
      metadata: compact({
        product: { vendor_name: "Microsoft", name: `Microsoft 365 audit (${workload})` },
        uid: ciStr(v, "Id"),
        original_time: created,
        log_name: `Audit.${workload}`,
        event_code: op,
      }),
    },
    unmapped: compact({
      workload,
      record_type: ciGet(v, "RecordType"),
      organization_id: ciStr(v, "OrganizationId"),
      organization_name: ciStr(v, "OrganizationName"),
      object_id: ciStr(v, "ObjectId"),
      result_status: ciStr(v, "ResultStatus"),
      user_type: ciGet(v, "UserType"),
      logon_type: ciGet(v, "LogonType"),
      originating_server: ciStr(v, "OriginatingServer"),
      site_url: ciStr(v, "SiteUrl"),
    }),
    by: actorName ? ` by ${actorName}` : "",
    actorName,
  };
}

/** An M365 audit record that is not a sign-in, as OCSF (see the module comment). */
export function m365Activity(v: Obj, op: string): Draft {
  const workload = ciStr(v, "Workload") ?? "AzureActiveDirectory";
  const common = commonOf(v, op, workload);
  if (workload.toLowerCase() === "azureactivedirectory") {
    const d = directoryDraft(v, op, common);
    if (d) return d;
  }
  const params = nameValues(v, "Parameters");
  const forwards = FORWARDING.flatMap((k) => (params[k] ? [params[k].replace(/^smtp:/i, "")] : []));
  const deletes = DELETING.some((k) => params[k]?.toLowerCase() === "true");
  const object = ciStr(v, "ObjectId") ?? ciStr(v, "SourceFileName");
  const ruleName = /inboxrule/i.test(op) ? (params["Name"] ?? params["Identity"]) : undefined;
  const [activity_id, activity_name] = apiVerb(op);
  const type = /inboxrule/i.test(op)
    ? "Inbox Rule"
    : /transportrule/i.test(op)
      ? "Transport Rule"
      : /mailbox|mailitems|send|delete|folder|move/i.test(op) && workload === "Exchange"
        ? "Mailbox"
        : /^file|sharing|link/i.test(op)
          ? "File"
          : undefined;
  const extras = [
    ruleName ? `rule "${ruleName}"` : undefined,
    forwards.length ? `forwards to ${forwards.join(", ")}` : undefined,
    deletes ? "deletes messages" : undefined,
  ].filter(Boolean);
  const subject = ciStr(v, "Item.Subject");
  return {
    ...common.base,
    class_uid: 6003,
    activity_id,
    activity_name,
    // Forwarding and delete-on-arrival rules are how mailbox takeovers persist and hide.
    severity_id: forwards.length > 0 || deletes ? 3 : 1,
    message: `${op}${object ? ` ${object}` : ""}${common.by}${extras.length ? `: ${extras.join("; ")}` : ""}`,
    actor: common.base.actor ?? {},
    api: {
      operation: op,
      service: { name: workload },
      ...(ciStr(v, "Id") ? { request: { uid: ciStr(v, "Id") as string } } : {}),
    },
    ...(object || ruleName
      ? {
          resources: [
            compact({ name: ruleName ?? params["Identity"] ?? object, uid: ruleName ? object : undefined, type }),
          ],
        }
      : {}),
    unmapped: compact({
      ...common.unmapped,
      parameters: Object.keys(params).length ? params : undefined,
      forwarding_to: forwards,
      deletes_messages: deletes || undefined,
      item_subject: subject,
      mailbox_owner: ciStr(v, "MailboxOwnerUPN"),
    }),
  };
}
