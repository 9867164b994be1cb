/**
 * Suricata EVE records other than `alert`, as the OCSF activity they describe (Suricata docs, "Eve JSON Format",
 * docs.suricata.io/en/latest/output/eve/eve-json-format.html): flow/netflow → Network Activity (4001), http → HTTP
 * Activity (4002), dns → DNS Activity (4003), tls → Network Activity with `tls`, ssh → SSH Activity (4007), fileinfo →
 * Network File Activity (4010), smtp → Email Activity (4009), drop → Network Activity "Refuse", anomaly and every
 * other application-layer record (ftp, smb, krb5, dhcp, ...) → Network Activity; stats → Base Event (0), engine
 * telemetry. Nothing is refused: an event no rule wants is left to the rules, or dropped by the source's class filter.
 */
import type { Draft } from "./types.ts";
import { eventTime } from "./finalize.ts";
import { connectionInfo, httpActivity, networkObservables, rcodeOf, scalars } from "./network-activity.ts";
import { arr, baseName, compact, hashesBy, ip, num, obj, port, str, type Obj } from "./util.ts";

const PRODUCT = { vendor_name: "OISF", name: "Suricata" } as const;

/** `<a@b>` → `a@b` (SMTP envelope addresses keep their brackets in EVE). */
const bare = (s: unknown) => (typeof s === "string" && s.trim() ? s.trim().replace(/^<(.*)>$/, "$1") : undefined);
const strings = (v: unknown): string[] =>
  (Array.isArray(v) ? v : [v]).map(bare).filter((x): x is string => x !== undefined);

/** The common part of every EVE record (5-tuple, flow id, interface, sensor). */
function common(v: Obj, eventType: string) {
  const flowId = str(v, "flow_id");
  const src = compact({ ip: ip(v["src_ip"]), port: port(v["src_port"]) });
  const dst = compact({ ip: ip(v["dest_ip"]), port: port(v["dest_port"]) });
  const flow = obj(v, "flow") ?? obj(v, "netflow");
  const traffic = compact({
    bytes_out: num(flow, "bytes_toserver"),
    bytes_in: num(flow, "bytes_toclient"),
    packets_out: num(flow, "pkts_toserver"),
    packets_in: num(flow, "pkts_toclient"),
    bytes: num(flow, "bytes"),
    packets: num(flow, "pkts"),
  });
  return {
    time: eventTime(v["timestamp"]),
    src,
    dst,
    network: compact({
      connection_info: compact(connectionInfo(str(v, "proto"), flowId)),
      traffic,
      app_name: str(v, "app_proto") === "failed" ? undefined : str(v, "app_proto"),
    }),
    metadata: compact({
      product: PRODUCT,
      original_time: str(v, "timestamp"),
      log_name: "eve",
      event_code: eventType,
      correlation_uid: flowId,
    }),
    unmapped: compact({
      in_iface: str(v, "in_iface"),
      sensor: str(v, "host"),
      community_id: str(v, "community_id"),
      tx_id: num(v, "tx_id"),
    }),
  };
}

function flowDraft(v: Obj, eventType: string): Draft {
  const c = common(v, eventType);
  const flow = obj(v, "flow") ?? obj(v, "netflow");
  const state = str(flow, "state");
  const [activity_id, activity_name] = eventType === "drop" ? [5, "Refuse"] : [6, "Traffic"];
  const tuple = `${c.src.ip ?? "?"}:${c.src.port ?? "?"} → ${c.dst.ip ?? "?"}:${c.dst.port ?? "?"}`;
  return {
    class_uid: 4001,
    activity_id,
    activity_name,
    time: c.time,
    severity_id: 1,
    message: `Suricata ${eventType} ${str(v, "proto") ?? ""} ${tuple}`.replace(/\s+/g, " "),
    src_endpoint: c.src,
    dst_endpoint: c.dst,
    ...c.network,
    metadata: c.metadata,
    unmapped: compact({
      ...c.unmapped,
      state,
      reason: str(flow, "reason"),
      alerted: typeof flow?.["alerted"] === "boolean" ? flow["alerted"] : undefined,
      start: str(flow, "start"),
      end: str(flow, "end"),
      drop: eventType === "drop" ? scalars(v["drop"]) : undefined,
    }),
  };
}

