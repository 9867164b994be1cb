/**
 * The correlator: normalized events → decisions. Every event yields at least one decision record
 * (respond, duplicate, suppressed or no_match), so every accepted alert is accounted for. The deciding is pure
 * (plan.ts); this class reads the batch, fetches the state the plan needs, applies its operations and publishes.
 */
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

/** What one event came to: its decisions, and the incidents it changed (each in full, at its new version). */
export interface Outcome {
  readonly decisions: Decision[];
  readonly incidents: Incident[];
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
    const results = await inKeyOrder(messages, async (m) => {
      const mine = { out: [] as OutMessage[], dlq: [] as OutMessage[], incidents: [] as OutMessage[] };
      await this.one(m, prepared.get(m) as Prepared, view, mine);
      return mine;
    });
    // The batch's state writes are durable before any of its decisions is published.
    await view.flush();
    for (const r of results) {
      out.push(...r.out);
      dlq.push(...r.dlq);
      incidents.push(...r.incidents);
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
      event = NormalizedEvent.parse(JSON.parse(m.value.toString("utf8")));
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

  private async one(
    m: InMessage,
    prepared: Prepared,
    view: PlanState,
    sink: { out: OutMessage[]; dlq: OutMessage[]; incidents: OutMessage[] },
  ): Promise<void> {
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
        let outcome: Outcome;
        try {
          outcome = await this.outcomeIn(
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
        const { decisions } = outcome;
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
        for (const i of outcome.incidents) sink.incidents.push({ key: i.id, value: JSON.stringify(i), headers });
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
    return this.outcomeIn(direct(this.deps.state), event, delivery, traceId, spanId);
  }

  private async outcomeIn(
    view: PlanState,
    event: NormalizedEvent,
    delivery: string,
    traceId?: string,
    spanId?: string,
    matched?: readonly LoadedRule[],
  ): Promise<Outcome> {
    const decisions = await this.decideOnly(view, event, delivery, traceId, spanId, matched);
    try {
      return { decisions, incidents: await this.group(event, decisions) };
    } catch (e) {
      if (isRiposteError(e) && e.retriable) throw e;
      this.deps.log.error(
        { err: messageOf(e), alert: eventUid(event), entity: event.riposte.entity_key },
        "incident grouping failed; the decisions go out without it",
      );
      this.deps.metrics.inc("correlator_incident_failures_total");
      return { decisions, incidents: [] };
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
   * The incident change of one event: reads the incidents its entities are linked to (following merges), plans
   * (pure) and saves the plan in one compare-and-set; when another writer changed one of the incidents meanwhile,
   * reads and plans again. Returns the incidents changed.
   */
  private async group(event: NormalizedEvent, decisions: readonly Decision[]): Promise<Incident[]> {
    const settings = this.deps.incidents;
    if (!settings || !joinsIncident(event, decisions)) return [];
    const { state, metrics } = this.deps;
    const keys = incidentKeys(this.deps.statePrefix);
    const entities = incidentEntities(event);
    if (entities.length === 0) return [];
    for (let attempt = 0; attempt < INCIDENT_ATTEMPTS; attempt++) {
      // One round trip for the usual case; a merged incident's survivor may take another read per hop.
      const found = await state.incidentFind(keys, entities, openingIds(event));
      const links = new Map<string, string>();
      entities.forEach((e, i) => {
        const id = found.links[i];
        if (id !== undefined) links.set(e, id);
      });
      const docs = new Map<string, Incident>();
      for (const [id, doc] of found.docs) docs.set(id, Incident.parse(JSON.parse(doc)));
      let wanted = missingIncidents(docs);
      for (let hop = 0; hop < MAX_HOPS && wanted.length > 0; hop++) {
        const read = await state.incidentRead(keys, wanted);
        wanted.forEach((id, i) => {
          const doc = read[i];
          if (doc !== undefined) docs.set(id, Incident.parse(JSON.parse(doc)));
        });
        const asked = new Set(wanted);
        wanted = missingIncidents(docs).filter((id) => !asked.has(id));
      }
      const p = planIncident(event, decisions, { links, docs }, { ...settings, now: this.now() });
      if (!p) return [];
      if (p.changed.length === 0) return p.unchanged ? [p.unchanged] : [];
      const result = await state.incidentSave(keys, {
        writes: p.changed.map((i) => ({ id: i.id, doc: JSON.stringify(i), version: i.version, lastSeen: i.last_seen })),
        links: p.links,
        linkTime: p.linkTime,
        retainAfter: p.retainAfter,
        linkAfter: p.linkAfter,
        ttlMs: settings.retentionMs,
      });
      if (result.saved) {
        const [kept, ...merged] = p.changed;
        if (kept?.version === 1) metrics.inc("correlator_incidents_opened_total");
        metrics.inc("correlator_incidents_merged_total", merged.length);
        if (merged.length > 0)
          this.deps.log.info(
            { incident: kept?.id, merged_from: merged.map((m) => m.id), alert: eventUid(event) },
            "incidents merged",
          );
        return p.changed;
      }
      metrics.inc("correlator_incident_conflicts_total");
      await conflictPause(attempt);
    }
    throw new RiposteError(
      "RIPOSTE_STATE_UNAVAILABLE",
      `incident of alert ${eventUid(event)}: ${INCIDENT_ATTEMPTS} saves in a row met a concurrent change; retrying the batch`,
    );
  }
}
