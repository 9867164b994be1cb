/**
 * Incident grouping, pure: an event, its decisions, a snapshot of the incidents its entities are linked to and the
 * clock in; the incidents changed and the links to write out. The correlator reads the snapshot, saves the plan in
 * one compare-and-set (another correlator may have changed one of the incidents: then it reads again and plans
 * again) and publishes every changed incident in full.
 *
 * An alert (a Detection Finding), or any event a rule decided to respond to, joins the active incident of any of
 * its entities (its primary entity, its user, its host) whose alerts are within the window of its event time. When
 * its entities are in several active incidents, they merge into the one that started first (ties: the smaller id),
 * and the others are closed as `merged` with `merged_into`. An incident's id is a hash of the alert that opened it.
 */
import {
  ACTIVE_STATUSES,
  INCIDENT_LIMITS,
  eventUid,
  severityName,
  type Decision,
  type Incident,
  type IncidentChange,
  type NormalizedEvent,
} from "../../schemas/index.ts";
import { stableId } from "../shared/ids.ts";
import { valueAt } from "../shared/template.ts";

/** Where a user and a host are named, as the normalizers write them (the same paths as the primary entity). */
const USER_PATHS = [
  "user.name",
  "actor.user.name",
  "user.email_addr",
  "actor.user.email_addr",
  "user.uid",
  "actor.user.uid",
];
const HOST_PATHS = ["device.hostname"];
/** How many ids an opening alert can give its incidents (a closed incident's alert re-sent opens the next one). */
export const OPENING_IDS = 4;
/** At most this many merged_into hops are followed when reading. */
export const MAX_HOPS = 4;

export interface IncidentContext {
  /** How far apart in event time an alert and an incident's alerts may be and still group (RIPOSTE_INCIDENT_WINDOW). */
  readonly windowMs: number;
  /** How long an incident is kept after its last alert, in event time (RIPOSTE_INCIDENT_RETENTION). */
  readonly retentionMs: number;
  /** Wall-clock time of the change. */
  readonly now: number;
}

/** The state the plan reads: each entity's last incident, and the incidents (followed through merges). */
export interface IncidentSnapshot {
  readonly links: ReadonlyMap<string, string>;
  readonly docs: ReadonlyMap<string, Incident>;
}

export interface IncidentPlan {
  /**
   * The incidents changed, each at its new version: saved together (compare-and-set), then published. Empty when
   * the event changes nothing (a redelivered alert already counted): then `unchanged` is published again as it is,
   * in case the first delivery saved it but stopped before publishing.
   */
  readonly changed: Incident[];
  readonly unchanged?: Incident;
  readonly links: Array<{ entity: string; id: string }>;
  readonly linkTime: number;
  readonly retainAfter: number;
  readonly linkAfter: number;
}

const firstString = (event: NormalizedEvent, paths: readonly string[]): string | undefined => {
  for (const p of paths) {
    const v = valueAt(event, p);
    if (typeof v === "string" && v.trim() !== "") return v.trim();
  }
  return undefined;
};

/**
 * The entities an event names: its primary entity, its user and its host (lower-cased as entity keys are). An
 * event keyed by its source names no entity of its own, so it groups with nothing.
 */
export function incidentEntities(event: NormalizedEvent): string[] {
  const user = firstString(event, USER_PATHS);
  const host = firstString(event, HOST_PATHS);
  const keys = [
    event.riposte.entity_key,
    ...(user ? [`user:${user.toLowerCase()}`] : []),
    ...(host ? [`host:${host.toLowerCase()}`] : []),
  ];
  return [...new Set(keys)].filter((k) => !k.startsWith("source:"));
}

/** Whether an event belongs in an incident: an alert, or an event a rule responded to; never a duplicate. */
export function joinsIncident(event: NormalizedEvent, decisions: readonly Decision[]): boolean {
  if (decisions.some((d) => d.outcome === "duplicate")) return false;
  return event.class_uid === 2004 || decisions.some((d) => d.outcome === "respond");
}

/** The ids an incident opened by this alert may take, in order: the first not taken is used. */
export function openingIds(event: NormalizedEvent): string[] {
  const uid = eventUid(event);
  return Array.from({ length: OPENING_IDS }, (_, k) =>
    k === 0 ? stableId("incident", uid) : stableId("incident", uid, k),
  );
}

/** Incident ids the snapshot points to (through merged_into) but does not hold. */
export function missingIncidents(docs: ReadonlyMap<string, Incident>): string[] {
  const out = new Set<string>();
  for (const d of docs.values()) if (d.merged_into !== undefined && !docs.has(d.merged_into)) out.add(d.merged_into);
  return [...out];
}

