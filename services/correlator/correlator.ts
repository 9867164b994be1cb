/**
 * The correlator: normalized events → decisions. Every event yields at least one decision record
 * (respond, duplicate, suppressed or no_match), so every accepted alert is accounted for. The deciding is pure
 * (plan.ts); this class reads the batch, fetches the state the plan needs, applies its operations and publishes.
 */
import { trace, type Link } from "@opentelemetry/api";
import { Incident, NormalizedEvent, OUTCOME_HEADER, eventUid, targetKey, type Decision } from "../../schemas/index.ts";
import { inKeyOrder, type Bus, type InMessage, type OutMessage } from "../shared/bus/index.ts";
import type { TopicNames } from "../shared/config.ts";
import { RiposteError, isRiposteError, messageOf } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { LABEL, type Metrics } from "../shared/metrics.ts";
import { incidentKeys, type StateStore } from "../shared/state/index.ts";
import {
  ATTR,
  contextFrom,
  headersFor,
  inSpan,
  processAttributes,
  traceIdOf,
  tracesExported,
  SpanKind,
} from "../shared/telemetry.ts";
import { dlqRecord } from "../shared/dlq.ts";
import { parse } from "../../schemas/fast-parse.ts";
import { correlationProblems } from "./correlation.ts";
import { BatchState, direct, type PlanState } from "./batch-state.ts";
import { needs, plan, type PlanContext } from "./plan.ts";
import type { LoadedRule } from "./ruleset.ts";
import { MAX_HOPS, incidentEntities, joinsIncident, missingIncidents, openingIds, planIncident } from "./incidents.ts";
import type { RuleSet } from "./ruleset.ts";
import type { LiveRules } from "./live.ts";

/** Default allowed lateness of correlations when neither the rule nor the configuration sets one. */
export const DEFAULT_LATENESS_MS = 300_000;
/** Default half-life of entity risk when the configuration sets none. */
export const DEFAULT_RISK_HALF_LIFE_MS = 86_400_000;
/** Saves of one event's incident change tried before the batch is given back for redelivery. */
const INCIDENT_ATTEMPTS = 16;
/** Random pause before the next try after a conflict, growing with the tries, so racing writers spread out. */
const conflictPause = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.random() * 4 * Math.min(attempt + 1, 8)));

/** Whether an event joins an incident (an alert or a responded-to event, not a duplicate) and names an entity. */
const joinable = (j: Joining): boolean => joinsIncident(j.event, j.decisions) && incidentEntities(j.event).length > 0;

/** Links of the incident-grouping span to the other alerts of its batch, at most (the SDK keeps 128 by default). */
const MAX_GROUP_LINKS = 127;

/** What one event came to: its decisions, and the incidents it changed (each in full, at its new version). */
export interface Outcome {
  readonly decisions: Decision[];
  readonly incidents: Incident[];
}

/** An event that joins an incident, with its decisions and the headers (trace) its incident change goes out with. */
interface Joining {
  readonly event: NormalizedEvent;
  readonly decisions: readonly Decision[];
  readonly headers: Record<string, string>;
}

/** An incident as a batch left it, with the headers of the last event that touched it. */
interface Changed {
  readonly incident: Incident;
  readonly headers: Record<string, string>;
}

/** What one message of a batch yields: records to publish, and its incident change to plan with the batch's. */
interface Sink {
  readonly out: OutMessage[];
  readonly dlq: OutMessage[];
  joining?: Joining;
}

/** An incident read made ahead of a batch's grouping, with the entities and opening ids it covers. */
interface Prefetched {
  readonly entities: ReadonlySet<string>;
  readonly opening: ReadonlySet<string>;
  readonly snapshot: { links: Map<string, string>; docs: Map<string, Incident> };
}

/** One message of a batch, parsed and matched ahead of its turn (error: why it is not a normalized event). */
interface Prepared {
  readonly event?: NormalizedEvent;
  readonly matched?: readonly LoadedRule[];
  readonly error?: string;
}

