/**
 * Microsoft Graph security alert v2 (`/security/alerts_v2`, `#microsoft.graph.security.alert`): Defender XDR,
 * Defender for Endpoint/Identity/Office 365/Cloud Apps/Cloud, Entra ID Protection, Purview DLP... with its typed
 * `evidence[]`. Built from the Graph v1.0 reference (alert, alertEvidence and its derived types). Recognised by its
 * `@odata.type` however a forwarder spelled the key, else by the fields and enum values the resource documents;
 * keys are read case-insensitively (PowerShell and Logic Apps exports capitalise them).
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { reject } from "./types.ts";
import type { Obj } from "./util.ts";
import { ciArr, ciGet, ciStr, compact, severityFromWord } from "./util.ts";
import { attacksOf, tacticOf } from "./mitre-util.ts";
import { eventTime } from "./finalize.ts";
import {
  evidenceOf,
  ipEndpointOf,
  kindOf,
  odataType,
  primaryDevice,
  primaryUser,
  type Evidence,
  type Resource,
} from "./microsoft-graph-evidence.ts";

const STATUS: Record<string, readonly [number, string]> = {
  new: [1, "New"],
  inprogress: [2, "In Progress"],
  resolved: [4, "Resolved"],
};
const BENIGN = new Set(["falsepositive", "informationalexpectedactivity"]);

/** serviceSource values the alert resource documents (serviceSource enum), with the product each names. */
const SERVICE_SOURCES: Record<string, string> = {
  unknown: "Microsoft 365 Defender",
  microsoftdefenderforendpoint: "Microsoft Defender for Endpoint",
  microsoftdefenderforidentity: "Microsoft Defender for Identity",
  microsoftdefenderforcloudapps: "Microsoft Defender for Cloud Apps",
  microsoftdefenderforoffice365: "Microsoft Defender for Office 365",
  microsoft365defender: "Microsoft 365 Defender",
  azureadidentityprotection: "Microsoft Entra ID Protection",
  microsoftappgovernance: "Microsoft app governance",
  datalossprevention: "Microsoft Purview Data Loss Prevention",
  microsoftdefenderforcloud: "Microsoft Defender for Cloud",
  microsoftsentinel: "Microsoft Sentinel",
};

/** Properties only the v2 alert resource has (besides `id` and `title`). */
const V2_PROPERTIES = [
  "providerAlertId",
  "serviceSource",
  "detectionSource",
  "detectorId",
  "incidentId",
  "incidentWebUrl",
  "alertWebUrl",
  "mitreTechniques",
  "evidence",
  "determination",
  "classification",
  "threatDisplayName",
  "threatFamilyName",
  "actorDisplayName",
  "recommendedActions",
  "lastUpdateDateTime",
  "firstActivityDateTime",
  "lastActivityDateTime",
  "systemTags",
];

const isAlertType = (t: string) => /^#?microsoft\.graph\.security\.alert$/i.test(t.trim());

/**
 * Whether `v` is a v2 alert: its `@odata.type` (any key spelling) says so, or it has an id, a title and two
 * v2-only properties (a documented serviceSource value counts twice), so alerts carrying only part of the
 * documented fields (or a redacted time) are still recognised.
 */
function isAlert(v: Obj): boolean {
  const t = odataType(v);
  if (t) return isAlertType(t);
  if (!ciStr(v, "id") || !ciStr(v, "title")) return false;
  const source = ciStr(v, "serviceSource")?.toLowerCase();
  const score =
    V2_PROPERTIES.filter((p) => ciGet(v, p) !== undefined).length + (source && source in SERVICE_SOURCES ? 1 : 0);
  return score >= 2;
}

/** A Graph list response (`{"@odata.context": ".../alerts_v2", "value": [...]}`): a batch, not one event. */
function isListResponse(v: Obj): boolean {
  const list = ciArr(v, "value");
  return list.length > 0 && list[0] !== null && typeof list[0] === "object" && isAlert(list[0] as Obj);
}

function productName(v: Obj): string {
  const named = ciStr(v, "productName");
  if (named) return named;
  const source = ciStr(v, "serviceSource");
  if (!source) return "Microsoft 365 Defender";
  return (
    SERVICE_SOURCES[source.toLowerCase()] ??
    source
      .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
      .replace(/^./, (c) => c.toUpperCase())
      .replace(/ (For|And|Of) /g, (w) => w.toLowerCase())
  );
}

