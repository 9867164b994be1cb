/**
 * Microsoft Sentinel SecurityAlert: a Log Analytics `SecurityAlert` row (Entities, ExtendedProperties, Techniques
 * as JSON strings) or the SecurityInsights REST entity (`kind: "SecurityAlert"`, camelCase `properties`).
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import type { Obj } from "./util.ts";
import { ciArr, ciGet, ciObj, ciStr, compact, ip, jsonish, num, severityFromWord, time } from "./util.ts";
import { attacksOf, isTechniqueId } from "./mitre-util.ts";
import { eventTime } from "./finalize.ts";

type Finding = Extract<Draft, { class_uid: 2004 }>;
type Evidence = NonNullable<Finding["evidences"]>[number];
type Resource = NonNullable<Finding["resources"]>[number];

const STATUS: Record<string, readonly [number, string]> = {
  new: [1, "New"],
  active: [2, "In Progress"],
  inprogress: [2, "In Progress"],
  resolved: [4, "Resolved"],
  dismissed: [3, "Suppressed"],
};

const HASH_NAMES: Record<string, string> = { SHA256: "SHA-256", SHA1: "SHA-1", MD5: "MD5", SHA512: "SHA-512" };
const MAX_ENTITIES = 50;

/** The first non-empty string among case-insensitive paths. */
const first = (o: unknown, ...paths: string[]): string | undefined => {
  for (const p of paths) {
    const v = ciStr(o, p);
    if (v !== undefined) return v;
  }
  return undefined;
};

/** Words from a list that may be an array, a JSON array in a string, or a comma-separated string. */
function list(v: unknown): string[] {
  const d = jsonish(v);
  if (Array.isArray(d)) return d.map(String).filter((s) => s.toLowerCase() !== "unknown");
  const words = typeof d === "string" ? d.split(",") : [];
  return words.map((s) => s.trim()).filter((s) => s !== "" && s.toLowerCase() !== "unknown");
}

/** Resolves a `{"$ref": id}` pointer to the entity it names. */
type Resolve = (o: Obj) => Obj;

/** Top-level entities, and a resolver for `$ref` pointers against every `$id` anywhere in the list. */
function entitiesOf(raw: unknown): { list: Obj[]; resolve: Resolve } {
  const all = jsonish(raw);
  const byId = new Map<string, Obj>();
  const index = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(index);
    else if (x !== null && typeof x === "object") {
      const o = x as Obj;
      if (typeof o["$id"] === "string") byId.set(o["$id"], o);
      Object.values(o).forEach(index);
    }
  };
  index(all);
  const resolve: Resolve = (o) => (typeof o["$ref"] === "string" ? (byId.get(o["$ref"]) ?? o) : o);
  const list = Array.isArray(all) ? all.filter((x): x is Obj => x !== null && typeof x === "object").map(resolve) : [];
  return { list, resolve };
}

/** ProcessId is a decimal or (from Defender) a hex string. */
const pidOf = (e: Obj): number | undefined => {
  const s = ciStr(e, "ProcessId");
  const n = s === undefined ? NaN : /^0x[0-9a-f]+$/i.test(s) ? parseInt(s, 16) : Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
};
const typeOf = (e: Obj): string => (ciStr(e, "Type") ?? "").toLowerCase();
const ref = (e: Obj, key: string, resolve: Resolve): Obj | undefined => {
  const v = ciGet(e, key);
  return v !== null && typeof v === "object" && !Array.isArray(v) ? resolve(v as Obj) : undefined;
};

function fileOf(f: Obj | undefined, resolve: Resolve) {
  if (!f) return undefined;
  const name = ciStr(f, "Name");
  const dir = ciStr(f, "Directory");
  const hashes = ciArr(f, "FileHashes")
    .filter((h): h is Obj => h !== null && typeof h === "object")
    .map(resolve)
    .map((h) => ({
      algorithm: HASH_NAMES[(ciStr(h, "Algorithm") ?? "").toUpperCase()] ?? ciStr(h, "Algorithm") ?? "Unknown",
      value: ciStr(h, "Value") ?? "",
    }))
    .filter((h) => h.value !== "");
  const sep = dir?.includes("/") ? "/" : "\\";
  return compact({ name, path: dir && name ? dir.replace(/[\\/]$/, "") + sep + name : dir, hashes });
}

function userOf(a: Obj) {
  const name = ciStr(a, "Name");
  const suffix = ciStr(a, "UPNSuffix");
  return compact({
    name: name && suffix ? `${name}@${suffix}` : name,
    domain: ciStr(a, "NTDomain") ?? suffix,
    uid: ciStr(a, "AadUserId") ?? ciStr(a, "Sid"),
    full_name: ciStr(a, "DisplayName"),
  });
}