export interface CorrelatorDeps {
  readonly bus: Bus;
  readonly state: StateStore;
  readonly topics: TopicNames;
  readonly rules: RuleSet;
  /** The live rule set (hot reload): taken once per batch, so a reload never splits a batch; `rules` is the first. */
  readonly live?: LiveRules | undefined;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly statePrefix: string;
  /** The consumer group it runs in, for its spans. */
  readonly consumerGroup?: string;
  readonly dedupWindowMs: number;
  /** Default allowed lateness of correlations (RIPOSTE_CORRELATION_LATENESS); DEFAULT_LATENESS_MS when absent. */
  readonly latenessMs?: number;
  /** Half-life of entity risk contributions (RIPOSTE_RISK_HALF_LIFE); DEFAULT_RISK_HALF_LIFE_MS when absent. */
  readonly riskHalfLifeMs?: number;
  /**
   * Incident grouping (RIPOSTE_INCIDENT_WINDOW, RIPOSTE_INCIDENT_RETENTION): when set, alerts group into incidents
   * kept in state and published in full to `topics.incidents`, keyed by incident id. Off in replays and rule tests.
   */
  readonly incidents?: { readonly windowMs: number; readonly retentionMs: number } | undefined;
  readonly now?: () => number;
}

export class Correlator {
  private readonly now: () => number;
  private readonly deps: CorrelatorDeps;

  private readonly latenessMs: number;
  private rules: RuleSet;

  /** Throws RIPOSTE_RULE_INVALID when the rules' correlations name rules that are missing or unusable. */
  constructor(deps: CorrelatorDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.latenessMs = deps.latenessMs ?? DEFAULT_LATENESS_MS;
    this.rules = deps.rules;
    const problems = correlationProblems(deps.rules.rules);
    if (problems.length > 0)
      throw new RiposteError("RIPOSTE_RULE_INVALID", `invalid rule files:\n  - ${problems.join("\n  - ")}`);
  }

  /** Handles one batch from riposte.alerts.normalized; resolves once its decisions are durable. */
  readonly handle = async (messages: readonly InMessage[]): Promise<void> => {
    // A reloaded set applies from the next batch on: every event of one batch meets the same rules.
    this.rules = this.deps.live?.current() ?? this.rules;
    const out: OutMessage[] = [];
    const dlq: OutMessage[] = [];
    const incidents: OutMessage[] = [];
    // Every event is parsed and matched first, so that the state all of the batch's plans read goes out at once.
    const view = new BatchState(this.deps.state);
    const prepared = new Map<InMessage, Prepared>();
    for (const m of messages) prepared.set(m, await this.prepare(m, view));
    // The incidents the batch may join are read while its events are decided, not after.
    const early = this.prefetchIncidents(prepared.values());
    const results = await inKeyOrder(messages, async (m) => {
      const mine: Sink = { out: [], dlq: [] };
      await this.one(m, prepared.get(m) as Prepared, view, mine);
      return mine;
    });
    // The batch's incident changes, planned in message order and saved at once.
    const joining: Joining[] = [];
    for (const r of results) if (r.joining) joining.push(r.joining);
    // The batch's state writes and its incidents (independent keys) are durable before any decision is published; a
    // redelivery after the flush decides as the first delivery did (see decide), as after a failed publish.
    const [changed] = await Promise.all([this.groupInSpan(joining, early), view.flush()]);
    for (const { incident, headers } of changed)
      incidents.push({ key: incident.id, value: JSON.stringify(incident), headers });
    for (const r of results) {
      out.push(...r.out);
      dlq.push(...r.dlq);
    }
    await this.deps.bus.publishBatch([
      { topic: this.deps.topics.decisions, messages: out },
      { topic: this.deps.topics.dlq, messages: dlq },
      ...(incidents.length > 0 ? [{ topic: this.deps.topics.incidents, messages: incidents }] : []),
    ]);
    this.deps.metrics.inc("correlator_events_total", messages.length);
    this.deps.metrics.inc("correlator_dead_lettered_total", dlq.length);
    const done = Date.now();
    for (const m of messages)
      this.deps.metrics.observe("riposte_stage_seconds", (done - m.timestamp) / 1000, { [LABEL.stage]: "correlate" });
  };