/** Microsoft Graph security alerts v2 (Defender XDR and the products it aggregates). */
export const microsoftGraphAlert: Normalizer = {
  format: "microsoft_graph_alert",
  aliases: ["defender", "msgraph"],
  detect: (e: RawEvent) => e.kind === "json" && (isAlert(e.value) || isListResponse(e.value)),
  normalize(raw: RawEvent) {
    if (raw.kind !== "json") throw new Error("Graph security alerts are JSON");
    const v = raw.value;
    const category = ciStr(v, "category");
    if (category?.startsWith("AdvancedHunting-")) {
      return reject(
        `Defender XDR ${category} rows are Advanced Hunting streaming data, not Graph alerts: send alerts from the Graph security API (/security/alerts_v2) instead`,
      );
    }
    if (isListResponse(v)) {
      return reject(
        `a Graph list response of ${ciArr(v, "value").length} alerts is not one event: send each alert of value[] as its own event`,
      );
    }
    const type = odataType(v);
    if (type && !isAlertType(type)) {
      return reject(
        `Graph ${type} is not a v2 security alert (#microsoft.graph.security.alert): the legacy alerts API is retired, send alerts from /security/alerts_v2`,
      );
    }
    const id = ciStr(v, "id");
    const title = ciStr(v, "title");
    if (!id || !title) throw new Error("Graph security alert without id and title");
    const created = ciStr(v, "createdDateTime") ?? ciStr(v, "lastUpdateDateTime");
    const t = eventTime(ciGet(v, "createdDateTime"), ciGet(v, "lastUpdateDateTime"), ciGet(v, "firstActivityDateTime"));
    const evidence = ciArr(v, "evidence").filter((x): x is Obj => x !== null && typeof x === "object");
    const resources: Resource[] = [];
    const evidences = evidence.map((ev) => evidenceOf(ev, resources)).filter((x): x is Evidence => x !== undefined);
    const user = primaryUser(evidence);
    const device = primaryDevice(evidence);
    const attacker = evidence
      .filter((ev) => kindOf(ev) === "ipevidence")
      .map(ipEndpointOf)
      .find((e) => e?.attacker)?.ep;
    const statusWord = (ciStr(v, "status") ?? "").toLowerCase();
    const classification = (ciStr(v, "classification") ?? "").toLowerCase();
    const [statusId, status] =
      statusWord === "resolved" && BENIGN.has(classification)
        ? ([3, "Suppressed"] as const)
        : (STATUS[statusWord] ?? [0, "Unknown"]);
    const techniques = ciArr(v, "mitreTechniques").map(String);
    const attacks = attacksOf(category && tacticOf(category).uid ? [category] : [], techniques);
    const desc = ciStr(v, "description");
    const recommended = ciStr(v, "recommendedActions");
    const draft: Draft = {
      class_uid: 2004,
      activity_id: statusWord === "resolved" ? 3 : 1,
      activity_name: statusWord === "resolved" ? "Close" : "Create",
      time: t,
      severity_id: severityFromWord(ciStr(v, "severity")),
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
          uid: ciStr(v, "detectorId"),
          name: title,
          type_id: 1,
          type: "Rule",
          category: ciStr(v, "detectionSource"),
        }),
        attacks,
        created_time: eventTime(ciGet(v, "createdDateTime")),
        first_seen_time: eventTime(ciGet(v, "firstActivityDateTime")),
        last_seen_time: eventTime(ciGet(v, "lastActivityDateTime")),
        src_url: ciStr(v, "alertWebUrl"),
        product_uid: ciStr(v, "providerAlertId"),
      }),
      ...(device && Object.keys(device).length > 0 ? { device } : {}),
      ...(user ? { user } : {}),
      ...(attacker ? { src_endpoint: attacker } : {}),
      ...(evidences.length > 0 ? { evidences } : {}),
      ...(resources.length > 0 ? { resources } : {}),
      ...(recommended ? { remediation: { desc: recommended } } : {}),
      metadata: compact({
        product: { vendor_name: "Microsoft", name: productName(v) },
        uid: id,
        original_time: created,
        log_name: "alerts_v2",
        event_code: ciStr(v, "detectorId"),
        correlation_uid: ciStr(v, "incidentId"),
        labels: ciArr(v, "systemTags").filter((x): x is string => typeof x === "string"),
      }),
      unmapped: compact({
        incident_id: ciStr(v, "incidentId"),
        incident_url: ciStr(v, "incidentWebUrl"),
        service_source: ciStr(v, "serviceSource"),
        detection_source: ciStr(v, "detectionSource"),
        classification: ciStr(v, "classification"),
        determination: ciStr(v, "determination"),
        threat_name: ciStr(v, "threatDisplayName"),
        threat_family: ciStr(v, "threatFamilyName"),
        actor: ciStr(v, "actorDisplayName"),
        assigned_to: ciStr(v, "assignedTo"),
        tenant_id: ciStr(v, "tenantId"),
        last_update_time: ciStr(v, "lastUpdateDateTime"),
        resolved_time: ciStr(v, "resolvedDateTime"),
      }),
    };
    return draft;
  },
};
