/** Completes a normalizer's draft into a valid OCSF event with Riposte's fields, or explains why it is not one. */
import { NormalizedEvent, OBSERVABLE_TYPE, OCSF_VERSION, SEVERITY, type Observable } from "../../../schemas/index.ts";
import { safeParse } from "../../../schemas/fast-parse.ts";
import { canonicalJson, stableId } from "../../shared/ids.ts";
import type { Draft, RawEvent } from "./types.ts";
import { getAt, pathOf, time as readTime } from "./util.ts";

const CLASSES: Record<number, { class_name: string; category_uid: number; category_name: string }> = {
  2004: { class_name: "Detection Finding", category_uid: 2, category_name: "Findings" },
  3002: { class_name: "Authentication", category_uid: 3, category_name: "Identity & Access Management" },
  4009: { class_name: "Email Activity", category_uid: 4, category_name: "Network Activity" },
  0: { class_name: "Base Event", category_uid: 0, category_name: "Uncategorized" },
  3001: { class_name: "Account Change", category_uid: 3, category_name: "Identity & Access Management" },
  3004: { class_name: "Entity Management", category_uid: 3, category_name: "Identity & Access Management" },
  3005: { class_name: "User Access Management", category_uid: 3, category_name: "Identity & Access Management" },
  3006: { class_name: "Group Management", category_uid: 3, category_name: "Identity & Access Management" },
  6003: { class_name: "API Activity", category_uid: 6, category_name: "Application Activity" },
  4001: { class_name: "Network Activity", category_uid: 4, category_name: "Network Activity" },
  4002: { class_name: "HTTP Activity", category_uid: 4, category_name: "Network Activity" },
  4003: { class_name: "DNS Activity", category_uid: 4, category_name: "Network Activity" },
  4007: { class_name: "SSH Activity", category_uid: 4, category_name: "Network Activity" },
  4010: { class_name: "Network File Activity", category_uid: 4, category_name: "Network Activity" },
};

/** A path's name (the observable's `name`), its parts split once, and the observable type. */
type ObservablePath = readonly [string, readonly string[], number];
const split = (paths: ReadonlyArray<readonly [string, number]>): readonly ObservablePath[] =>
  paths.map(([path, type]) => [path, pathOf(path), type] as const);

/** Where observables come from: path in the event → observable type. */
const OBSERVABLE_PATHS: readonly ObservablePath[] = split([
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
]);

const EVIDENCE_PATHS: readonly ObservablePath[] = split([
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
]);

/** What makes an observable: a non-empty string. */
const isValue = (v: unknown): v is string => typeof v === "string" && v !== "";

function observablesOf(draft: Draft): Observable[] {
  const out = new Map<string, Observable>();
  // Names are built only for values that make an observable: most evidence paths are absent.
  const add = (name: string, type_id: number, value: string) => {
    out.set(`${name}\u0000${value}`, { name, type_id, value });
  };
  for (const [path, parts, type] of OBSERVABLE_PATHS) {
    const v = getAt(draft, parts);
    if (isValue(v)) add(path, type, v);
  }
  if (draft.class_uid === 4009)
    for (const to of draft.email.to ?? []) if (isValue(to)) add("email.to", OBSERVABLE_TYPE.email, to);
  if (draft.class_uid === 2004) {
    (draft.evidences ?? []).forEach((ev, i) => {
      for (const [path, parts, type] of EVIDENCE_PATHS) {
        const v = getAt(ev, parts);
        if (isValue(v)) add(`evidences[${i}].${path}`, type, v);
      }
      for (const h of ev.file?.hashes ?? [])
        if (isValue(h.value)) add(`evidences[${i}].file.hashes`, OBSERVABLE_TYPE.hash, h.value);
    });
  }
  if (draft.class_uid === 2004)
    (draft.resources ?? []).forEach((r, i) => {
      if (isValue(r.uid)) add(`resources[${i}].uid`, OBSERVABLE_TYPE.resource_uid, r.uid);
    });
  for (const o of draft.observables ?? []) out.set(`${o.name}\u0000${o.value}`, o);
  return [...out.values()];
}

const USER_PATHS = ["user.name", "actor.user.name", "user.email_addr", "user.uid", "actor.user.uid"].map(pathOf);
const HOST_PATHS = [pathOf("device.hostname")];
const ADDRESS_PATHS = ["src_endpoint.ip", "device.ip"].map(pathOf);

/** Classes of activity (not alerts) whose subject is the affected account: their key is the user before the host. */
const ACTIVITY_CLASSES = new Set([0, 3001, 3004, 3005, 3006, 6003]);

