/**
 * Microsoft Graph security alert v2 (`/security/alerts_v2`, `#microsoft.graph.security.alert`): Defender XDR,
 * Defender for Endpoint/Identity/Office 365/Cloud Apps, Entra ID Protection... with its typed `evidence[]`.
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { reject } from "./types.ts";
import type { Obj } from "./util.ts";
import { arr, compact, hashesBy, ip, num, obj, severityFromWord, str, time } from "./util.ts";
import { attacksOf, tacticOf } from "./mitre-util.ts";

type Finding = Extract<Draft, { class_uid: 2004 }>;
type Evidence = NonNullable<Finding["evidences"]>[number];
type Device = NonNullable<Finding["device"]>;
type User = NonNullable<Finding["user"]>;
type Resource = NonNullable<Finding["resources"]>[number];

const STATUS: Record<string, readonly [number, string]> = {
  new: [1, "New"],
  inprogress: [2, "In Progress"],
  resolved: [4, "Resolved"],
};
const BENIGN = new Set(["falsepositive", "informationalexpectedactivity"]);

/** The `@odata.type` (a key with a dot, so not reachable through `get`). */
const odataType = (o: Obj): string => (typeof o["@odata.type"] === "string" ? o["@odata.type"] : "");
const kindOf = (ev: Obj): string =>
  odataType(ev)
    .replace(/^#?microsoft\.graph\.security\./i, "")
    .toLowerCase();

function fileOf(f: Obj | undefined) {
  if (!f) return undefined;
  const name = str(f, "fileName");
  const dir = str(f, "filePath");
  const hashes = hashesBy(["sha256", "sha1", "md5"], (k) => str(f, k));
  const sep = dir?.includes("/") ? "/" : "\\";
  return compact({
    name,
    path: dir && name ? (dir.endsWith(sep) ? dir + name : dir + sep + name) : dir,
    hashes,
    size: num(f, "fileSize"),
  });
}

function userOf(a: Obj | undefined): User | undefined {
  if (!a) return undefined;
  const upn = str(a, "userPrincipalName");
  const u = compact({
    name: upn ?? str(a, "accountName"),
    domain: str(a, "domainName"),
    uid: str(a, "azureAdUserId") ?? str(a, "userSid"),
    full_name: str(a, "displayName"),
    email_addr: upn?.includes("@") ? upn : undefined,
  });
  return Object.keys(u).length > 0 ? u : undefined;
}

function deviceOf(ev: Obj): Device {
  const ips = arr(ev, "ipInterfaces")
    .map(ip)
    .filter((a): a is string => a !== undefined && !/^(127\.|::1$|fe80:|169\.254\.)/i.test(a));
  return compact({
    hostname: str(ev, "deviceDnsName") ?? str(ev, "hostName"),
    uid: str(ev, "mdeDeviceId") ?? str(ev, "azureAdDeviceId"),
    ip: ips[0],
    os: compact({ name: str(ev, "osPlatform"), version: str(ev, "version") ?? str(ev, "osBuild") }),
  });
}

/** One Graph evidence item as an OCSF evidence (undefined for kinds with no OCSF home). */
function evidenceOf(ev: Obj, resources: Resource[]): Evidence | undefined {
  const roles = arr(ev, "roles").map((r) => String(r).toLowerCase());
  switch (kindOf(ev)) {
    case "deviceevidence":
      return { device: deviceOf(ev) };
    case "userevidence": {
      const user = userOf(obj(ev, "userAccount"));
      return user ? { user } : undefined;
    }
    case "ipevidence": {
      const addr = ip(ev["ipAddress"]);
      if (!addr) return undefined;
      const ep = compact({ ip: addr, location: compact({ country: str(ev, "countryLetterCode") }) });
      return roles.some((r) => r === "attacker" || r === "source") ? { src_endpoint: ep } : { dst_endpoint: ep };
    }
    case "urlevidence": {
      const url = str(ev, "url");
      return url
        ? { url: compact({ url_string: url, hostname: /^[a-z]+:\/\/([^/:?#]+)/i.exec(url)?.[1] }) }
        : undefined;
    }
    case "processevidence": {
      const image = fileOf(obj(ev, "imageFile"));
      const parent = obj(ev, "parentProcessImageFile");
      return {
        process: compact({
          name: image?.name,
          pid: num(ev, "processId"),
          cmd_line: str(ev, "processCommandLine"),
          file: image,
          user: userOf(obj(ev, "userAccount")),
          parent_process: compact({ name: str(parent, "fileName"), pid: num(ev, "parentProcessId") }),
        }),
        ...(image ? { file: image } : {}),
      };
    }
    case "fileevidence": {
      const file = fileOf(obj(ev, "fileDetails"));
      return file ? { file } : undefined;
    }
    case "mailboxevidence": {
      const address = str(ev, "primaryAddress");
      return {
        user: compact({ ...userOf(obj(ev, "userAccount")), email_addr: address, full_name: str(ev, "displayName") }),
      };
    }
    case "analyzedmessageevidence": {
      const to = str(ev, "recipientEmailAddress");
      return {
        email: compact({
          uid: str(ev, "internetMessageId"),
          message_uid: str(ev, "networkMessageId"),
          from: str(ev, "p1Sender.emailAddress") ?? str(ev, "p2Sender.emailAddress"),
          to: to ? [to] : undefined,
          subject: str(ev, "subject"),
          x_originating_ip: ip(ev["senderIp"]) ? [ip(ev["senderIp"]) as string] : undefined,
        }),
      };
    }
    case "dnsevidence": {
      const domain = str(ev, "domainName");
      return domain ? { query: { hostname: domain } } : undefined;
    }
    case "registrykeyevidence":
    case "registryvalueevidence": {
      const key = [str(ev, "registryHive"), str(ev, "registryKey")].filter(Boolean).join("\\");
      return key ? { reg_key: compact({ path: key, value_name: str(ev, "registryValueName") }) } : undefined;
    }
    case "cloudapplicationevidence":
    case "oauthapplicationevidence":
      resources.push(compact({ uid: str(ev, "appId"), name: str(ev, "displayName"), type: "Application" }));
      return undefined;
    case "azureresourceevidence":
      resources.push(
        compact({ uid: str(ev, "resourceId"), name: str(ev, "resourceName"), type: str(ev, "resourceType") }),
      );
      return undefined;
    default:
      return undefined;
  }
}

/** The affected device: the one Microsoft marks compromised / primary, else the first. */
function primaryDevice(evidence: Obj[]): Device | undefined {
  const devices = evidence.filter((e) => kindOf(e) === "deviceevidence");
  const main = devices.find((d) =>
    [...arr(d, "roles"), ...arr(d, "detailedRoles")].some((r) =>
      /compromised|primarydevice|main device/i.test(String(r)),
    ),
  );
  const d = main ?? devices[0];
  return d ? deviceOf(d) : undefined;
}

function productName(v: Obj): string {
  const named = str(v, "productName");
  if (named) return named;
  const source = str(v, "serviceSource");
  if (!source) return "Microsoft 365 Defender";
  return source
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/^./, (c) => c.toUpperCase())
    .replace(/ (For|And|Of) /g, (w) => w.toLowerCase());
}

/** Microsoft Graph security alerts v2 (Defender XDR and the products it aggregates). */
export const microsoftGraphAlert: Normalizer = {
  format: "microsoft_graph_alert",
  aliases: ["defender", "msgraph"],
  detect: (e: RawEvent) => {
    if (e.kind !== "json") return false;
    const v = e.value;
    if (odataType(v).toLowerCase() === "#microsoft.graph.security.alert") return true;
    return (
      typeof v["id"] === "string" &&
      typeof v["providerAlertId"] === "string" &&
      typeof v["serviceSource"] === "string" &&
      typeof v["createdDateTime"] === "string" &&
      (Array.isArray(v["evidence"]) || typeof v["detectionSource"] === "string")
    );
  },
  normalize(raw: RawEvent) {
    if (raw.kind !== "json") throw new Error("Graph security alerts are JSON");
    const v = raw.value;
    const category = str(v, "category");
    if (category?.startsWith("AdvancedHunting-")) {
      return reject(
        `Defender XDR ${category} rows are Advanced Hunting streaming data, not Graph alerts: send alerts from the Graph security API (/security/alerts_v2) instead`,
      );
    }
    const id = str(v, "id");
    const title = str(v, "title");
    if (!id || !title) throw new Error("Graph security alert without id and title");
    const created = str(v, "createdDateTime");
    const t = time(created);
    if (!created || t === undefined)
      throw new Error(`Graph alert createdDateTime ${JSON.stringify(created)} is not a time`);
    const evidence = arr(v, "evidence").filter((x): x is Obj => x !== null && typeof x === "object");
    const resources: Resource[] = [];
    const evidences = evidence.map((ev) => evidenceOf(ev, resources)).filter((x): x is Evidence => x !== undefined);
    const user = evidence.filter((ev) => kindOf(ev) === "userevidence").map((ev) => userOf(obj(ev, "userAccount")))[0];
    const device = primaryDevice(evidence);
    const statusWord = (str(v, "status") ?? "").toLowerCase();
    const classification = (str(v, "classification") ?? "").toLowerCase();
    const [statusId, status] =
      statusWord === "resolved" && BENIGN.has(classification)
        ? ([3, "Suppressed"] as const)
        : (STATUS[statusWord] ?? [0, "Unknown"]);
    const techniques = arr(v, "mitreTechniques").map(String);
    const attacks = attacksOf(category && tacticOf(category).uid ? [category] : [], techniques);
    const desc = str(v, "description");
    const recommended = str(v, "recommendedActions");
    const draft: Draft = {
      class_uid: 2004,
      activity_id: statusWord === "resolved" ? 3 : 1,
      activity_name: statusWord === "resolved" ? "Close" : "Create",
      time: t,
      severity_id: severityFromWord(str(v, "severity")),
      status_id: statusId,
      status,
      message: title,
      is_alert: true,
      finding_info: compact({
        uid: id,
        title,
        desc,
        types: category ? [category] : undefined,
        analytic: compact({
          uid: str(v, "detectorId"),
          name: title,
          type_id: 1,
          type: "Rule",
          category: str(v, "detectionSource"),
        }),
        attacks,
        created_time: t,
        first_seen_time: time(v["firstActivityDateTime"]),
        last_seen_time: time(v["lastActivityDateTime"]),
        src_url: str(v, "alertWebUrl"),
        product_uid: str(v, "providerAlertId"),
      }),
      ...(device && Object.keys(device).length > 0 ? { device } : {}),
      ...(user ? { user } : {}),
      ...(evidences.length > 0 ? { evidences } : {}),
      ...(resources.length > 0 ? { resources } : {}),
      ...(recommended ? { remediation: { desc: recommended } } : {}),
      metadata: compact({
        product: { vendor_name: "Microsoft", name: productName(v) },
        uid: id,
        original_time: created,
        log_name: "alerts_v2",
        event_code: str(v, "detectorId"),
        correlation_uid: str(v, "incidentId"),
      }),
      unmapped: compact({
        incident_id: str(v, "incidentId"),
        incident_url: str(v, "incidentWebUrl"),
        service_source: str(v, "serviceSource"),
        detection_source: str(v, "detectionSource"),
        classification: str(v, "classification"),
        determination: str(v, "determination"),
        threat_name: str(v, "threatDisplayName"),
        threat_family: str(v, "threatFamilyName"),
        actor: str(v, "actorDisplayName"),
        tenant_id: str(v, "tenantId"),
        last_update_time: str(v, "lastUpdateDateTime"),
      }),
    };
    return draft;
  },
};