/** The incident `id` stands for now: itself, or the incident it was merged into. */
function resolve(id: string, docs: ReadonlyMap<string, Incident>): Incident | undefined {
  let doc = docs.get(id);
  for (let hop = 0; hop < MAX_HOPS && doc?.merged_into !== undefined; hop++) doc = docs.get(doc.merged_into);
  return doc?.status === "merged" ? undefined : doc;
}

const byStart = (a: Incident, b: Incident) => a.first_seen - b.first_seen || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const severityRank = (id: number) => (id === 99 ? 0 : id);
const capped = <T>(list: readonly T[], cap: number) => list.slice(0, cap);
const newest = <T>(list: readonly T[], cap: number) => list.slice(Math.max(0, list.length - cap));

/** The union of two capped lists, with the total count estimated from both counts minus the overlap of the lists. */
function union(a: readonly string[], aCount: number, b: readonly string[], bCount: number, cap: number) {
  const seen = new Set(a);
  const added = b.filter((x) => !seen.has(x));
  return { list: capped([...a, ...added], cap), count: aCount + bCount - (b.length - added.length) };
}

/** The score an event gives its incident: its decisions' rule scores, its entity's risk, its severity × 10. */
function eventScore(event: NormalizedEvent, decisions: readonly Decision[]): number {
  const scores = decisions.flatMap((d) => [d.outcome === "respond" ? (d.score ?? 0) : 0, d.risk?.score ?? 0]);
  return Math.min(100, Math.max(severityRank(event.severity_id) * 10, ...scores));
}

function opened(event: NormalizedEvent, id: string, now: number): Incident {
  return {
    id,
    status: "open",
    entities: [],
    entity_count: 0,
    alert_ids: [],
    alert_count: 0,
    decisions: [],
    decision_count: 0,
    score: 0,
    severity_id: 0,
    severity: severityName(0),
    assignee: null,
    notes: [],
    history: [],
    first_seen: event.time,
    last_seen: event.time,
    updated: now,
    merged_from: [],
    version: 0,
  };
}

/** `into` with `other` folded in (both active incidents). */
function absorb(into: Incident, other: Incident, now: number): Incident {
  const entities = union(
    into.entities,
    into.entity_count,
    other.entities,
    other.entity_count,
    INCIDENT_LIMITS.entities,
  );
  const alerts = union(into.alert_ids, into.alert_count, other.alert_ids, other.alert_count, INCIDENT_LIMITS.alertIds);
  const known = new Set(into.decisions.map((d) => d.id));
  const added = other.decisions.filter((d) => !known.has(d.id));
  const change: IncidentChange = { time: now, by: "correlator", field: "merged", from: other.id, to: into.id };
  const severityId =
    severityRank(other.severity_id) > severityRank(into.severity_id) ? other.severity_id : into.severity_id;
  return {
    ...into,
    entities: entities.list,
    entity_count: entities.count,
    alert_ids: alerts.list,
    alert_count: alerts.count,
    decisions: capped([...into.decisions, ...added], INCIDENT_LIMITS.decisions),
    decision_count: into.decision_count + other.decision_count - (other.decisions.length - added.length),
    score: Math.max(into.score, other.score),
    severity_id: severityId,
    severity: severityName(severityId),
    assignee: into.assignee ?? other.assignee,
    notes: newest(
      [...into.notes, ...other.notes].sort((a, b) => a.time - b.time),
      INCIDENT_LIMITS.notes,
    ),
    history: newest(
      [...into.history, ...other.history, change].sort((a, b) => a.time - b.time),
      INCIDENT_LIMITS.history,
    ),
    first_seen: Math.min(into.first_seen, other.first_seen),
    last_seen: Math.max(into.last_seen, other.last_seen),
    merged_from: capped([...into.merged_from, other.id, ...other.merged_from], INCIDENT_LIMITS.mergedFrom),
  };
}

