/** Completes a normalizer's draft into a valid OCSF event with Riposte's fields, or explains why it is not one. */
import { NormalizedEvent, OBSERVABLE_TYPE, OCSF_VERSION, SEVERITY, type Observable } from "../../../schemas/index.ts";
import { canonicalJson, stableId } from "../../shared/ids.ts";
import type { Draft, RawEvent } from "./types.ts";
import { get } from "./util.ts";

const CLASSES: Record<number, { class_name: string; category_uid: number; category_name: string }> = {
  2004: { class_name: "Detection Finding", category_uid: 2, category_name: "Findings" },
  3002: { class_name: "Authentication", category_uid: 3, category_name: "Identity & Access Management" },
  4009: { class_name: "Email Activity", category_uid: 4, category_name: "Network Activity" },
};

/** Where observables come from: path in the event → observable type. */
const OBSERVABLE_PATHS: ReadonlyArray<readonly [string, number]> = [
  ["device.hostname", OBSERVABLE_TYPE.hostname],
  ["device.ip", OBSERVABLE_TYPE.ip],
  ["src_endpoint.hostname", OBSERVABLE_TYPE.hostname],
  ["src_endpoint.ip", OBSERVABLE_TYPE.ip],
  ["dst_endpoint.hostname", OBSERVABLE_TYPE.hostname],
  ["dst_endpoint.ip", OBSERVABLE_TYPE.ip],
  ["user.name", OBSERVABLE_TYPE.user_name],
  ["user.email_addr", OBSERVABLE_TYPE.email],
  ["actor.user.name", OBSERVABLE_TYPE.user_name],
  ["actor.process.name", OBSERVABLE_TYPE.process_name],
  ["actor.process.cmd_line", OBSERVABLE_TYPE.command_line],
  ["email.from", OBSERVABLE_TYPE.email],
  ["url.url_string", OBSERVABLE_TYPE.url],
];

const EVIDENCE_PATHS: ReadonlyArray<readonly [string, number]> = [
  ["process.name", OBSERVABLE_TYPE.process_name],
  ["process.cmd_line", OBSERVABLE_TYPE.command_line],
  ["file.name", OBSERVABLE_TYPE.file_name],
  ["url.url_string", OBSERVABLE_TYPE.url],
  ["query.hostname", OBSERVABLE_TYPE.domain],
  ["email.from", OBSERVABLE_TYPE.email],
  ["user.name", OBSERVABLE_TYPE.user_name],
  ["src_endpoint.ip", OBSERVABLE_TYPE.ip],
  ["dst_endpoint.ip", OBSERVABLE_TYPE.ip],
  ["dst_endpoint.hostname", OBSERVABLE_TYPE.hostname],
];

function observablesOf(draft: Draft): Observable[] {
  const out = new Map<string, Observable>();
  const add = (name: string, type_id: number, value: unknown) => {
    if (typeof value !== "string" || value === "") return;
    out.set(`${name}\u0000${value}`, { name, type_id, value });
  };
  for (const [path, type] of OBSERVABLE_PATHS) add(path, type, get(draft, path));
  if (draft.class_uid === 4009) for (const to of draft.email.to ?? []) add("email.to", OBSERVABLE_TYPE.email, to);
  if (draft.class_uid === 2004) {
    (draft.evidences ?? []).forEach((ev, i) => {
      for (const [path, type] of EVIDENCE_PATHS) add(`evidences[${i}].${path}`, type, get(ev, path));
      for (const h of ev.file?.hashes ?? []) add(`evidences[${i}].file.hashes`, OBSERVABLE_TYPE.hash, h.value);
    });
  }
  for (const o of draft.observables ?? []) out.set(`${o.name}\u0000${o.value}`, o);
  return [...out.values()];
}

/** The primary entity: host, else user, else source IP, else the source itself. */
export function entityKeyOf(draft: Draft, source: string): string {
  const host = get(draft, "device.hostname");
  if (typeof host === "string" && host) return `host:${host.toLowerCase()}`;
  for (const p of ["user.name", "actor.user.name", "user.email_addr", "user.uid"]) {
    const u = get(draft, p);
    if (typeof u === "string" && u) return `user:${u.toLowerCase()}`;
  }
  for (const p of ["src_endpoint.ip", "device.ip"]) {
    const a = get(draft, p);
    if (typeof a === "string" && a) return `ip:${a}`;
  }
  return `source:${source}`;
}

export interface FinalizeContext {
  readonly source: string;
  readonly format: string;
  readonly receivedTime: number;
}

export type FinalizeResult =
  { readonly ok: true; readonly event: NormalizedEvent } | { readonly ok: false; readonly reason: string };

/** Completes and validates a draft. `raw` is the event as received (kept as raw_data). */
export function finalize(draft: Draft, raw: RawEvent, rawText: string, ctx: FinalizeContext): FinalizeResult {
  const cls = CLASSES[draft.class_uid];
  if (!cls) return { ok: false, reason: `class_uid ${draft.class_uid} is not one Riposte emits` };
  const identity = draft.metadata.uid ?? canonicalJson(raw.value);
  const candidate = {
    ...draft,
    ...cls,
    type_uid: draft.class_uid * 100 + draft.activity_id,
    severity: SEVERITY[draft.severity_id as keyof typeof SEVERITY] ?? "Other",
    metadata: { ...draft.metadata, version: OCSF_VERSION },
    observables: observablesOf(draft),
    raw_data: rawText,
    riposte: {
      source: ctx.source,
      format: ctx.format,
      received_time: ctx.receivedTime,
      entity_key: entityKeyOf(draft, ctx.source),
      fingerprint: stableId(ctx.format, identity),
    },
  };
  const parsed = NormalizedEvent.safeParse(candidate);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".")}: ${i.message}`);
    return { ok: false, reason: `does not fit the OCSF schema: ${issues.join("; ")}` };
  }
  return { ok: true, event: parsed.data };
}
