/**
 * The incidents API: `GET /v1/incidents` (filters, pages), `GET /v1/incidents/{id}`, `PATCH /v1/incidents/{id}` and
 * `GET /v1/incidents/{id}/timeline`. Incidents are read from shared state (what the correlator saves), so the API
 * service answers alone as well as in the embedded `run all`; a change is saved with the same compare-and-set as the
 * correlator's and published in full to `<prefix>.incidents`.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { FastifyInstance, FastifyReply } from "fastify";
import { Incident, INCIDENT_LIMITS, type IncidentChange } from "../../schemas/index.ts";
import { RiposteError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { incidentKeys, type StateStore } from "../shared/state/index.ts";
import { IncidentPatch, IncidentQuery } from "./incident-schemas.ts";
import type { TrailStore } from "./trail.ts";
import { principalOf } from "./principal.ts";

/** Incidents read per state round trip while listing, and at most per request (a page may come back short). */
const SCAN_PAGE = 100;
const SCAN_MAX = 2_000;
const SAVE_ATTEMPTS = 5;

export type IncidentFilter = Omit<IncidentQuery, "since"> & { readonly since?: number | undefined };
type IncidentQuery = ReturnType<typeof IncidentQuery.parse>;

/** The incident store as the API sees it. */
export class StateIncidents {
  private readonly state: StateStore;
  private readonly keys: ReturnType<typeof incidentKeys>;
  private readonly publish: ((incident: Incident) => Promise<void>) | undefined;
  private readonly now: () => number;
  private readonly retentionMs: number;

  constructor(opts: {
    state: StateStore;
    prefix: string;
    /** RIPOSTE_INCIDENT_RETENTION: a save refreshes the store's expiry by this much, as the correlator's do. */
    retentionMs: number;
    /** Publishes a changed incident to `<prefix>.incidents` (where this process can publish). */
    publish?: (incident: Incident) => Promise<void>;
    now?: () => number;
  }) {
    this.state = opts.state;
    this.keys = incidentKeys(opts.prefix);
    this.publish = opts.publish;
    this.now = opts.now ?? Date.now;
    this.retentionMs = opts.retentionMs;
  }

  async get(id: string): Promise<Incident | undefined> {
    const [doc] = await this.state.incidentRead(this.keys, [id]);
    return doc === undefined ? undefined : Incident.parse(JSON.parse(doc));
  }

  /** A page of incidents matching `filter`, latest activity first, and the cursor of the next page. */
  async list(filter: IncidentFilter): Promise<{ incidents: Incident[]; next_cursor?: string }> {
    let after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
    const out: Incident[] = [];
    let scanned = 0;
    while (scanned < SCAN_MAX) {
      const page = await this.state.incidentScan(this.keys, after, SCAN_PAGE);
      const docs = await this.state.incidentRead(
        this.keys,
        page.map((p) => p.id),
      );
      for (const [i, entry] of page.entries()) {
        // The index is ordered by last_seen: nothing further down is recent enough.
        if (filter.since !== undefined && entry.score < filter.since) return { incidents: out };
        after = entry;
        scanned++;
        const doc = docs[i];
        if (doc === undefined) continue;
        const incident = Incident.parse(JSON.parse(doc));
        if (matches(incident, filter)) out.push(incident);
        if (out.length >= filter.limit) return { incidents: out, next_cursor: encodeCursor(entry) };
      }
      if (page.length < SCAN_PAGE) return { incidents: out };
    }
    return { incidents: out, ...(after ? { next_cursor: encodeCursor(after) } : {}) };
  }

