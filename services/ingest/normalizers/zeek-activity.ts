/**
 * Zeek logs other than notice.log, as the OCSF activity they record (Zeek docs, "Logs": docs.zeek.org/en/current/
 * logs/{conn,dns,http,ssl,ssh,files,weird}.html and the script reference of each log's Info record): conn → Network
 * Activity (4001), dns → DNS Activity (4003), http → HTTP Activity (4002), ssl → Network Activity with `tls`, ssh →
 * SSH Activity (4007), files → Network File Activity (4010), weird → Network Activity (Other), every other log → Base
 * Event (0). Fields are read flattened (`id.orig_h`, Zeek's JSON writer) or nested (`id: {orig_h}`).
 */
import type { Draft } from "./types.ts";
import { eventTime } from "./finalize.ts";
import { connectionInfo, httpActivity, networkObservables, rcodeOf, scalars } from "./network-activity.ts";
import { compact, get, hashesBy, ip, num, port, str, type Obj } from "./util.ts";

const PRODUCT = { vendor_name: "Zeek", name: "Zeek" } as const;

/** A Zeek field by its flattened name (`id.orig_h`), also when the exporter nests it (`id: {orig_h}`). */
const field = (v: Obj, name: string): unknown => (Object.hasOwn(v, name) ? v[name] : get(v, name));
const fstr = (v: Obj, name: string): string | undefined => str({ x: field(v, name) }, "x");
const fnum = (v: Obj, name: string): number | undefined => num({ x: field(v, name) }, "x");
const list = (v: Obj, name: string): unknown[] => {
  const x = field(v, name);
  return Array.isArray(x) ? x : [];
};
const bool = (v: Obj, name: string): boolean | undefined => {
  const x = field(v, name);
  return typeof x === "boolean" ? x : undefined;
};

/** Which Zeek log a record without `_path` comes from, by the fields only that log has. */
export function zeekLogOf(v: Obj): string {
  const path = str(v, "_path");
  if (path) return path;
  const has = (k: string) => Object.hasOwn(v, k);
  if (typeof v["note"] === "string") return "notice";
  if (has("conn_state") || (has("history") && has("orig_bytes"))) return "conn";
  if (has("qtype_name") || (has("query") && has("trans_id"))) return "dns";
  if (has("trans_depth") || (has("method") && has("uri"))) return "http";
  if (has("server_name") || has("cipher") || has("established")) return "ssl";
  if (has("auth_success") || has("hassh") || has("hasshServer")) return "ssh";
  if (has("fuid") && (has("seen_bytes") || has("mime_type") || has("tx_hosts") || has("analyzers"))) return "files";
  if (has("name") && (has("addl") || has("peer")) && has("notice")) return "weird";
  return "unknown";
}

function common(v: Obj, log: string) {
  const uid = fstr(v, "uid");
  const origH = ip(field(v, "id.orig_h"));
  const respH = ip(field(v, "id.resp_h"));
  const src = compact({ ip: origH, port: origH ? port(field(v, "id.orig_p")) : undefined });
  const dst = compact({ ip: respH, port: respH ? port(field(v, "id.resp_p")) : undefined });
  return {
    time: eventTime(v["ts"]),
    uid,
    src,
    dst,
    connection_info: compact(connectionInfo(fstr(v, "proto"), uid)),
    metadata: compact({
      product: PRODUCT,
      original_time: typeof v["ts"] === "number" ? String(v["ts"]) : str(v, "ts"),
      log_name: log,
      event_code: log,
      correlation_uid: uid,
    }),
    sensor: fstr(v, "_node_name") ?? fstr(v, "peer_descr"),
  };
}

/** Network Activity activity by conn_state (Zeek conn.log `conn_state` legend). */
function connActivity(state: string | undefined): readonly [number, string] {
  if (state === "REJ") return [5, "Refuse"];
  if (state?.startsWith("RST")) return [3, "Reset"];
  if (state === "SF") return [2, "Close"];
  if (state === "S0") return [4, "Fail"];
  return [6, "Traffic"];
}

function conn(v: Obj, log: string): Draft {
  const c = common(v, log);
  const state = fstr(v, "conn_state");
  const [activity_id, activity_name] = connActivity(state);
  return {
    class_uid: 4001,
    activity_id,
    activity_name,
    time: c.time,
    severity_id: 1,
    message:
      `Zeek conn ${fstr(v, "proto") ?? ""} ${c.src.ip ?? "?"}:${c.src.port ?? "?"} → ${c.dst.ip ?? "?"}:${c.dst.port ?? "?"}${state ? ` ${state}` : ""}`.replace(
        /\s+/g,
        " ",
      ),
    src_endpoint: c.src,
    dst_endpoint: c.dst,
    connection_info: c.connection_info,
    traffic: compact({
      bytes_out: fnum(v, "orig_bytes"),
      bytes_in: fnum(v, "resp_bytes"),
      packets_out: fnum(v, "orig_pkts"),
      packets_in: fnum(v, "resp_pkts"),
    }),
    ...(fstr(v, "service") ? { app_name: fstr(v, "service") as string } : {}),
    metadata: c.metadata,
    unmapped: compact({
      conn_state: state,
      history: fstr(v, "history"),
      duration: fnum(v, "duration"),
      local_orig: bool(v, "local_orig"),
      local_resp: bool(v, "local_resp"),
      community_id: fstr(v, "community_id"),
      sensor: c.sensor,
    }),
  };
}

