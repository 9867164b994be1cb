/**
 * Proofpoint TAP SIEM API records. Messages (`messagesDelivered` / `messagesBlocked`) become Email Activity (4009):
 * the threat-bearing messages a SOC purges. Clicks (`clicksPermitted` / `clicksBlocked`) become Detection Findings
 * (2004) about the recipient who clicked. The API's envelope (`queryEndTime` + the four lists) is refused: send each
 * record on its own. A record may carry the list it came from as `eventType` / `type` / `event_type`.
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { reject } from "./types.ts";
import { arr, compact, ip, num, severityFromScore, str, time, type Obj } from "./util.ts";
import { eventTime } from "./finalize.ts";

const LISTS = ["messagesDelivered", "messagesBlocked", "clicksPermitted", "clicksBlocked"] as const;

/** Which SIEM API list the record says it came from, if it says. */
function listOf(v: Obj): (typeof LISTS)[number] | undefined {
  for (const k of ["eventType", "type", "event_type", "_list"]) {
    const x = str(v, k)?.toLowerCase();
    const hit = LISTS.find((l) => l.toLowerCase() === x || l.toLowerCase() === `${x}s`);
    if (hit) return hit;
  }
  return undefined;
}

const isMessage = (v: Obj) =>
  typeof v["messageID"] === "string" &&
  "senderIP" in v &&
  ("phishScore" in v ||
    "spamScore" in v ||
    "malwareScore" in v ||
    "threatsInfoMap" in v ||
    ("GUID" in v && "QID" in v));
const isClick = (v: Obj) => "clickTime" in v && "clickIP" in v && ("threatID" in v || "GUID" in v);
const isEnvelope = (v: Obj) => "queryEndTime" in v && LISTS.some((l) => Array.isArray(v[l]));

/** Severity of a TAP threat classification. */
const CLASS_SEVERITY: Record<string, number> = { malware: 4, phish: 4, impostor: 4, spam: 2 };