  /** Applies an analyst's change, made by `by` (a token's name); undefined when there is no such incident. */
  async update(id: string, patch: IncidentPatch, by = "api"): Promise<Incident | undefined> {
    for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
      const current = await this.get(id);
      if (!current) return undefined;
      if (current.status === "merged" && (patch.status !== undefined || patch.assignee !== undefined))
        throw new RiposteError(
          "RIPOSTE_INCIDENT_MERGED",
          `incident ${id} was merged into ${current.merged_into ?? "another"}: change that one`,
        );
      const time = this.now();
      const changes: IncidentChange[] = [];
      if (patch.status !== undefined && patch.status !== current.status)
        changes.push({ time, by, field: "status", from: current.status, to: patch.status });
      if (patch.assignee !== undefined && patch.assignee !== current.assignee)
        changes.push({ time, by, field: "assignee", from: current.assignee, to: patch.assignee });
      if (changes.length === 0 && patch.note === undefined) return current;
      const next: Incident = {
        ...current,
        status: patch.status ?? current.status,
        assignee: patch.assignee === undefined ? current.assignee : patch.assignee,
        notes: [...current.notes, ...(patch.note ? [{ time, by, text: patch.note }] : [])].slice(
          -INCIDENT_LIMITS.notes,
        ),
        history: [...current.history, ...changes].slice(-INCIDENT_LIMITS.history),
        updated: time,
        version: current.version + 1,
      };
      const result = await this.state.incidentSave(this.keys, {
        writes: [{ id, doc: JSON.stringify(next), version: next.version, lastSeen: next.last_seen }],
        links: [],
        linkTime: next.last_seen,
        retainAfter: 0,
        linkAfter: 0,
        ttlMs: this.retentionMs,
      });
      if (result.saved) {
        await this.publish?.(next);
        return next;
      }
    }
    throw new RiposteError(
      "RIPOSTE_STATE_UNAVAILABLE",
      `incident ${id} kept changing while it was being updated (${SAVE_ATTEMPTS} tries): retry`,
    );
  }
}

const CURSOR = /^[\w-]{1,200}$/;

function encodeCursor(at: { score: number; id: string }): string {
  return Buffer.from(JSON.stringify([at.score, at.id])).toString("base64url");
}

function decodeCursor(cursor: string): { score: number; id: string } {
  const bad = () => new RiposteError("RIPOSTE_QUERY_INVALID", "cursor is not a next_cursor this API gave");
  if (!CURSOR.test(cursor)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== "number" || !Number.isFinite(v[0])) throw bad();
  if (typeof v[1] !== "string" || v[1].length > 128) throw bad();
  return { score: v[0], id: v[1] };
}

const CASE_INSENSITIVE = new Set(["host", "user", "email", "domain", "hash"]);

/** An entity filter as the entity keys are written: `type:value`, the value lower-cased for names. */
function entityWanted(entity: string): (key: string) => boolean {
  const i = entity.indexOf(":");
  if (i > 0) {
    const type = entity.slice(0, i).toLowerCase();
    const value = entity.slice(i + 1);
    const wanted = `${type}:${CASE_INSENSITIVE.has(type) ? value.toLowerCase() : value}`;
    return (key) => key === wanted;
  }
  const value = entity.toLowerCase();
  return (key) => key.slice(key.indexOf(":") + 1).toLowerCase() === value;
}

function matches(incident: Incident, filter: IncidentFilter): boolean {
  if (filter.status !== undefined && incident.status !== filter.status) return false;
  if (filter.min_score !== undefined && incident.score < filter.min_score) return false;
  if (filter.since !== undefined && incident.last_seen < filter.since) return false;
  if (filter.entity !== undefined && !incident.entities.some(entityWanted(filter.entity))) return false;
  return true;
}

type TimelineEntry = { time: number; kind: string } & Record<string, unknown>;