function evidenceOf(e: Obj, resolve: Resolve, resources: Resource[]): Evidence | undefined {
  switch (typeOf(e)) {
    case "host":
      return { device: hostOf(e) };
    case "account":
      return { user: userOf(e) };
    case "ip": {
      const addr = ip(ciGet(e, "Address"));
      return addr
        ? {
            src_endpoint: compact({
              ip: addr,
              location: compact({ country: ciStr(e, "Location.CountryCode"), city: ciStr(e, "Location.City") }),
            }),
          }
        : undefined;
    }
    case "process": {
      const image = fileOf(ref(e, "ImageFile", resolve), resolve);
      const account = ref(e, "Account", resolve);
      const parent = ref(e, "ParentProcess", resolve);
      return {
        process: compact({
          name: image?.name,
          pid: pidOf(e),
          cmd_line: ciStr(e, "CommandLine"),
          file: image,
          user: account ? userOf(account) : undefined,
          parent_process: parent
            ? compact({
                pid: pidOf(parent),
                cmd_line: ciStr(parent, "CommandLine"),
                name: fileOf(ref(parent, "ImageFile", resolve), resolve)?.name,
              })
            : undefined,
        }),
        ...(image ? { file: image } : {}),
      };
    }
    case "file": {
      const file = fileOf(e, resolve);
      return file ? { file } : undefined;
    }
    case "url": {
      const url = ciStr(e, "Url");
      return url ? { url: { url_string: url } } : undefined;
    }
    case "dns": {
      const domain = ciStr(e, "DomainName");
      return domain ? { query: { hostname: domain } } : undefined;
    }
    case "mailbox":
      return {
        user: compact({
          name: ciStr(e, "Upn"),
          email_addr: ciStr(e, "MailboxPrimaryAddress"),
          full_name: ciStr(e, "DisplayName"),
        }),
      };
    case "mailmessage": {
      const to = ciStr(e, "Recipient");
      return {
        email: compact({
          uid: ciStr(e, "InternetMessageId"),
          message_uid: ciStr(e, "NetworkMessageId"),
          from: ciStr(e, "P1Sender") ?? ciStr(e, "Sender"),
          to: to ? [to] : undefined,
          subject: ciStr(e, "Subject"),
        }),
      };
    }
    case "registry-key": {
      const key = [ciStr(e, "Hive"), ciStr(e, "Key")].filter(Boolean).join("\\");
      return key ? { reg_key: { path: key } } : undefined;
    }
    case "cloud-application":
      resources.push(compact({ uid: ciStr(e, "AppId"), name: ciStr(e, "Name"), type: "Application" }));
      return undefined;
    case "azure-resource":
      resources.push(compact({ uid: ciStr(e, "ResourceId"), type: "Azure resource" }));
      return undefined;
    default:
      return undefined;
  }
}

function hostOf(e: Obj) {
  return compact({
    hostname: ciStr(e, "HostName") ?? ciStr(e, "NetBiosName"),
    domain: ciStr(e, "DnsDomain") ?? ciStr(e, "NTDomain"),
    uid: ciStr(e, "AzureID") ?? ciStr(e, "OMSAgentID"),
    os: compact({ name: ciStr(e, "OSFamily"), version: ciStr(e, "OSVersion") }),
  });
}

/**
 * The alert's own resource references when it names no entity: `ResourceId` (Log Analytics SecurityAlert) and
 * `resourceIdentifiers` (REST: `AzureResource` with `azureResourceId`, `LogAnalytics` with `workspaceId`).
 */
function identifiedResources(a: Obj): Resource[] {
  const out: Resource[] = [];
  const resourceId = first(a, "ResourceId");
  if (resourceId) out.push({ uid: resourceId, type: "Azure resource" });
  for (const r of ciArr(a, "resourceIdentifiers")) {
    const type = ciStr(r, "type");
    const uid = ciStr(r, "azureResourceId") ?? ciStr(r, "resourceId") ?? ciStr(r, "workspaceId");
    if (uid)
      out.push(
        compact({ uid, type: type === "LogAnalytics" ? "Log Analytics workspace" : (type ?? "Azure resource") }),
      );
  }
  return out;
}

/** `CompromisedEntity` (the display name of the entity most related to the alert) as a user or a host. */
function compromisedEntity(name: string | undefined): {
  user?: { name: string };
  device?: { hostname?: string; ip?: string };
} {
  if (!name) return {};
  if (name.includes("@") || name.includes("\\")) return { user: { name } };
  const address = ip(name);
  if (address) return { device: { ip: address } };
  return /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(name) ? { device: { hostname: name } } : {};
}