const strings = (v: unknown): string[] =>
  (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string" && x.trim() !== "");

/** `Name <a@b>` → `a@b`. */
const address = (v: string | undefined) => (v ? (/<([^>]+)>/.exec(v)?.[1] ?? v).trim() : undefined);

function urlOf(u: string): { url_string: string; hostname?: string | undefined; path?: string | undefined } {
  try {
    const p = new URL(u);
    return compact({ url_string: u, hostname: p.hostname || undefined, path: p.pathname || undefined });
  } catch {
    return { url_string: u };
  }
}

function message(v: Obj, list: string | undefined): Draft {
  const timeText = str(v, "messageTime");
  const t = eventTime(timeText);
  const threats = arr(v, "threatsInfoMap").filter((x): x is Obj => x !== null && typeof x === "object");
  const active = threats.filter((x) => !/cleared|falsepositive/i.test(str(x, "threatStatus") ?? ""));
  const scores = {
    malware: num(v, "malwareScore") ?? 0,
    phish: num(v, "phishScore") ?? 0,
    impostor: num(v, "impostorScore") ?? 0,
    spam: num(v, "spamScore") ?? 0,
  };
  const fromThreats = Math.max(
    0,
    ...active.map((x) => CLASS_SEVERITY[str(x, "classification")?.toLowerCase() ?? ""] ?? 3),
  );
  const threatScore = Math.max(scores.malware, scores.phish, scores.impostor);
  const fromScores = Math.max(severityFromScore(threatScore), Math.min(severityFromScore(scores.spam), 2));
  const blocked = list === "messagesBlocked" || (list === undefined && str(v, "quarantineFolder") !== undefined);
  const severity = blocked ? Math.min(Math.max(fromThreats, fromScores), 3) : Math.max(fromThreats, fromScores);
  const rank = (x: Obj) => CLASS_SEVERITY[str(x, "classification")?.toLowerCase() ?? ""] ?? 3;
  const worst = [...active].sort((a, b) => rank(b) - rank(a))[0];
  const scored = (["malware", "phish", "impostor"] as const)
    .filter((k) => scores[k] >= 50)
    .sort((a, b) => scores[b] - scores[a])[0];
  const verdict =
    (worst && str(worst, "classification")?.toLowerCase()) ??
    scored ??
    (scores.spam >= 50 ? "spam" : threatScore >= 40 ? "suspicious" : "clean");
  const urlThreat = active.find((x) => str(x, "threatType")?.toLowerCase() === "url" && str(x, "threat"));
  const to = strings(v["recipient"]).length ? strings(v["recipient"]) : strings(v["toAddresses"]);
  const from = strings(v["fromAddress"])[0] ?? address(str(v, "headerFrom")) ?? str(v, "sender");
  const subject = str(v, "subject");
  const senderIp = ip(v["senderIP"]);
  const parts = arr(v, "messageParts").filter((x): x is Obj => x !== null && typeof x === "object");
  return {
    class_uid: 4009,
    activity_id: 3,
    activity_name: "Scan",
    time: t,
    severity_id: severity,
    message: `${verdict === "clean" ? "Email" : `${verdict[0]!.toUpperCase()}${verdict.slice(1)} email`} ${blocked ? "blocked" : "delivered"}: ${subject ?? "(no subject)"}`,
    direction_id: 1,
    direction: "Inbound",
    verdict,
    email: compact({
      uid: str(v, "GUID"),
      message_uid: str(v, "messageID"),
      from,
      to,
      cc: strings(v["ccAddresses"]),
      subject,
      x_originating_ip: senderIp ? [senderIp] : undefined,
      size: num(v, "messageSize"),
    }),
    ...(urlThreat ? { url: urlOf(str(urlThreat, "threat")!) } : {}),
    ...(to[0] ? { user: { email_addr: to[0] } } : {}),
    ...(senderIp ? { src_endpoint: { ip: senderIp } } : {}),
    metadata: compact({
      product: { vendor_name: "Proofpoint", name: "Targeted Attack Protection" },
      uid: str(v, "GUID") ?? str(v, "id") ?? str(v, "messageID"),
      original_time: timeText,
      log_name: list ?? (blocked ? "messagesBlocked" : "messagesDelivered"),
    }),
    unmapped: compact({
      disposition: blocked ? "blocked" : "delivered",
      sender: str(v, "sender"),
      scores,
      quarantine_folder: str(v, "quarantineFolder"),
      quarantine_rule: str(v, "quarantineRule"),
      threats: threats.map((x) =>
        compact({
          type: str(x, "threatType"),
          classification: str(x, "classification"),
          status: str(x, "threatStatus"),
          threat: str(x, "threat"),
          id: str(x, "threatID"),
          url: str(x, "threatUrl"),
          campaign: str(x, "campaignID") ?? str(x, "campaignId"),
        }),
      ),
      attachments: parts
        .filter((p) => str(p, "disposition") === "attached")
        .map((p) => compact({ name: str(p, "filename"), sha256: str(p, "sha256"), sandbox: str(p, "sandboxStatus") })),
      qid: str(v, "QID"),
      modules_run: strings(v["modulesRun"]),
      policy_routes: strings(v["policyRoutes"]),
    }),
  };
}

function click(v: Obj, list: string | undefined): Draft {
  const timeText = str(v, "clickTime");
  const t = eventTime(timeText);
  const recipient = str(v, "recipient");
  const classification = str(v, "classification")?.toLowerCase() ?? "unknown";
  const blocked = list === "clicksBlocked" ? true : list === "clicksPermitted" ? false : undefined;
  const base = CLASS_SEVERITY[classification] ?? 3;
  const severity = blocked ? Math.max(base - 1, 1) : base;
  const urlText = str(v, "url");
  const url = urlText ? urlOf(urlText) : undefined;
  const src = compact({ ip: ip(v["clickIP"]) });
  const dst = url?.hostname ? { hostname: url.hostname } : {};
  const threatId = str(v, "threatID");
  const uid = str(v, "id") ?? [str(v, "GUID") ?? str(v, "messageID"), threatId, timeText].join(":");
  const verb = blocked === true ? "Blocked click" : blocked === false ? "Permitted click" : "Click";
  const title = `Proofpoint TAP: ${verb} on ${classification} URL`;
  const email = compact({
    uid: str(v, "GUID"),
    message_uid: str(v, "messageID"),
    from: str(v, "sender"),
    to: recipient ? [recipient] : undefined,
    x_originating_ip: ip(v["senderIP"]) ? [ip(v["senderIP"])!] : undefined,
  });
  const user = recipient ? { email_addr: recipient } : undefined;
  return {
    class_uid: 2004,
    activity_id: 1,
    activity_name: "Create",
    time: t,
    severity_id: severity,
    status_id: 1,
    status: "New",
    message: `${title}${recipient ? ` by ${recipient}` : ""}`,
    is_alert: true,
    finding_info: compact({
      uid,
      title,
      types: [classification],
      analytic: compact({ uid: threatId, name: `Proofpoint TAP ${classification} threat` }),
      created_time: t,
      first_seen_time: time(str(v, "threatTime")),
      src_url: str(v, "threatURL"),
    }),
    ...(user ? { user } : {}),
    ...(Object.keys(src).length ? { src_endpoint: src } : {}),
    ...(Object.keys(dst).length ? { dst_endpoint: dst } : {}),
    evidences: [compact({ url, email, src_endpoint: src, ...(user ? { user } : {}) })],
    metadata: compact({
      product: { vendor_name: "Proofpoint", name: "Targeted Attack Protection" },
      uid: str(v, "id"),
      original_time: timeText,
      log_name: list ?? "clicks",
    }),
    unmapped: compact({
      disposition: blocked === undefined ? undefined : blocked ? "blocked" : "permitted",
      threat_id: threatId,
      threat_status: str(v, "threatStatus"),
      campaign_id: str(v, "campaignId") ?? str(v, "campaignID"),
      user_agent: str(v, "userAgent"),
      sender_ip: str(v, "senderIP"),
    }),
  };
}

/** Proofpoint TAP SIEM API messages and clicks; see the module comment. */
export const proofpointTap: Normalizer = {
  format: "proofpoint_tap",
  aliases: ["proofpoint"],
  detect: (e: RawEvent) => e.kind === "json" && (isMessage(e.value) || isClick(e.value) || isEnvelope(e.value)),
  normalize(e: RawEvent) {
    if (e.kind !== "json") throw new Error("a Proofpoint TAP record is JSON");
    const v = e.value;
    const list = listOf(v);
    if (isClick(v) || list?.startsWith("clicks")) return click(v, list);
    if (isMessage(v) || list?.startsWith("messages")) return message(v, list);
    if (isEnvelope(v)) {
      return reject(
        "a Proofpoint TAP SIEM API response holds many records: send each record of messagesDelivered, messagesBlocked, clicksPermitted and clicksBlocked as its own event",
      );
    }
    throw new Error(
      "not a Proofpoint TAP message (messageID, senderIP and scores) nor click (clickTime, clickIP, threatID)",
    );
  },
};