  /** Parses and matches one message of a batch and starts the state reads its plan will need. */
  private async prepare(m: InMessage, view: BatchState): Promise<Prepared> {
    let event: NormalizedEvent;
    try {
      event = parse(NormalizedEvent, JSON.parse(m.value.toString("utf8")));
    } catch (e) {
      return { error: `not a normalized event: ${messageOf(e)}` };
    }
    try {
      const matched = await this.rules.evaluate(event);
      view.prefetch(needs(event, matched, this.context("")));
      return { event, matched };
    } catch {
      // Planned again in its turn, where the failure is handled (retried or dead-lettered) with the event's span.
      return { event };
    }
  }

  private context(delivery: string, traceId?: string, spanId?: string): PlanContext {
    return {
      statePrefix: this.deps.statePrefix,
      dedupWindowMs: this.deps.dedupWindowMs,
      latenessMs: this.latenessMs,
      riskHalfLifeMs: this.deps.riskHalfLifeMs ?? DEFAULT_RISK_HALF_LIFE_MS,
      now: this.now(),
      delivery,
      traceId,
      spanId,
    };
  }

  private async one(m: InMessage, prepared: Prepared, view: PlanState, sink: Sink): Promise<void> {
    const { out, dlq } = sink;
    const parent = contextFrom(m.headers);
    await inSpan(
      "correlate",
      parent,
      processAttributes(this.deps.bus.kind, this.deps.consumerGroup, m),
      async (span) => {
        const deadLetter = (code: string, reason: string) => {
          const rec = dlqRecord({
            stage: "correlate",
            code,
            reason,
            source: "correlator",
            original: m.value,
            time: this.now(),
            traceId: traceIdOf(span),
            origin: { topic: m.topic, partition: m.partition, offset: m.offset },
          });
          dlq.push({ key: m.key, value: JSON.stringify(rec), headers: headersFor(span) });
        };
        const { event } = prepared;
        if (event === undefined) {
          deadLetter("RIPOSTE_SCHEMA_INVALID", prepared.error ?? "not a normalized event");
          return;
        }
        span.setAttribute(ATTR.entityKey, event.riposte.entity_key);
        let decisions: Decision[];
        try {
          decisions = await this.decideOnly(
            view,
            event,
            `${m.topic}/${m.partition}/${m.offset}`,
            traceIdOf(span),
            // Kept with the alert (for its duplicates' links) only where traces leave the process.
            tracesExported() && span.isRecording() ? span.spanContext().spanId : undefined,
            prepared.matched,
          );
        } catch (e) {
          // State or bus outages are retried (the batch is redelivered); anything else would block the
          // partition forever, so the event goes to the DLQ with the reason instead.
          if (isRiposteError(e) && e.retriable) throw e;
          this.deps.log.error(
            { err: messageOf(e), entity: event.riposte.entity_key },
            "correlation failed; event dead-lettered",
          );
          deadLetter("RIPOSTE_CORRELATION_FAILED", `correlation failed: ${messageOf(e)}`);
          return;
        }
        // A duplicate's span links to the span that decided the original alert (its trace, in another request); a
        // correlation's decision to the spans that decided each alert it stands on.
        for (const d of decisions)
          for (const l of d.links ?? [])
            span.addLink({
              context: { traceId: l.trace_id, spanId: l.span_id, traceFlags: 1 },
              attributes: { [ATTR.linkKind]: d.outcome === "duplicate" ? "original" : "contributing" },
            });
        const headers = headersFor(span);
        for (const d of decisions) {
          out.push({
            key: d.target ? targetKey(d.target) : event.riposte.entity_key,
            value: JSON.stringify(d),
            headers: { ...headers, [OUTCOME_HEADER]: d.outcome },
          });
        }
        if (this.deps.incidents) sink.joining = { event, decisions, headers };
        span.setAttribute(ATTR.decisionOutcome, decisions.map((d) => d.outcome).join(","));
      },
      SpanKind.CONSUMER,
    );
  }

  /**
   * Decides about one event: reads the state the plan needs, plans (pure), applies the plan's state operations, and
   * returns its decisions. `delivery` identifies this delivery of the event, so that a redelivered message decides
   * as it did the first time instead of being mistaken for a duplicate alert.
   */
  async decide(event: NormalizedEvent, delivery: string, traceId?: string, spanId?: string): Promise<Decision[]> {
    return (await this.outcome(event, delivery, traceId, spanId)).decisions;
  }

