/**
 * OCSF Network Activity category helpers shared by the network sensors (Suricata EVE, Zeek): protocol numbers,
 * HTTP and DNS activity ids, DNS response codes. Values are OCSF 1.5's (events/network/*.json enums).
 */
import type { Observable } from "../../../schemas/index.ts";
import { OBSERVABLE_TYPE } from "../../../schemas/index.ts";
import { dict } from "./util.ts";

/** IANA protocol numbers of the transports sensors name (OCSF connection_info.protocol_num). */
const PROTOCOL_NUM: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, ipv6_icmp: 58, sctp: 132 };

/** OCSF connection_info for a transport name (`TCP`, `udp`, `IPv6-ICMP`) and a flow/connection id. */
export function connectionInfo(
  proto: string | undefined,
  uid: string | undefined,
): { protocol_name?: string; protocol_num?: number; uid?: string } {
  const name = proto?.toLowerCase();
  const key = name?.replace(/-/g, "_");
  const num = key !== undefined && Object.hasOwn(PROTOCOL_NUM, key) ? PROTOCOL_NUM[key] : undefined;
  return {
    ...(name ? { protocol_name: name } : {}),
    ...(num !== undefined ? { protocol_num: num } : {}),
    ...(uid ? { uid } : {}),
  };
}

/** HTTP Activity (4002) activity by request method; other methods are Other (99). */
const HTTP_ACTIVITY: Record<string, readonly [number, string]> = {
  CONNECT: [1, "Connect"],
  DELETE: [2, "Delete"],
  GET: [3, "Get"],
  HEAD: [4, "Head"],
  OPTIONS: [5, "Options"],
  POST: [6, "Post"],
  PUT: [7, "Put"],
  TRACE: [8, "Trace"],
  PATCH: [9, "Patch"],
};

export function httpActivity(method: string | undefined): readonly [number, string] {
  if (!method) return [0, "Unknown"];
  const m = method.toUpperCase();
  return (Object.hasOwn(HTTP_ACTIVITY, m) ? HTTP_ACTIVITY[m] : undefined) ?? [99, "Other"];
}

/** OCSF DNS rcode_id by RFC 1035/2136 response code name. */
const RCODE_ID: Record<string, number> = {
  noerror: 0,
  formerr: 1,
  formerror: 1,
  servfail: 2,
  nxdomain: 3,
  notimp: 4,
  refused: 5,
  yxdomain: 6,
  yxrrset: 7,
  nxrrset: 8,
  notauth: 9,
  notzone: 10,
};

/** OCSF rcode and rcode_id of a response code name, else nothing. */
export function rcodeOf(name: string | undefined): { rcode?: string; rcode_id?: number } {
  if (!name) return {};
  const n = name.toLowerCase();
  const id = Object.hasOwn(RCODE_ID, n) ? RCODE_ID[n] : undefined;
  return { rcode: name, rcode_id: id ?? 99 };
}

/** Observables a network event carries beyond the endpoints finalize already lists. */
export function networkObservables(parts: {
  domain?: string | undefined;
  url?: string | undefined;
  userAgent?: string | undefined;
  fileName?: string | undefined;
  hashes?: ReadonlyArray<{ value: string }>;
}): Observable[] {
  const out: Observable[] = [];
  if (parts.domain) out.push({ name: "query.hostname", type_id: OBSERVABLE_TYPE.domain, value: parts.domain });
  if (parts.url) out.push({ name: "http_request.url.url_string", type_id: OBSERVABLE_TYPE.url, value: parts.url });
  if (parts.userAgent)
    out.push({ name: "http_request.user_agent", type_id: OBSERVABLE_TYPE.user_agent, value: parts.userAgent });
  if (parts.fileName) out.push({ name: "file.name", type_id: OBSERVABLE_TYPE.file_name, value: parts.fileName });
  for (const h of parts.hashes ?? []) out.push({ name: "file.hashes", type_id: OBSERVABLE_TYPE.hash, value: h.value });
  return out;
}

/** The scalar fields of a protocol record (for `unmapped`); nested objects stay in raw_data. */
export function scalars(o: unknown, max = 20): Record<string, string | number | boolean> {
  const out = dict<string | number | boolean>();
  if (o === null || typeof o !== "object" || Array.isArray(o)) return out;
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    if (Object.keys(out).length >= max) break;
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[k] = v;
  }
  return out;
}