function dns(v: Obj, log: string): Draft {
  const c = common(v, log);
  const hostname = fstr(v, "query");
  const ttls = list(v, "TTLs");
  const answers = list(v, "answers")
    .slice(0, 50)
    .map((a, i) => compact({ rdata: typeof a === "string" ? a : undefined, ttl: num(ttls, String(i)) }));
  const rcode = rcodeOf(fstr(v, "rcode_name"));
  const answered = rcode.rcode !== undefined || answers.length > 0;
  return {
    class_uid: 4003,
    activity_id: answered ? 2 : 1,
    activity_name: answered ? "Response" : "Query",
    time: c.time,
    severity_id: 1,
    message: `DNS ${fstr(v, "qtype_name") ?? ""} ${hostname ?? ""}${rcode.rcode ? ` ${rcode.rcode}` : ""}`
      .replace(/\s+/g, " ")
      .trim(),
    src_endpoint: c.src,
    dst_endpoint: c.dst,
    connection_info: c.connection_info,
    ...(hostname ? { query: compact({ hostname, type: fstr(v, "qtype_name"), class: fstr(v, "qclass_name") }) } : {}),
    ...(answers.length ? { answers } : {}),
    ...rcode,
    observables: networkObservables({ domain: hostname }),
    metadata: c.metadata,
    unmapped: compact({ trans_id: fnum(v, "trans_id"), rtt: fnum(v, "rtt"), rejected: bool(v, "rejected") }),
  };
}

function http(v: Obj, log: string): Draft {
  const c = common(v, log);
  const host = fstr(v, "host");
  const uri = fstr(v, "uri");
  const url = host ? `http://${host}${uri ?? "/"}` : uri;
  const method = fstr(v, "method");
  const [activity_id, activity_name] = httpActivity(method);
  const ua = fstr(v, "user_agent");
  return {
    class_uid: 4002,
    activity_id,
    activity_name,
    time: c.time,
    severity_id: 1,
    message: `HTTP ${method ?? "request"} ${url ?? ""}`.trim(),
    src_endpoint: c.src,
    dst_endpoint: compact({ ...c.dst, hostname: host && !ip(host) ? host : undefined }),
    connection_info: c.connection_info,
    http_request: compact({
      http_method: method,
      url: compact({ url_string: url, hostname: host, path: uri }),
      user_agent: ua,
      referrer: fstr(v, "referrer"),
      version: fstr(v, "version"),
    }),
    http_response: compact({ code: fnum(v, "status_code"), length: fnum(v, "response_body_len") }),
    observables: networkObservables({ url, userAgent: ua }),
    metadata: c.metadata,
    unmapped: compact({
      status_msg: fstr(v, "status_msg"),
      request_body_len: fnum(v, "request_body_len"),
      username: fstr(v, "username"),
      resp_mime_types: list(v, "resp_mime_types").filter((x) => typeof x === "string"),
    }),
  };
}

function ssl(v: Obj, log: string): Draft {
  const c = common(v, log);
  const sni = fstr(v, "server_name");
  const established = bool(v, "established");
  const [activity_id, activity_name] =
    established === true ? [1, "Open"] : established === false ? [4, "Fail"] : [6, "Traffic"];
  return {
    class_uid: 4001,
    activity_id,
    activity_name,
    time: c.time,
    severity_id: 1,
    message: `TLS ${fstr(v, "version") ?? ""} ${sni ?? c.dst.ip ?? ""}`.replace(/\s+/g, " ").trim(),
    src_endpoint: c.src,
    dst_endpoint: compact({ ...c.dst, hostname: sni }),
    connection_info: c.connection_info,
    tls: compact({
      version: fstr(v, "version"),
      sni,
      cipher: fstr(v, "cipher"),
      certificate: compact({ subject: fstr(v, "subject"), issuer: fstr(v, "issuer") }),
      ja3_hash: fstr(v, "ja3") ? { algorithm: "MD5", value: fstr(v, "ja3") } : undefined,
      ja3s_hash: fstr(v, "ja3s") ? { algorithm: "MD5", value: fstr(v, "ja3s") } : undefined,
    }),
    metadata: c.metadata,
    unmapped: compact({
      established,
      resumed: bool(v, "resumed"),
      validation_status: fstr(v, "validation_status"),
      next_protocol: fstr(v, "next_protocol"),
    }),
  };
}

