/**
 * IBM QRadar LEEF 1.0/2.0 lines (PAN-OS, Fortinet, ...), bare or behind RFC 3164 / RFC 5424 syslog headers. Every
 * LEEF event becomes a Detection Finding; traffic logs are accepted too, as non-alert findings of Low severity at most.
 */
import { stableId } from "../../shared/ids.ts";
import {
  directionOf,
  eventTime,
  parseLeef,
  reportingHost,
  severityOf,
  stripSyslog,
  trafficSeverity,
} from "./syslog-parse.ts";
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { NO_TIME } from "./finalize.ts";
import { compact, ip, port, splitUser } from "./util.ts";

const TRAFFIC = /^(traffic|connection|session|flow|firewall)$/i;

/** Template placeholders (`$src`) and empty values are not values. */
const val = (a: Record<string, string>, ...keys: string[]) => {
  for (const k of keys) {
    const v = a[k];
    if (v !== undefined && v !== "" && !/^\$[\w-]+$/.test(v)) return v;
  }
  return undefined;
};

/** IBM Log Event Extended Format; see the module comment. */
export const leef: Normalizer = {
  format: "leef",
  detect: (e: RawEvent) => e.kind === "text" && /(?:^|[\s>:])LEEF:[12](?:\.0)?\|[^|]*\|/.test(e.value),
  normalize(e: RawEvent) {
    if (e.kind !== "text") throw new Error("LEEF is a text line: send the raw LEEF line, not JSON");
    const split = stripSyslog(e.value, "LEEF");
    if (!split) throw new Error("no LEEF:<version>| header in the line");
    const { body, header } = split;
    const l = parseLeef(body);
    const a = l.attrs;
    const values = Object.values(a);
    if (l.eventId.startsWith("$") && values.length > 0 && values.every((x) => String(x).startsWith("$")))
      throw new Error("an unfilled LEEF template (the Event ID and every attribute are $placeholders), not an event");

    const timeText = val(a, "devTime");
    const zone = val(a, "devTimeZone", "tz");
    // Neither devTime nor a syslog header time: finalize puts the received time there and marks the event.
    const read = eventTime(timeText, zone, header, undefined);
    const t = read.time ?? NO_TIME;
    const originalTime = read.text ?? timeText;
    const eventId = l.eventId.startsWith("$") ? "" : l.eventId.trim();
    const category = val(a, "cat");
    const traffic = TRAFFIC.test(eventId) || (category !== undefined && TRAFFIC.test(category));
    const vendorSeverity = severityOf(val(a, "sev", "severity"));
    const severity = traffic ? trafficSeverity(vendorSeverity) : vendorSeverity;

    const src = compact({
      ip: ip(val(a, "src")),
      port: port(val(a, "srcPort")),
      hostname: val(a, "srcHostName", "shost"),
      mac: val(a, "srcMAC"),
    });
    const dst = compact({
      ip: ip(val(a, "dst")),
      port: port(val(a, "dstPort")),
      hostname: val(a, "dstHostName", "dhost"),
      mac: val(a, "dstMAC"),
    });
    const direction = directionOf({
      fromZone: val(a, "srcZone", "SourceZone"),
      toZone: val(a, "dstZone", "DestinationZone"),
      src: src.ip,
      dst: dst.ip,
    });
    const identHost = val(a, "identHostName");
    const device = identHost
      ? compact({ hostname: identHost, ip: ip(val(a, "identSrc")), mac: val(a, "identMAC") })
      : compact({ ...(direction === "outbound" ? src : dst), port: undefined });
    const user = splitUser(val(a, "usrName", "identUsrName", "accountName"), val(a, "domain"));

    const title =
      eventId && category && category !== eventId && !/\s/.test(eventId)
        ? `${eventId}: ${category}`
        : eventId || category;
    if (!title) throw new Error("LEEF header has no Event ID and the event no cat attribute");
    const msg = val(a, "msg", "message");
    const url = val(a, "url");
    const serial = val(a, "serial", "SerialNumber", "DeviceSN");
    const seq = val(a, "sequence", "seqno");
    const vendorId = val(a, "externalId", "eventUid") ?? (serial && seq ? `${serial}:${seq}` : undefined);

    const draft: Draft = {
      class_uid: 2004,
      activity_id: 1,
      activity_name: "Create",
      time: t,
      severity_id: severity,
      status_id: 1,
      status: "New",
      message: msg ?? title,
      is_alert: !traffic,
      finding_info: compact({
        uid: vendorId ?? `leef-${stableId(body)}`,
        title,
        desc: msg,
        types: [category ?? eventId].filter((v) => v !== ""),
        analytic: compact({
          uid: eventId || undefined,
          name: val(a, "policy", "RuleName", "rule") ?? title,
          type_id: 1,
          type: "Rule",
          category,
        }),
        created_time: t,
      }),
      ...(Object.keys(device).length ? { device } : {}),
      ...(user ? { user } : {}),
      ...(Object.keys(src).length ? { src_endpoint: src } : {}),
      ...(Object.keys(dst).length ? { dst_endpoint: dst } : {}),
      evidences: [
        compact({ src_endpoint: src, dst_endpoint: dst, ...(url ? { url: { url_string: url } } : {}) }),
      ].filter((ev) => Object.keys(ev).length > 0),
      metadata: compact({
        product: compact({
          vendor_name: l.vendor || "Unknown",
          name: l.product || "Unknown",
          version: l.deviceVersion && !l.deviceVersion.startsWith("$") ? l.deviceVersion : undefined,
        }),
        uid: vendorId,
        original_time: originalTime,
        log_name: traffic ? "leef traffic" : "leef",
        event_code: eventId || undefined,
      }),
      unmapped: compact({
        leef_version: l.version,
        action: val(a, "action", "act"),
        protocol: val(a, "proto"),
        direction,
        reporting_device: compact({ hostname: val(a, "DeviceName", "devName") ?? reportingHost(header), uid: serial }),
        syslog_host: header.host,
        nat: compact({
          src_pre: val(a, "srcPreNAT"),
          src_post: val(a, "srcPostNAT"),
          dst_pre: val(a, "dstPreNAT"),
          dst_post: val(a, "dstPostNAT"),
        }),
        resource: val(a, "resource"),
      }),
    };
    return draft;
  },
};