/** Microsoft Sentinel SecurityAlert (Log Analytics row or SecurityInsights REST entity). */
export const microsoftSentinelAlert: Normalizer = {
  format: "microsoft_sentinel_alert",
  aliases: ["sentinel"],
  detect: (e: RawEvent) => {
    if (e.kind !== "json") return false;
    const v = e.value;
    if (v["kind"] === "SecurityAlert" && ciStr(v, "properties.systemAlertId")) return true;
    return (
      typeof v["SystemAlertId"] === "string" &&
      typeof v["AlertSeverity"] === "string" &&
      (v["Type"] === "SecurityAlert" || "AlertName" in v)
    );
  },
  normalize(raw: RawEvent) {
    if (raw.kind !== "json") throw new Error("Sentinel SecurityAlert is JSON");
    const rest = raw.value["kind"] === "SecurityAlert";
    const a: Obj | undefined = rest ? ciObj(raw.value, "properties") : raw.value;
    const id = first(a, "SystemAlertId");
    const title = first(a, "DisplayName", "AlertDisplayName", "AlertName", "friendlyName");
    if (!a || !id || !title) throw new Error("Sentinel SecurityAlert without SystemAlertId and AlertName/DisplayName");
    const originalTime = first(a, "TimeGenerated", "StartTime", "startTimeUtc");
    const t = eventTime(originalTime, first(a, "StartTime", "startTimeUtc"));
    const { list: entities, resolve } = entitiesOf(ciGet(a, "Entities"));
    const resources: Resource[] = [];
    const evidences = entities
      .slice(0, MAX_ENTITIES)
      .map((e) => evidenceOf(e, resolve, resources))
      .filter((x): x is Evidence => x !== undefined);
    resources.push(...identifiedResources(a));
    const host = entities.find((e) => typeOf(e) === "host");
    const account = entities.find((e) => typeOf(e) === "account");
    const srcIp = evidences.find((e) => e.src_endpoint?.ip)?.src_endpoint;
    const ext = ciObj(a, "ExtendedProperties") ?? ciObj(a, "additionalData");
    const ruleIds = list(ciGet(ext, "Analytic Rule Ids"));
    const statusWord = (first(a, "Status") ?? "").toLowerCase();
    const [statusId, status] = STATUS[statusWord] ?? [0, first(a, "Status") ?? "Unknown"];
    const techniques = [...list(ciGet(a, "Techniques")), ...list(ciGet(a, "SubTechniques"))].filter(isTechniqueId);
    const remediation = list(ciGet(a, "RemediationSteps")).join("\n");
    const alertType = first(a, "AlertType");
    const compromised = compromisedEntity(first(a, "CompromisedEntity"));
    const desc = first(a, "Description");
    const draft: Draft = {
      class_uid: 2004,
      activity_id: statusWord === "resolved" || statusWord === "dismissed" ? 3 : 1,
      activity_name: statusWord === "resolved" || statusWord === "dismissed" ? "Close" : "Create",
      time: t,
      severity_id: severityFromWord(first(a, "AlertSeverity", "Severity")),
      status_id: statusId,
      status,
      message: desc ?? title,
      is_alert: true,
      finding_info: compact({
        uid: id,
        title,
        desc,
        types: alertType ? [alertType] : undefined,
        analytic: compact({
          uid: ruleIds[0] ?? alertType,
          name: ciStr(ext, "Analytic Rule Name") ?? first(a, "AlertName") ?? title,
          type_id: 1,
          type: "Rule",
          category: first(a, "ProductComponentName"),
        }),
        attacks: attacksOf(list(ciGet(a, "Tactics")), techniques),
        created_time: t,
        first_seen_time: time(first(a, "StartTime", "startTimeUtc")),
        last_seen_time: time(first(a, "EndTime", "endTimeUtc")),
        src_url: first(a, "AlertLink"),
        product_uid: first(a, "VendorOriginalId", "providerAlertId"),
      }),
      ...(host ? { device: hostOf(host) } : compromised.device ? { device: compromised.device } : {}),
      ...(account ? { user: userOf(account) } : compromised.user ? { user: compromised.user } : {}),
      ...(srcIp ? { src_endpoint: srcIp } : {}),
      ...(evidences.length > 0 ? { evidences } : {}),
      ...(resources.length > 0 ? { resources } : {}),
      ...(remediation ? { remediation: { desc: remediation } } : {}),
      metadata: compact({
        product: {
          vendor_name: first(a, "VendorName") ?? "Microsoft",
          name: first(a, "ProductName") ?? "Microsoft Sentinel",
        },
        uid: id,
        original_time: originalTime,
        log_name: "SecurityAlert",
        event_code: alertType,
      }),
      unmapped: compact({
        provider: first(a, "ProviderName"),
        compromised_entity: first(a, "CompromisedEntity"),
        confidence_level: first(a, "ConfidenceLevel"),
        confidence_score: num(a, "ConfidenceScore"),
        tenant_id: first(a, "TenantId"),
        resource_id: rest ? ciStr(raw.value, "id") : first(a, "ResourceId"),
        extended_properties: ext,
      }),
    };
    return draft;
  },
};