/** An incident's story in time order: from the incident itself, and from its alerts' trails when they are kept. */
export async function incidentTimeline(incident: Incident, trail: TrailStore | undefined) {
  const entries: TimelineEntry[] = [];
  for (const d of incident.decisions)
    entries.push({
      time: d.time,
      kind: "decision",
      decision_id: d.id,
      rule: d.rule,
      alert_uid: d.alert_uid,
      ...(d.playbook ? { playbook: d.playbook } : {}),
    });
  for (const h of incident.history) entries.push({ time: h.time, kind: h.field, by: h.by, from: h.from, to: h.to });
  for (const n of incident.notes) entries.push({ time: n.time, kind: "note", by: n.by, text: n.text });
  let traced = 0;
  if (trail) {
    const trails = await Promise.all(incident.alert_ids.map(async (id) => [id, await trail.read(id)] as const));
    for (const [alertUid, list] of trails) {
      if (list.length > 0) traced++;
      for (const e of list) {
        if (e.stage === "received")
          entries.push({
            time: e.time,
            kind: "alert",
            alert_uid: alertUid,
            title: e.title,
            source: e.source,
            format: e.format,
            severity_id: e.severity_id,
            entity_key: e.entity_key,
          });
        else if (e.stage === "action")
          entries.push({
            time: e.time,
            kind: "action",
            alert_uid: alertUid,
            decision_id: e.decision_id,
            playbook: e.playbook,
            step: e.step,
            connector: e.connector,
            action: e.action,
            status: e.status,
            ...(e.error ? { error: e.error } : {}),
          });
      }
    }
  }
  entries.sort((a, b) => a.time - b.time);
  return { incident_id: incident.id, entries, alerts_untracked: incident.alert_count - traced };
}

function sendNotFound(reply: FastifyReply, id: string): FastifyReply {
  return reply.code(404).send({
    error: {
      code: "RIPOSTE_NOT_FOUND",
      message: `no incident ${JSON.stringify(id.slice(0, 64))}: unknown, or older than RIPOSTE_INCIDENT_RETENTION`,
    },
  });
}

const issues = (e: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }, what: string) =>
  e.issues.map((i) => `${i.path.map(String).join(".") || what}: ${i.message}`).join("; ");

const checkId = (id: string) => {
  if (id.length === 0 || id.length > 128)
    throw new RiposteError("RIPOSTE_QUERY_INVALID", "an incident id is 1-128 characters");
};

/** Registers the incident routes on the API (authenticated by the API's onRequest hook like every /v1 route). */
export function incidentRoutes(
  app: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>,
  opts: { incidents: StateIncidents; trail?: TrailStore | undefined; log: Logger },
): void {
  const { incidents } = opts;
  app.get("/v1/incidents", async (req) => {
    const q = IncidentQuery.safeParse(req.query ?? {});
    if (!q.success) throw new RiposteError("RIPOSTE_QUERY_INVALID", issues(q.error, "query"));
    const { since, ...rest } = q.data;
    return incidents.list({ ...rest, since: since === undefined ? undefined : Date.parse(since) });
  });
  app.get<{ Params: { id: string } }>("/v1/incidents/:id", async (req, reply) => {
    checkId(req.params.id);
    return (await incidents.get(req.params.id)) ?? sendNotFound(reply, req.params.id);
  });
  app.get<{ Params: { id: string } }>("/v1/incidents/:id/timeline", async (req, reply) => {
    checkId(req.params.id);
    const incident = await incidents.get(req.params.id);
    if (!incident) return sendNotFound(reply, req.params.id);
    return incidentTimeline(incident, opts.trail);
  });
  app.patch<{ Params: { id: string }; Body: Buffer }>("/v1/incidents/:id", async (req, reply) => {
    checkId(req.params.id);
    const usage =
      'expected a JSON object {"status"?, "assignee"?: string|null, "note"?: string} (who is the token\'s name)';
    let body: unknown;
    try {
      body = JSON.parse(Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "");
    } catch {
      throw new RiposteError("RIPOSTE_BODY_INVALID", `${usage}: the body is not JSON`);
    }
    const patch = IncidentPatch.safeParse(body);
    if (!patch.success) throw new RiposteError("RIPOSTE_BODY_INVALID", `${usage}: ${issues(patch.error, "body")}`);
    const by = principalOf(req)?.name ?? "api";
    const updated = await incidents.update(req.params.id, patch.data, by);
    if (!updated) return sendNotFound(reply, req.params.id);
    // Audited on <prefix>.audit by the API's hook; the log line stays for operators reading logs.
    opts.log.warn(
      {
        audit: "incident.update",
        incident: updated.id,
        version: updated.version,
        by,
        status: patch.data.status,
        assignee: patch.data.assignee,
        note: patch.data.note !== undefined,
      },
      "incident updated through the API",
    );
    return updated;
  });
}
