/**
 * Each alert's story for `GET /v1/alerts/{id}/trail`: what ingest made of it, what the correlator decided, what the
 * executor did. The API service indexes the normalized, decisions and actions topics (its own consumer group) into
 * compact entries per alert id, kept for a retention (RIPOSTE_TRAIL_RETENTION, default 7 days) and bounded: at most
 * MAX_ENTRIES per alert, entries of bounded size, and in memory at most `maxAlerts` alerts (oldest first out).
 * Nothing in the services that do the work changes for it, and a slow index never slows them.
 */
import { eventTitle, eventUid, type NormalizedEvent } from "../../schemas/index.ts";
import type { InMessage } from "../shared/bus/index.ts";
import type { TopicNames } from "../shared/config.ts";
import { RiposteError, messageOf } from "../shared/errors.ts";
import { connectRedis, type RedisClient, type RedisTarget } from "../shared/state/connect.ts";

/** At most this many entries per alert (a re-sent alert's duplicates, a playbook's steps); the newest are kept. */
export const MAX_ENTRIES = 200;
const MAX_TEXT = 300;

export type TrailEntry =
  | {
      readonly stage: "received";
      readonly time: number;
      readonly source: string;
      readonly format: string;
      readonly class_uid: number;
      readonly class_name: string;
      readonly title: string;
      readonly entity_key: string;
      readonly fingerprint: string;
      readonly severity_id: number;
      readonly trace_id?: string;
    }
  | {
      readonly stage: "decision";
      readonly time: number;
      readonly decision_id: string;
      readonly outcome: string;
      readonly rule?: { id: string; version: number; hash: string };
      readonly playbook?: string;
      readonly target?: { type: string; value: string };
      readonly score?: number;
      readonly reason?: string;
      readonly trace_id?: string;
    }
  | {
      readonly stage: "action";
      readonly time: number;
      readonly action_id: string;
      readonly decision_id: string;
      readonly playbook: string;
      readonly step: string;
      readonly connector: string;
      readonly action: string;
      readonly status: string;
      readonly attempts: number;
      readonly latency_ms: number;
      readonly error?: string;
      readonly trace_id?: string;
    };

export interface TrailStore {
  /** Appends entries, each under its alert id. */
  append(entries: ReadonlyArray<{ alertId: string; entry: TrailEntry }>): Promise<void>;
  /** The alert's entries, oldest first; empty when unknown or expired. */
  read(alertId: string): Promise<TrailEntry[]>;
  close(): Promise<void>;
}

/** In-process trail for the embedded mode: bounded by alerts and entries, expired by retention. */
export class MemoryTrailStore implements TrailStore {
  private readonly alerts = new Map<string, { until: number; entries: TrailEntry[] }>();
  private readonly retentionMs: number;
  private readonly maxAlerts: number;
  private readonly now: () => number;
  constructor(retentionMs: number, maxAlerts = 100_000, now: () => number = Date.now) {
    this.retentionMs = retentionMs;
    this.maxAlerts = maxAlerts;
    this.now = now;
  }

  async append(entries: ReadonlyArray<{ alertId: string; entry: TrailEntry }>): Promise<void> {
    const until = this.now() + this.retentionMs;
    for (const { alertId, entry } of entries) {
      const known = this.alerts.get(alertId);
      const trail = known && known.until > this.now() ? known : { until, entries: [] as TrailEntry[] };
      // Re-inserted at the end: the map's order is least recently written first, which is what leaves first.
      this.alerts.delete(alertId);
      trail.until = until;
      trail.entries.push(entry);
      if (trail.entries.length > MAX_ENTRIES) trail.entries.splice(0, trail.entries.length - MAX_ENTRIES);
      this.alerts.set(alertId, trail);
    }
    while (this.alerts.size > this.maxAlerts) {
      const oldest = this.alerts.keys().next().value;
      if (oldest === undefined) break;
      this.alerts.delete(oldest);
    }
  }

  async read(alertId: string): Promise<TrailEntry[]> {
    const t = this.alerts.get(alertId);
    return t && t.until > this.now() ? [...t.entries] : [];
  }

  get size(): number {
    return this.alerts.size;
  }

  async close(): Promise<void> {
    this.alerts.clear();
  }
}

/**
 * Redis trail: one list per alert (`<prefix>:{trail:<id>}`, its own hash tag), RPUSH + LTRIM + PEXPIRE in one
 * pipeline per batch, so each alert's trail expires on its own and never grows past MAX_ENTRIES.
 */
export class RedisTrailStore implements TrailStore {
  private readonly redis: RedisClient;
  private readonly cluster: boolean;
  private readonly prefix: string;
  private readonly retentionMs: number;
  constructor(target: string | RedisTarget, prefix: string, retentionMs: number) {
    this.prefix = prefix;
    this.retentionMs = retentionMs;
    const where = typeof target === "string" ? { url: target } : target;
    this.cluster = where.cluster === true;
    this.redis = connectRedis(where, { maxRetriesPerRequest: 2 });
    this.redis.on("error", () => undefined);
  }

  private key(alertId: string): string {
    return `${this.prefix}:{trail:${alertId}}`;
  }

