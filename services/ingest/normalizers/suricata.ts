/**
 * Suricata EVE JSON: `alert` records become Detection Findings; every other event type becomes the OCSF activity it
 * describes (suricata-activity.ts).
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { suricataActivity } from "./suricata-activity.ts";
import { compact, ip, num, obj, port, str } from "./util.ts";
import { eventTime } from "./finalize.ts";

/** Suricata priority 1 is the most severe. */
const SEVERITY_BY_PRIORITY: Record<number, number> = { 1: 4, 2: 3, 3: 2 };

export const suricata: Normalizer = {
  format: "suricata_eve",
  aliases: ["suricata"],
  detect: (e: RawEvent) =>
    e.kind === "json" &&
    typeof e.value["event_type"] === "string" &&
    "timestamp" in e.value &&
    ("flow_id" in e.value || "in_iface" in e.value || "alert" in e.value || "stats" in e.value),
  normalize(e: RawEvent) {
    if (e.kind !== "json") throw new Error("Suricata EVE is JSON");
    const v = e.value;
    const eventType = str(v, "event_type");
    if (!eventType) throw new Error("Suricata EVE record without event_type");
    if (eventType !== "alert") return suricataActivity(v, eventType);
    const alert = obj(v, "alert");
    const signature = str(alert, "signature");
    const sid = str(alert, "signature_id");
    if (!alert || !signature || !sid) throw new Error("Suricata alert without alert.signature and alert.signature_id");
    const t = eventTime(v["timestamp"]);
    const src = compact({ ip: ip(v["src_ip"]), port: port(v["src_port"]) });
    const dst = compact({
      ip: ip(v["dest_ip"]),
      port: port(v["dest_port"]),
      hostname: str(v, "tls.sni") ?? str(v, "http.hostname"),
    });
    const sensor = str(v, "host");
    const url = str(v, "http.url");
    const action = str(alert, "action");
    const draft: Draft = {
      class_uid: 2004,
      activity_id: 1,
      activity_name: "Create",
      time: t,
      severity_id: SEVERITY_BY_PRIORITY[num(alert, "severity") ?? 0] ?? 1,
      status_id: 1,
      status: "New",
      message: signature,
      is_alert: true,
      finding_info: compact({
        uid: [str(v, "flow_id") ?? "noflow", sid, str(alert, "rev") ?? "0", t].join(":"),
        title: signature,
        types: [str(alert, "category")].filter((x): x is string => x !== undefined),
        analytic: compact({ uid: sid, name: signature, type_id: 1, type: "Rule", category: str(alert, "category") }),
        created_time: t,
      }),
      src_endpoint: src,
      dst_endpoint: dst,
      evidences: [
        compact({
          src_endpoint: src,
          dst_endpoint: dst,
          ...(url ? { url: compact({ url_string: url, hostname: str(v, "http.hostname") }) } : {}),
          ...(str(v, "dns.rrname") ? { query: { hostname: str(v, "dns.rrname") as string } } : {}),
        }),
      ],
      metadata: compact({
        product: { vendor_name: "OISF", name: "Suricata" },
        original_time: str(v, "timestamp"),
        log_name: "eve",
        event_code: sid,
      }),
      unmapped: compact({
        action,
        proto: str(v, "proto"),
        app_proto: str(v, "app_proto"),
        in_iface: str(v, "in_iface"),
        sensor,
      }),
    };
    return draft;
  },
};