function httpDraft(v: Obj, eventType: string): Draft {
  const c = common(v, eventType);
  const h = obj(v, "http");
  const host = str(h, "hostname");
  const path = str(h, "url");
  const url = path && host && !/^[a-z][a-z0-9+.-]*:\/\//i.test(path) ? `http://${host}${path}` : path;
  const [activity_id, activity_name] = httpActivity(str(h, "http_method"));
  const ua = str(h, "http_user_agent");
  return {
    class_uid: 4002,
    activity_id,
    activity_name,
    time: c.time,
    severity_id: 1,
    message: `HTTP ${str(h, "http_method") ?? "request"} ${url ?? host ?? ""}`.trim(),
    src_endpoint: c.src,
    dst_endpoint: compact({ ...c.dst, hostname: host && !ip(host) ? host : undefined }),
    ...c.network,
    http_request: compact({
      http_method: str(h, "http_method"),
      url: compact({ url_string: url, hostname: host, path: path?.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "") }),
      user_agent: ua,
      referrer: str(h, "http_refer"),
      version: str(h, "protocol"),
    }),
    http_response: compact({ code: num(h, "status"), length: num(h, "length") }),
    observables: networkObservables({ url, userAgent: ua }),
    metadata: c.metadata,
    unmapped: compact({ ...c.unmapped, content_type: str(h, "http_content_type"), redirect: str(h, "redirect") }),
  };
}

function dnsDraft(v: Obj, eventType: string): Draft {
  const c = common(v, eventType);
  const d = obj(v, "dns");
  // EVE DNS v1/v2 name the query in `rrname`; v3 (Suricata 8) lists `queries`.
  const q = arr(d, "queries")[0];
  const hostname = str(d, "rrname") ?? str(q, "rrname");
  const isAnswer = str(d, "type") === "answer" || arr(d, "answers").length > 0;
  const v1Answer = isAnswer && str(d, "rdata") !== undefined;
  const answers = (v1Answer ? [d] : arr(d, "answers"))
    .slice(0, 50)
    .map((a) => compact({ rdata: str(a, "rdata"), type: str(a, "rrtype"), ttl: num(a, "ttl") }));
  const rcode = rcodeOf(str(d, "rcode"));
  return {
    class_uid: 4003,
    activity_id: isAnswer ? 2 : 1,
    activity_name: isAnswer ? "Response" : "Query",
    time: c.time,
    severity_id: 1,
    message: `DNS ${isAnswer ? "answer" : "query"} ${hostname ?? ""}${rcode.rcode ? ` ${rcode.rcode}` : ""}`.trim(),
    src_endpoint: c.src,
    dst_endpoint: c.dst,
    ...c.network,
    ...(hostname ? { query: compact({ hostname, type: str(d, "rrtype") ?? str(q, "rrtype") }) } : {}),
    ...(answers.length ? { answers } : {}),
    ...rcode,
    observables: networkObservables({ domain: hostname }),
    metadata: c.metadata,
    unmapped: compact({ ...c.unmapped, dns_id: num(d, "id") }),
  };
}