  /**
   * Decides about one event (see decide), then groups it into its incident when incidents are on. Grouping never
   * holds a decision back: when it fails for good (not an outage, which is retried), the decisions go out without it.
   */
  async outcome(event: NormalizedEvent, delivery: string, traceId?: string, spanId?: string): Promise<Outcome> {
    const decisions = await this.decideOnly(direct(this.deps.state), event, delivery, traceId, spanId);
    const changed = await this.groupSafely([{ event, decisions, headers: {} }].filter(joinable));
    return { decisions, incidents: changed.map((c) => c.incident) };
  }

  /**
   * The batch's incident grouping in one span: the child of the first joining alert's correlate span (its state
   * calls show in that alert's trace), linked to the others' correlate spans.
   */
  private async groupInSpan(items: readonly Joining[], early?: Promise<Prefetched | undefined>): Promise<Changed[]> {
    const joining = items.filter(joinable);
    const [first, ...rest] = joining;
    if (!first) return [];
    const links: Link[] = [];
    for (const j of rest.slice(0, MAX_GROUP_LINKS)) {
      const sc = trace.getSpanContext(contextFrom(j.headers));
      if (sc) links.push({ context: sc });
    }
    return inSpan(
      "group incidents",
      contextFrom(first.headers),
      { [ATTR.batchSize]: joining.length },
      () => this.groupSafely(joining, early),
      SpanKind.INTERNAL,
      links,
    );
  }

  /**
   * The incident changes of events that join one (see group). Grouping never holds a decision back: when it fails
   * for good (not an outage, which is retried), the decisions go out without it.
   */
  private async groupSafely(items: readonly Joining[], early?: Promise<Prefetched | undefined>): Promise<Changed[]> {
    try {
      return await this.group(items, early);
    } catch (e) {
      if (isRiposteError(e) && e.retriable) throw e;
      this.deps.log.error(
        { err: messageOf(e), alerts: items.length, first_alert: items[0] ? eventUid(items[0].event) : undefined },
        "incident grouping failed; the decisions go out without it",
      );
      this.deps.metrics.inc("correlator_incident_failures_total");
      return [];
    }
  }

  private async decideOnly(
    view: PlanState,
    event: NormalizedEvent,
    delivery: string,
    traceId?: string,
    spanId?: string,
    prematched?: readonly LoadedRule[],
  ): Promise<Decision[]> {
    const { metrics } = this.deps;
    const matched = prematched ?? (await this.rules.evaluate(event));
    this.deps.live?.hit(matched);
    const ctx = this.context(delivery, traceId, spanId);
    const want = needs(event, matched, ctx);
    const [lookups, timelines] = await Promise.all([
      Promise.all(want.lookups.map((l) => view.lookup(l.key, l.field))),
      Promise.all(want.timelines.map(async (k) => [k, await view.recall(k)] as const)),
    ]);
    const result = plan(event, matched, { lookups, timelines: new Map(timelines) }, ctx);
    await Promise.all(result.ops.map((op) => view.apply(op)));
    const { decisions } = result;
    for (const d of decisions) {
      if (d.outcome === "respond")
        this.deps.log.info(
          {
            decision_id: d.id,
            rule: d.rule?.id,
            playbook: d.playbook,
            target: d.target,
            alert: d.alert.title,
            entity: d.alert.entity_key,
            ...(d.correlation ? { correlation: d.correlation.type, alerts: d.alert_ids?.length } : {}),
          },
          "decision",
        );
    }
    const count = (o: Decision["outcome"]) => decisions.filter((d) => d.outcome === o).length;
    metrics.inc("correlator_duplicates_total", count("duplicate"));
    metrics.inc("correlator_no_match_total", count("no_match"));
    metrics.inc("correlator_decisions_total", count("respond"));
    metrics.inc("correlator_suppressed_total", count("suppressed"));
    metrics.inc("correlator_late_total", result.late);
    for (const r of matched) metrics.count("riposte_rule_hits_total", { [LABEL.rule]: r.rule.id });
    for (const d of decisions) {
      const labels = { [LABEL.rule]: d.rule?.id ?? "", [LABEL.playbook]: d.playbook ?? "" };
      metrics.count("riposte_decisions_total", {
        [LABEL.outcome]: d.outcome,
        [LABEL.playbook]: labels[LABEL.playbook],
      });
      // MTTD: from the alert's own time to the decision to respond.
      if (d.outcome === "respond") metrics.observe("riposte_mttd_seconds", (d.time - event.time) / 1000, labels);
    }
    return decisions;
  }