function ssh(v: Obj, log: string): Draft {
  const c = common(v, log);
  const ok = bool(v, "auth_success");
  const [activity_id, activity_name] = ok === true ? [1, "Open"] : ok === false ? [4, "Fail"] : [6, "Traffic"];
  const hassh = (name: string) =>
    fstr(v, name) ? { fingerprint: { algorithm: "MD5", value: fstr(v, name) } } : undefined;
  const client = hassh("hassh");
  const server = hassh("hasshServer");
  return {
    class_uid: 4007,
    activity_id,
    activity_name,
    time: c.time,
    severity_id: 1,
    message: `SSH ${fstr(v, "client") ?? "client"} → ${fstr(v, "server") ?? "server"}${ok === false ? " (authentication failed)" : ""}`,
    src_endpoint: c.src,
    dst_endpoint: c.dst,
    connection_info: c.connection_info,
    ...(fstr(v, "version") ? { protocol_ver: fstr(v, "version") as string } : {}),
    ...(client ? { client_hassh: client } : {}),
    ...(server ? { server_hassh: server } : {}),
    metadata: c.metadata,
    unmapped: compact({
      auth_success: ok,
      auth_attempts: fnum(v, "auth_attempts"),
      direction: fstr(v, "direction"),
      client: fstr(v, "client"),
      server: fstr(v, "server"),
    }),
  };
}

function files(v: Obj, log: string): Draft {
  const c = common(v, log);
  const tx = ip(list(v, "tx_hosts")[0]);
  const rx = ip(list(v, "rx_hosts")[0]);
  const src = Object.keys(c.src).length ? c.src : compact({ ip: tx });
  const dst = Object.keys(c.dst).length ? c.dst : compact({ ip: rx });
  const name = fstr(v, "filename");
  const hashes = hashesBy(["md5", "sha1", "sha256"], (n) => fstr(v, n));
  const isOrig = bool(v, "is_orig");
  const [activity_id, activity_name] =
    isOrig === true ? [1, "Upload"] : isOrig === false ? [2, "Download"] : [99, "Other"];
  const fuid = fstr(v, "fuid");
  const connUid = c.uid ?? str(list(v, "conn_uids"), "0");
  return {
    class_uid: 4010,
    activity_id,
    activity_name,
    time: c.time,
    severity_id: 1,
    message: `File ${name ?? fuid ?? ""} (${fstr(v, "mime_type") ?? "unknown type"}) over ${fstr(v, "source") ?? "the network"}`,
    src_endpoint: src,
    dst_endpoint: dst,
    connection_info: compact(connectionInfo(fstr(v, "proto"), connUid)),
    ...(fstr(v, "source") ? { app_name: fstr(v, "source") as string } : {}),
    file: compact({ name, hashes, size: fnum(v, "total_bytes") ?? fnum(v, "seen_bytes") }),
    observables: networkObservables({ fileName: name, hashes }),
    metadata: compact({ ...c.metadata, uid: fuid, correlation_uid: connUid }),
    unmapped: compact({
      fuid,
      mime_type: fstr(v, "mime_type"),
      seen_bytes: fnum(v, "seen_bytes"),
      missing_bytes: fnum(v, "missing_bytes"),
      extracted: fstr(v, "extracted"),
    }),
  };
}

/** weird.log: protocol violations Zeek saw on a connection; no detection, but more than plain traffic. */
function weird(v: Obj, log: string): Draft {
  const c = common(v, log);
  const name = fstr(v, "name") ?? "weird";
  const addl = fstr(v, "addl");
  const message = `Zeek weird ${name}${addl ? `: ${addl}` : ""}`;
  const unmapped = compact({ name, addl, notice: bool(v, "notice"), peer: fstr(v, "peer"), source: fstr(v, "source") });
  if (!c.src.ip && !c.dst.ip)
    return {
      class_uid: 0,
      activity_id: 99,
      activity_name: "Other",
      time: c.time,
      severity_id: 2,
      message,
      metadata: c.metadata,
      unmapped,
    };
  return {
    class_uid: 4001,
    activity_id: 99,
    activity_name: "Other",
    time: c.time,
    severity_id: 2,
    message,
    src_endpoint: c.src,
    dst_endpoint: c.dst,
    connection_info: c.connection_info,
    metadata: c.metadata,
    unmapped,
  };
}

/** Any other Zeek log (x509, dhcp, smtp, ftp, kerberos, ...): understood, kept as a Base Event with its endpoints. */
function other(v: Obj, log: string): Draft {
  const c = common(v, log);
  return {
    class_uid: 0,
    activity_id: 99,
    activity_name: "Other",
    time: c.time,
    severity_id: 1,
    message: `Zeek ${log}.log record`,
    ...(Object.keys(c.src).length ? { src_endpoint: c.src } : {}),
    ...(Object.keys(c.dst).length ? { dst_endpoint: c.dst } : {}),
    metadata: c.metadata,
    unmapped: scalars(v),
  };
}

const BY_LOG: Record<string, (v: Obj, log: string) => Draft> = { conn, dns, http, ssl, ssh, files, weird };

/** A Zeek record of a log other than notice.log, as its OCSF activity (see the module comment). */
export function zeekActivity(v: Obj, log: string): Draft {
  const name = /^[a-z][a-z0-9_]{0,63}$/.test(log) ? log : "unknown";
  return (Object.hasOwn(BY_LOG, name) ? (BY_LOG[name] as typeof other) : other)(v, name);
}