function tlsDraft(v: Obj, eventType: string): Draft {
  const c = common(v, eventType);
  const t = obj(v, "tls");
  const sni = str(t, "sni")?.replace(/\.$/, "");
  return {
    class_uid: 4001,
    activity_id: 6,
    activity_name: "Traffic",
    time: c.time,
    severity_id: 1,
    message: `TLS ${str(t, "version") ?? ""} ${sni ?? c.dst.ip ?? ""}`.replace(/\s+/g, " ").trim(),
    src_endpoint: c.src,
    dst_endpoint: compact({ ...c.dst, hostname: sni }),
    ...c.network,
    tls: compact({
      version: str(t, "version"),
      sni,
      certificate: compact({
        subject: str(t, "subject"),
        issuer: str(t, "issuerdn"),
        serial_number: str(t, "serial"),
        fingerprints: str(t, "fingerprint") ? [{ algorithm: "SHA-1", value: str(t, "fingerprint") }] : undefined,
        created_time: eventTime(str(t, "notbefore")) || undefined,
        expiration_time: eventTime(str(t, "notafter")) || undefined,
      }),
      ja3_hash: str(t, "ja3.hash") ? { algorithm: "MD5", value: str(t, "ja3.hash") } : undefined,
      ja3s_hash: str(t, "ja3s.hash") ? { algorithm: "MD5", value: str(t, "ja3s.hash") } : undefined,
    }),
    metadata: c.metadata,
    unmapped: compact({
      ...c.unmapped,
      session_resumed: typeof t?.["session_resumed"] === "boolean" ? t["session_resumed"] : undefined,
    }),
  };
}

function sshDraft(v: Obj, eventType: string): Draft {
  const c = common(v, eventType);
  const s = obj(v, "ssh");
  const hassh = (side: string) => {
    const h = str(s, `${side}.hassh.hash`);
    return h ? { fingerprint: { algorithm: "MD5", value: h } } : undefined;
  };
  const client = hassh("client");
  const server = hassh("server");
  return {
    class_uid: 4007,
    activity_id: 1,
    activity_name: "Open",
    time: c.time,
    severity_id: 1,
    message: `SSH ${str(s, "client.software_version") ?? "client"} → ${str(s, "server.software_version") ?? "server"}`,
    src_endpoint: c.src,
    dst_endpoint: c.dst,
    ...c.network,
    ...(str(s, "client.proto_version") ? { protocol_ver: str(s, "client.proto_version") as string } : {}),
    ...(client ? { client_hassh: client } : {}),
    ...(server ? { server_hassh: server } : {}),
    metadata: c.metadata,
    unmapped: compact({
      ...c.unmapped,
      client_software: str(s, "client.software_version"),
      server_software: str(s, "server.software_version"),
      server_proto_version: str(s, "server.proto_version"),
    }),
  };
}

function fileDraft(v: Obj, eventType: string): Draft {
  const c = common(v, eventType);
  const f = obj(v, "fileinfo");
  const path = str(f, "filename");
  const hashes = hashesBy(["md5", "sha1", "sha256"], (n) => str(f, n));
  const method = str(v, "http.http_method")?.toUpperCase();
  const [activity_id, activity_name] =
    method === "GET" ? [2, "Download"] : method === "POST" || method === "PUT" ? [1, "Upload"] : [99, "Other"];
  const name = baseName(path);
  return {
    class_uid: 4010,
    activity_id,
    activity_name,
    time: c.time,
    severity_id: 1,
    message: `File ${path ?? "(unnamed)"} seen over ${str(v, "app_proto") ?? str(v, "proto") ?? "the network"}`,
    src_endpoint: c.src,
    dst_endpoint: c.dst,
    ...c.network,
    file: compact({ name, path, hashes, size: num(f, "size") }),
    observables: networkObservables({ fileName: name, hashes }),
    metadata: c.metadata,
    unmapped: compact({
      ...c.unmapped,
      magic: str(f, "magic"),
      state: str(f, "state"),
      stored: typeof f?.["stored"] === "boolean" ? f["stored"] : undefined,
      gaps: typeof f?.["gaps"] === "boolean" ? f["gaps"] : undefined,
      file_id: num(f, "file_id"),
    }),
  };
}