  /**
   * The incident changes of a batch's events that join one (joinable): reads the incidents all their entities are linked to (following
   * merges) in one round trip, plans each event in turn (pure) against that snapshot as the earlier events left it,
   * and saves every incident changed, at its stored version + 1, in one compare-and-set. When another writer
   * changed one of them meanwhile, reads and plans the whole batch again. Returns each incident changed (or
   * re-published as it is) once, as it ends, with the headers of the last event that touched it.
   */
  private async group(joining: readonly Joining[], early?: Promise<Prefetched | undefined>): Promise<Changed[]> {
    const settings = this.deps.incidents;
    if (!settings || joining.length === 0) return [];
    const { state, metrics, log } = this.deps;
    const keys = incidentKeys(this.deps.statePrefix);
    const entities = [...new Set(joining.flatMap((i) => incidentEntities(i.event)))];
    const opening = [...new Set(joining.flatMap((i) => openingIds(i.event)))];
    // The read made while the batch was decided serves the first attempt when it covers every joining alert.
    const pre = early ? await early : undefined;
    const covered =
      pre !== undefined && entities.every((e) => pre.entities.has(e)) && opening.every((o) => pre.opening.has(o));
    for (let attempt = 0; attempt < INCIDENT_ATTEMPTS; attempt++) {
      const snapshot = attempt === 0 && covered ? pre.snapshot : await this.incidentSnapshot(keys, entities, opening);
      // The version each incident had when read: the one its single write in this save follows.
      const readVersion = new Map<string, number>();
      for (const [id, doc] of snapshot.docs) readVersion.set(id, doc.version);
      const touched = new Map<string, Changed>();
      const written = new Set<string>();
      const links = new Map<string, string>();
      let linkTime = -Infinity;
      let retainAfter = Infinity;
      let linkAfter = Infinity;
      for (const item of joining) {
        let p;
        try {
          p = planIncident(item.event, item.decisions, snapshot, { ...settings, now: this.now() });
        } catch (e) {
          // One alert the planner cannot take costs its own grouping only.
          log.error({ err: messageOf(e), alert: eventUid(item.event) }, "incident grouping of an alert failed");
          metrics.inc("correlator_incident_failures_total");
          continue;
        }
        if (!p) continue;
        if (p.changed.length === 0) {
          if (p.unchanged && !touched.has(p.unchanged.id))
            touched.set(p.unchanged.id, { incident: p.unchanged, headers: item.headers });
          continue;
        }
        for (const inc of p.changed) {
          snapshot.docs.set(inc.id, inc);
          touched.delete(inc.id); // re-inserted last: published in the order they last changed
          touched.set(inc.id, { incident: inc, headers: item.headers });
          written.add(inc.id);
        }
        for (const l of p.links) {
          snapshot.links.set(l.entity, l.id);
          links.set(l.entity, l.id);
        }
        // Links are touched at the latest time of the batch's events that made them (a link lives a little
        // longer, never shorter); the trims keep what any event of the batch would have kept.
        linkTime = Math.max(linkTime, p.linkTime);
        retainAfter = Math.min(retainAfter, p.retainAfter);
        linkAfter = Math.min(linkAfter, p.linkAfter);
      }
      if (written.size === 0) return [...touched.values()];
      // One write per incident, one version step per save, however many events of the batch changed it.
      const out: Changed[] = [];
      const saved: Incident[] = [];
      const writes = [];
      for (const c of touched.values()) {
        if (!written.has(c.incident.id)) {
          out.push(c);
          continue;
        }
        const incident: Incident = { ...c.incident, version: (readVersion.get(c.incident.id) ?? 0) + 1 };
        out.push({ incident, headers: c.headers });
        saved.push(incident);
        writes.push({
          id: incident.id,
          doc: JSON.stringify(incident),
          version: incident.version,
          lastSeen: incident.last_seen,
        });
      }
      const result = await state.incidentSave(keys, {
        writes,
        links: [...links].map(([entity, id]) => ({ entity, id })),
        linkTime,
        retainAfter,
        linkAfter,
        ttlMs: settings.retentionMs,
      });
      if (result.saved) {
        this.countIncidents(saved, readVersion);
        return out;
      }
      metrics.inc("correlator_incident_conflicts_total");
      await conflictPause(attempt);
    }
    throw new RiposteError(
      "RIPOSTE_STATE_UNAVAILABLE",
      `incidents of ${joining.length} alert(s), the first ${eventUid(joining[0]?.event as NormalizedEvent)}: ${INCIDENT_ATTEMPTS} saves in a row met a concurrent change; retrying the batch`,
    );
  }