const firstString = (draft: Draft, paths: ReadonlyArray<readonly string[]>): string | undefined => {
  for (const p of paths) {
    const v = getAt(draft, p);
    if (typeof v === "string" && v) return v;
  }
  return undefined;
};

/** The resource an event acted on: a finding's or activity's resources, the managed entity, the group. */
function resourceKey(draft: Draft): string | undefined {
  const resources = "resources" in draft ? (draft.resources ?? []) : [];
  const fromList = resources.find((r) => r.uid)?.uid;
  if (fromList) return fromList;
  if (draft.class_uid === 3004) return draft.entity.uid ?? draft.entity.name;
  if (draft.class_uid === 3006) return draft.group.uid ?? draft.group.name;
  return resources.find((r) => r.name)?.name;
}

/**
 * The primary entity. Alerts, sign-ins and network events: host, else user (a cloud principal is a user: name, else
 * ARN or access key id), else source IP, else the affected cloud resource. Account, access, group, entity and API
 * activity (and Base Events): the affected user, else the actor, else the host, else source IP, else the resource.
 * Else the source itself.
 */
export function entityKeyOf(draft: Draft, source: string): string {
  const host = firstString(draft, HOST_PATHS);
  const user = firstString(draft, USER_PATHS);
  const address = firstString(draft, ADDRESS_PATHS);
  const resource = resourceKey(draft);
  const order = ACTIVITY_CLASSES.has(draft.class_uid)
    ? [user && `user:${user.toLowerCase()}`, host && `host:${host.toLowerCase()}`]
    : [host && `host:${host.toLowerCase()}`, user && `user:${user.toLowerCase()}`];
  return (
    order.find((k) => k) ?? (address && `ip:${address}`) ?? (resource && `resource:${resource}`) ?? `source:${source}`
  );
}

/** A draft's `time` when its event carries no time Riposte can read: finalize puts the received time there. */
export const NO_TIME = Number.NaN;

/** The `metadata.labels` entry of an event whose `time` is the received time, not its own. */
export const TIME_FALLBACK_LABEL = "riposte:time_fallback";

/** Latest time accepted as an event's own (year 9999); later readings are unit mistakes, not times. */
const MAX_TIME = 253_402_300_799_999;

/**
 * An event's own time for a draft: epoch ms of the first candidate that reads as a time after the epoch
 * (ISO-8601, epoch seconds or milliseconds), else NO_TIME. An absent, redacted ("redacted", "***") or unparseable
 * time never fails an event: finalize falls back to the received time and marks the event.
 */
export function eventTime(...candidates: unknown[]): number {
  for (const c of candidates) {
    const t = readTime(c);
    if (t !== undefined && t > 0 && t <= MAX_TIME) return t;
  }
  return NO_TIME;
}

const isTime = (t: unknown): t is number => typeof t === "number" && Number.isFinite(t);

const FINDING_TIMES = ["created_time", "first_seen_time", "last_seen_time"] as const;

/** finding_info without the times a normalizer could not read (NO_TIME); the object itself when it has none. */
function knownTimes<T extends object>(o: T): T {
  const rec = o as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const k of FINDING_TIMES)
    if (k in rec && !isTime(rec[k])) {
      out ??= { ...rec };
      delete out[k];
    }
  return (out ?? o) as T;
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
  const timeFallback = !isTime(draft.time);
  const candidate = {
    ...draft,
    ...cls,
    ...(draft.class_uid === 2004 ? { finding_info: knownTimes(draft.finding_info) } : {}),
    time: timeFallback ? ctx.receivedTime : draft.time,
    type_uid: draft.class_uid * 100 + draft.activity_id,
    severity: SEVERITY[draft.severity_id as keyof typeof SEVERITY] ?? "Other",
    metadata: {
      ...draft.metadata,
      version: OCSF_VERSION,
      ...(timeFallback
        ? { processed_time: ctx.receivedTime, labels: [...(draft.metadata.labels ?? []), TIME_FALLBACK_LABEL] }
        : {}),
    },
    observables: observablesOf(draft),
    raw_data: rawText,
    riposte: {
      source: ctx.source,
      format: ctx.format,
      received_time: ctx.receivedTime,
      entity_key: entityKeyOf(draft, ctx.source),
      fingerprint: stableId(ctx.format, identity),
      ...(timeFallback ? { time_fallback: true as const } : {}),
    },
  };
  const parsed = safeParse(NormalizedEvent, candidate);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".")}: ${i.message}`);
    return { ok: false, reason: `does not fit the OCSF schema: ${issues.join("; ")}` };
  }
  return { ok: true, event: parsed.data };
}