  async append(entries: ReadonlyArray<{ alertId: string; entry: TrailEntry }>): Promise<void> {
    if (entries.length === 0) return;
    // One pipeline for the batch; on a cluster one per alert (a pipeline's keys must share a slot), sent together.
    const groups = this.cluster ? entries.map((e) => [e]) : [entries];
    const send = async (group: typeof entries) => {
      const p = this.redis.pipeline();
      for (const { alertId, entry } of group) {
        const k = this.key(alertId);
        p.rpush(k, JSON.stringify(entry));
        p.ltrim(k, -MAX_ENTRIES, -1);
        p.pexpire(k, this.retentionMs);
      }
      const results = (await p.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
    };
    try {
      await Promise.all(groups.map(send));
    } catch (e) {
      throw new RiposteError(
        "RIPOSTE_STATE_UNAVAILABLE",
        `trail index: Redis did not take the entries: ${messageOf(e)}`,
      );
    }
  }

  async read(alertId: string): Promise<TrailEntry[]> {
    try {
      return (await this.redis.lrange(this.key(alertId), 0, -1)).map((s) => JSON.parse(s) as TrailEntry);
    } catch (e) {
      throw new RiposteError("RIPOSTE_STATE_UNAVAILABLE", `trail: Redis cannot be read: ${messageOf(e)}`);
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

const clip = (s: string | undefined) =>
  s === undefined ? undefined : s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;
/** Alert ids come from vendors: bounded before they become keys. */
const idOk = (id: unknown): id is string => typeof id === "string" && id.length > 0 && id.length <= 512;
const traceIdFrom = (headers: Readonly<Record<string, string>>) =>
  /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(headers["traceparent"] ?? "")?.[1];

type Obj = Record<string, unknown>;
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const str = (v: unknown) => (typeof v === "string" ? v : undefined);
/** A record member as text: strings as they are, numbers written out, anything else empty (never "[object Object]"). */
const text = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");

/** The trail entries of a batch from any of the three topics; records that do not parse are skipped. */
export function trailEntries(
  messages: readonly InMessage[],
  topics: Pick<TopicNames, "normalized" | "decisions" | "actions">,
): Array<{ alertId: string; entry: TrailEntry }> {
  const out: Array<{ alertId: string; entry: TrailEntry }> = [];
  for (const m of messages) {
    let v: Obj;
    try {
      v = JSON.parse(m.value.toString("utf8")) as Obj;
    } catch {
      continue;
    }
    if (v === null || typeof v !== "object") continue;
    const traceId = traceIdFrom(m.headers) ?? str(v["trace_id"]);
    if (m.topic === topics.normalized) {
      const e = v as unknown as NormalizedEvent;
      const r = (v["riposte"] ?? {}) as Obj;
      let id: string;
      try {
        id = eventUid(e);
      } catch {
        continue;
      }
      if (!idOk(id)) continue;
      out.push({
        alertId: id,
        entry: {
          stage: "received",
          time: num(r["received_time"]),
          source: text(r["source"]),
          format: text(r["format"]),
          class_uid: num(v["class_uid"]),
          class_name: text(v["class_name"]),
          title: clip(eventTitle(e)) ?? "",
          entity_key: clip(text(r["entity_key"])) ?? "",
          fingerprint: text(r["fingerprint"]),
          severity_id: num(v["severity_id"]),
          ...(traceId ? { trace_id: traceId } : {}),
        },
      });
    } else if (m.topic === topics.decisions) {
      const alert = (v["alert"] ?? {}) as Obj;
      const rule = v["rule"] as Obj | undefined;
      const target = v["target"] as Obj | undefined;
      if (!idOk(alert["uid"])) continue;
      out.push({
        alertId: alert["uid"],
        entry: {
          stage: "decision",
          time: num(v["time"]),
          decision_id: text(v["id"]),
          outcome: text(v["outcome"]),
          ...(rule ? { rule: { id: text(rule["id"]), version: num(rule["version"]), hash: text(rule["hash"]) } } : {}),
          ...(str(v["playbook"]) ? { playbook: String(v["playbook"]) } : {}),
          ...(target ? { target: { type: text(target["type"]), value: clip(text(target["value"])) ?? "" } } : {}),
          ...(typeof v["score"] === "number" ? { score: v["score"] } : {}),
          ...(str(v["reason"]) ? { reason: clip(String(v["reason"])) as string } : {}),
          ...(traceId ? { trace_id: traceId } : {}),
        },
      });
    } else if (m.topic === topics.actions) {
      if (!idOk(v["alert_uid"])) continue;
      const err = v["error"] as Obj | undefined;
      out.push({
        alertId: v["alert_uid"],
        entry: {
          stage: "action",
          time: num(v["finished"]),
          action_id: text(v["id"]),
          decision_id: text(v["decision_id"]),
          playbook: text(v["playbook"]),
          step: text(v["step"]),
          connector: text(v["connector"]),
          action: text(v["action"]),
          status: text(v["status"]),
          attempts: num(v["attempts"]),
          latency_ms: Math.max(0, num(v["finished"]) - num(v["started"])),
          ...(err ? { error: clip(`${text(err["code"])}: ${text(err["message"])}`) as string } : {}),
          ...(traceId ? { trace_id: traceId } : {}),
        },
      });
    }
  }
  return out;
}

/** The trail as the API answers it: what was received, and each decision with the actions taken for it. */
export function trailView(alertId: string, entries: readonly TrailEntry[]) {
  const received = entries.filter((e) => e.stage === "received");
  const actions = entries.filter((e) => e.stage === "action");
  const decisions = entries
    .filter((e) => e.stage === "decision")
    .map((d) => ({ ...d, actions: actions.filter((a) => a.decision_id === d.decision_id) }));
  const known = new Set(decisions.map((d) => d.decision_id));
  return {
    alert_id: alertId,
    received,
    decisions,
    // Actions whose decision is not (or no longer) in the trail, e.g. the decision was indexed after retention cut it.
    other_actions: actions.filter((a) => !known.has(a.decision_id)),
    trace_ids: [...new Set(entries.map((e) => e.trace_id).filter((t): t is string => t !== undefined))],
  };
}