  /**
   * Starts reading the incidents a batch's events may join: those of events that can join one whatever their
   * decisions (detection findings) or that matched a rule (only those can respond), or whose rules failed (planned
   * again later). Reading before the decisions is safe: the save is a compare-and-set on the versions read, and a
   * change meanwhile reads again. Undefined without incidents, or when nothing may join; a failed read is
   * undefined too (the grouping reads again and meets the failure itself).
   */
  private prefetchIncidents(prepared: Iterable<Prepared>): Promise<Prefetched | undefined> | undefined {
    if (!this.deps.incidents) return undefined;
    const entities = new Set<string>();
    const opening = new Set<string>();
    for (const p of prepared) {
      const { event, matched } = p;
      if (event === undefined || (event.class_uid !== 2004 && matched?.length === 0)) continue;
      const es = incidentEntities(event);
      if (es.length === 0) continue;
      for (const e of es) entities.add(e);
      for (const o of openingIds(event)) opening.add(o);
    }
    if (entities.size === 0) return undefined;
    const keys = incidentKeys(this.deps.statePrefix);
    return this.incidentSnapshot(keys, [...entities], [...opening]).then(
      (snapshot) => ({ entities, opening, snapshot }),
      () => undefined,
    );
  }

  /** The incidents linked to the entities and the opening ids taken, following merges a bounded number of hops. */
  private async incidentSnapshot(
    keys: ReturnType<typeof incidentKeys>,
    entities: readonly string[],
    opening: readonly string[],
  ): Promise<{ links: Map<string, string>; docs: Map<string, Incident> }> {
    const { state } = this.deps;
    // One round trip for the usual case; a merged incident's survivor may take another read per hop.
    const found = await state.incidentFind(keys, entities, opening);
    const links = new Map<string, string>();
    entities.forEach((e, i) => {
      const id = found.links[i];
      if (id !== undefined) links.set(e, id);
    });
    const docs = new Map<string, Incident>();
    for (const [id, doc] of found.docs) docs.set(id, parse(Incident, JSON.parse(doc)));
    let wanted = missingIncidents(docs);
    for (let hop = 0; hop < MAX_HOPS && wanted.length > 0; hop++) {
      const read = await state.incidentRead(keys, wanted);
      wanted.forEach((id, i) => {
        const doc = read[i];
        if (doc !== undefined) docs.set(id, parse(Incident, JSON.parse(doc)));
      });
      const asked = new Set(wanted);
      wanted = missingIncidents(docs).filter((id) => !asked.has(id));
    }
    return { links, docs };
  }

  /** Counts the incidents a save opened (none stored before) and merged, and logs each merge. */
  private countIncidents(saved: readonly Incident[], readVersion: ReadonlyMap<string, number>): void {
    const { metrics, log } = this.deps;
    for (const incident of saved) {
      if (!readVersion.has(incident.id)) metrics.inc("correlator_incidents_opened_total");
      if (incident.status === "merged" && incident.merged_into !== undefined) {
        metrics.inc("correlator_incidents_merged_total");
        log.info({ incident: incident.merged_into, merged_from: [incident.id] }, "incidents merged");
      }
    }
  }
}