/** `inc` with the event and its decisions added; `same` when nothing changed (a redelivery). */
function addEvent(
  inc: Incident,
  event: NormalizedEvent,
  decisions: readonly Decision[],
  entities: readonly string[],
  linkedHere: (entity: string) => boolean,
): { incident: Incident; same: boolean } {
  const uid = eventUid(event);
  const knownAlert = inc.alert_ids.includes(uid);
  const newEntities = entities.filter((e) => !inc.entities.includes(e) && !linkedHere(e));
  const knownDecisions = new Set(inc.decisions.map((d) => d.id));
  const newDecisions = decisions
    .filter((d) => d.outcome === "respond" && d.rule !== undefined && !knownDecisions.has(d.id))
    .map((d) => ({
      id: d.id,
      rule: d.rule?.id ?? "",
      ...(d.playbook !== undefined ? { playbook: d.playbook } : {}),
      alert_uid: uid,
      time: d.time,
    }));
  const severityId =
    severityRank(event.severity_id) > severityRank(inc.severity_id) ? event.severity_id : inc.severity_id;
  const next: Incident = {
    ...inc,
    entities: capped([...inc.entities, ...entities.filter((e) => !inc.entities.includes(e))], INCIDENT_LIMITS.entities),
    entity_count: inc.entity_count + newEntities.length,
    alert_ids: knownAlert ? inc.alert_ids : capped([...inc.alert_ids, uid], INCIDENT_LIMITS.alertIds),
    alert_count: inc.alert_count + (knownAlert ? 0 : 1),
    decisions: capped([...inc.decisions, ...newDecisions], INCIDENT_LIMITS.decisions),
    decision_count: inc.decision_count + newDecisions.length,
    score: Math.max(inc.score, eventScore(event, decisions)),
    severity_id: severityId,
    severity: severityName(severityId),
    first_seen: Math.min(inc.first_seen, event.time),
    last_seen: Math.max(inc.last_seen, event.time),
  };
  const same =
    knownAlert &&
    newEntities.length === 0 &&
    newDecisions.length === 0 &&
    next.score === inc.score &&
    next.severity_id === inc.severity_id &&
    next.first_seen === inc.first_seen &&
    next.last_seen === inc.last_seen &&
    next.entities.length === inc.entities.length;
  return { incident: next, same };
}

/** Plans the incident change of one event; undefined when the event joins no incident. */
export function planIncident(
  event: NormalizedEvent,
  decisions: readonly Decision[],
  snapshot: IncidentSnapshot,
  ctx: IncidentContext,
): IncidentPlan | undefined {
  if (!joinsIncident(event, decisions)) return undefined;
  const entities = incidentEntities(event);
  if (entities.length === 0) return undefined;
  const t = event.time;
  const found = new Map<string, Incident>();
  for (const e of entities) {
    const id = snapshot.links.get(e);
    const inc = id === undefined ? undefined : resolve(id, snapshot.docs);
    if (
      inc &&
      ACTIVE_STATUSES.has(inc.status) &&
      t <= inc.last_seen + ctx.windowMs &&
      t >= inc.first_seen - ctx.windowMs
    )
      found.set(inc.id, inc);
  }
  const candidates = [...found.values()].sort(byStart);
  const changed: Incident[] = [];
  let kept: Incident;
  const first = candidates[0];
  if (first) {
    kept = first;
    for (const other of candidates.slice(1)) {
      kept = absorb(kept, other, ctx.now);
      changed.push({
        ...other,
        status: "merged",
        merged_into: first.id,
        history: newest(
          [...other.history, { time: ctx.now, by: "correlator", field: "merged", from: other.id, to: first.id }],
          INCIDENT_LIMITS.history,
        ),
        updated: ctx.now,
        version: other.version + 1,
      });
    }
  } else {
    const ids = openingIds(event);
    const id = ids.find((i) => !snapshot.docs.has(i)) ?? stableId("incident", eventUid(event), t, ctx.now);
    kept = opened(event, id, ctx.now);
  }
  const keptId = kept.id;
  const linkedHere = (e: string) => {
    const id = snapshot.links.get(e);
    return id !== undefined && resolve(id, snapshot.docs)?.id === keptId;
  };
  const { incident, same } = addEvent(kept, event, decisions, entities, linkedHere);
  if (same && changed.length === 0)
    return { changed: [], unchanged: kept, links: [], linkTime: kept.last_seen, retainAfter: 0, linkAfter: 0 };
  const saved: Incident = { ...incident, updated: ctx.now, version: incident.version + 1 };
  const merged = changed.flatMap((m) => m.entities);
  const links = [...new Set([...entities, ...merged])].map((entity) => ({ entity, id: saved.id }));
  return {
    changed: [saved, ...changed],
    links,
    linkTime: saved.last_seen,
    retainAfter: saved.last_seen - ctx.retentionMs,
    linkAfter: saved.last_seen - 2 * ctx.windowMs,
  };
}