function smtpDraft(v: Obj, eventType: string): Draft {
  const c = common(v, eventType);
  const s = obj(v, "smtp");
  const e = obj(v, "email");
  const from = bare(e?.["from"]) ?? bare(s?.["mail_from"]);
  const to = strings(e?.["to"]).length ? strings(e?.["to"]) : strings(s?.["rcpt_to"]);
  const subject = str(e, "subject");
  return {
    class_uid: 4009,
    activity_id: 1,
    activity_name: "Send",
    time: c.time,
    severity_id: 1,
    message: `SMTP ${from ?? "(no sender)"} → ${to.join(", ") || "(no recipient)"}${subject ? `: ${subject}` : ""}`,
    direction_id: 0,
    direction: "Unknown",
    email: compact({ from, to, cc: strings(e?.["cc"]), subject, message_uid: bare(e?.["message_id"]) }),
    src_endpoint: c.src,
    dst_endpoint: c.dst,
    metadata: c.metadata,
    unmapped: compact({
      ...c.unmapped,
      helo: str(s, "helo"),
      status: str(e, "status"),
      attachments: strings(e?.["attachment"]),
    }),
  };
}

function statsDraft(v: Obj, eventType: string): Draft {
  const c = common(v, eventType);
  return {
    class_uid: 0,
    activity_id: 99,
    activity_name: "Other",
    time: c.time,
    severity_id: 1,
    message: "Suricata engine statistics",
    metadata: c.metadata,
    unmapped: compact({
      ...c.unmapped,
      uptime: num(v, "stats.uptime"),
      kernel_packets: num(v, "stats.capture.kernel_packets"),
      kernel_drops: num(v, "stats.capture.kernel_drops"),
      decoder_packets: num(v, "stats.decoder.pkts"),
      decoder_bytes: num(v, "stats.decoder.bytes"),
    }),
  };
}

/** anomaly and the application-layer records without a more specific OCSF class (ftp, smb, krb5, dhcp, ...). */
function otherDraft(v: Obj, eventType: string): Draft {
  const c = common(v, eventType);
  const detail = scalars(v[eventType]);
  const anomaly = eventType === "anomaly";
  const what = anomaly ? [str(v, "anomaly.type"), str(v, "anomaly.event")].filter(Boolean).join(" ") : "";
  const hasTuple = Object.keys(c.src).length + Object.keys(c.dst).length > 0;
  if (!hasTuple) {
    return {
      class_uid: 0,
      activity_id: 99,
      activity_name: "Other",
      time: c.time,
      severity_id: 1,
      message: `Suricata ${eventType}${what ? `: ${what}` : ""}`,
      metadata: c.metadata,
      unmapped: compact({ ...c.unmapped, [eventType]: detail }),
    };
  }
  return {
    class_uid: 4001,
    activity_id: anomaly ? 99 : 6,
    activity_name: anomaly ? "Other" : "Traffic",
    time: c.time,
    // Decoder and protocol anomalies are not detections, but they are worth more than plain traffic.
    severity_id: anomaly ? 2 : 1,
    message: `Suricata ${eventType}${what ? `: ${what}` : ""} ${c.src.ip ?? ""} → ${c.dst.ip ?? ""}`.trim(),
    src_endpoint: c.src,
    dst_endpoint: c.dst,
    ...c.network,
    app_name: c.network.app_name ?? eventType,
    metadata: c.metadata,
    unmapped: compact({ ...c.unmapped, [eventType]: detail }),
  };
}

const BY_TYPE: Record<string, (v: Obj, eventType: string) => Draft> = {
  flow: flowDraft,
  netflow: flowDraft,
  drop: flowDraft,
  http: httpDraft,
  dns: dnsDraft,
  tls: tlsDraft,
  ssh: sshDraft,
  fileinfo: fileDraft,
  smtp: smtpDraft,
  stats: statsDraft,
};

/** A non-alert EVE record as its OCSF activity (see the module comment). */
export function suricataActivity(v: Obj, eventType: string): Draft {
  const type = /^[a-z][a-z0-9_-]{0,63}$/.test(eventType) ? eventType : "unknown";
  return (Object.hasOwn(BY_TYPE, type) ? (BY_TYPE[type] as typeof otherDraft) : otherDraft)(v, type);
}
