/**
 * The correlator: normalized events → decisions. Every event yields at least one decision record
 * (respond, duplicate, suppressed or no_match), so every accepted alert is accounted for.
 */
import { NormalizedEvent, eventTitle, eventUid, targetKey, type Decision, type RuleFile } from "../../schemas/index.ts";
import { inKeyOrder, type Bus, type InMessage, type OutMessage } from "../shared/bus/index.ts";
import type { TopicNames } from "../shared/config.ts";
import { isRiposteError, messageOf } from "../shared/errors.ts";
import { canonicalJson, stableId } from "../shared/ids.ts";
import type { Logger } from "../shared/log.ts";
import type { Metrics } from "../shared/metrics.ts";
import { stateKey, type StateStore } from "../shared/state/index.ts";
import { ATTR, contextFrom, headersFor, inSpan, traceIdOf, SpanKind } from "../shared/telemetry.ts";
import { render, renderAll, valueAt } from "../shared/template.ts";
import { dlqRecord } from "../shared/dlq.ts";
import type { LoadedRule, RuleSet } from "./ruleset.ts";

export interface CorrelatorDeps {
  readonly bus: Bus;
  readonly state: StateStore;
  readonly topics: TopicNames;
  readonly rules: RuleSet;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly statePrefix: string;
  readonly dedupWindowMs: number;
  readonly now?: () => number;
}

export class Correlator {
  private readonly now: () => number;
  private readonly deps: CorrelatorDeps;

  constructor(deps: CorrelatorDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  /** Handles one batch from riposte.alerts.normalized; resolves once its decisions are durable. */
  readonly handle = async (messages: readonly InMessage[]): Promise<void> => {
    const out: OutMessage[] = [];
    const dlq: OutMessage[] = [];
    const results = await inKeyOrder(messages, async (m) => {
      const mine = { out: [] as OutMessage[], dlq: [] as OutMessage[] };
      await this.one(m, mine.out, mine.dlq);
      return mine;
    });
    for (const r of results) {
      out.push(...r.out);
      dlq.push(...r.dlq);
    }
    await this.deps.bus.publishBatch([
      { topic: this.deps.topics.decisions, messages: out },
      { topic: this.deps.topics.dlq, messages: dlq },
    ]);
    this.deps.metrics.inc("correlator_events_total", messages.length);
    this.deps.metrics.inc("correlator_dead_lettered_total", dlq.length);
  };

  private async one(m: InMessage, out: OutMessage[], dlq: OutMessage[]): Promise<void> {
    const parent = contextFrom(m.headers);
    await inSpan(
      "correlate",
      parent,
      {},
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
        let event: NormalizedEvent;
        try {
          event = NormalizedEvent.parse(JSON.parse(m.value.toString("utf8")));
        } catch (e) {
          deadLetter("RIPOSTE_SCHEMA_INVALID", `not a normalized event: ${messageOf(e)}`);
          return;
        }
        span.setAttribute(ATTR.entityKey, event.riposte.entity_key);
        let decisions: Decision[];
        try {
          decisions = await this.decide(event, `${m.topic}/${m.partition}/${m.offset}`, traceIdOf(span));
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
        const headers = headersFor(span);
        for (const d of decisions) {
          out.push({
            key: d.target ? targetKey(d.target) : event.riposte.entity_key,
            value: JSON.stringify(d),
            headers,
          });
        }
        span.setAttribute(ATTR.decisionOutcome, decisions.map((d) => d.outcome).join(","));
      },
      SpanKind.CONSUMER,
    );
  }

  /**
   * Decides about one event. `delivery` identifies this delivery of it, so that a redelivered message is not
   * mistaken for a duplicate alert.
   */
  async decide(event: NormalizedEvent, delivery: string, traceId?: string): Promise<Decision[]> {
    const { state, statePrefix, metrics } = this.deps;
    const alert = {
      uid: eventUid(event),
      fingerprint: event.riposte.fingerprint,
      entity_key: event.riposte.entity_key,
      class_uid: event.class_uid,
      title: eventTitle(event),
      source: event.riposte.source,
      severity_id: event.severity_id,
      time: event.time,
    };
    const base = { time: this.now(), alert, ...(traceId ? { trace_id: traceId } : {}) };
    const fp = stateKey(statePrefix, event.riposte.entity_key, "fp", event.riposte.fingerprint);
    const claim = await state.claim(fp, delivery, this.deps.dedupWindowMs);
    if (claim.state !== "acquired") {
      metrics.inc("correlator_duplicates_total");
      return [
        {
          ...base,
          id: stableId("duplicate", event.riposte.fingerprint, delivery),
          outcome: "duplicate",
          reason: "the same alert was received before, within the dedup window",
        },
      ];
    }
    const matched = await this.deps.rules.evaluate(event);
    if (matched.length === 0) {
      metrics.inc("correlator_no_match_total");
      return [{ ...base, id: stableId("no_match", event.riposte.fingerprint), outcome: "no_match" }];
    }
    const score = Math.min(
      100,
      matched.reduce((s, r) => s + r.rule.score, 0),
    );
    const decisions: Decision[] = [];
    for (const loaded of matched) decisions.push(await this.decideRule(loaded, event, base, score));
    for (const d of decisions) {
      if (d.outcome === "respond")
        this.deps.log.info(
          {
            decision_id: d.id,
            rule: d.rule?.id,
            playbook: d.playbook,
            target: d.target,
            alert: alert.title,
            entity: alert.entity_key,
          },
          "decision",
        );
    }
    metrics.inc("correlator_decisions_total", decisions.filter((d) => d.outcome === "respond").length);
    metrics.inc("correlator_suppressed_total", decisions.filter((d) => d.outcome === "suppressed").length);
    return decisions;
  }

  private async decideRule(
    loaded: LoadedRule,
    event: NormalizedEvent,
    base: Pick<Decision, "time" | "alert" | "trace_id">,
    score: number,
  ): Promise<Decision> {
    const { rule } = loaded;
    const ruleRef = { id: rule.id, version: rule.version, hash: loaded.hash, name: rule.name };
    const group = groupOf(rule, event);
    const common = { ...base, rule: ruleRef, score };
    if (group === undefined) {
      return {
        ...common,
        id: stableId(rule.id, rule.version, "missing", event.riposte.fingerprint),
        outcome: "suppressed",
        reason: `dedup field missing: ${rule.dedup?.fields.join(", ")}`,
      };
    }
    const window = rule.dedup?.window ?? 0;
    const windowStart = window > 0 ? Math.floor(event.time / window) * window : 0;
    // The fingerprint of the event that opened the group: a redelivery collapses into the same decision, a later
    // alert of the same group (after the dedup window expired) gets a decision of its own.
    const id = stableId(rule.id, rule.version, group, windowStart, event.riposte.fingerprint);
    const withGroup = { ...common, id, group_key: group, window_start: windowStart };
    if (rule.dedup) {
      const key = stateKey(this.deps.statePrefix, event.riposte.entity_key, `dedup:${rule.id}`, stableId(group));
      const claim = await this.deps.state.claim(key, event.riposte.fingerprint, rule.dedup.window);
      if (claim.state !== "acquired") {
        return {
          ...withGroup,
          id: stableId(id, event.riposte.fingerprint),
          outcome: "suppressed",
          reason: `rule dedup: same ${rule.dedup.fields.join(", ")} within ${rule.dedup.window} ms`,
        };
      }
    }
    if (!rule.decision) return { ...withGroup, outcome: "respond" };
    try {
      const target = { type: rule.decision.target.type, value: String(render(rule.decision.target.value, event)) };
      return {
        ...withGroup,
        outcome: "respond",
        playbook: rule.decision.playbook,
        target,
        params: renderAll(rule.decision.params, event),
        approval: rule.decision.approval,
      };
    } catch (e) {
      if (!isRiposteError(e)) throw e;
      return { ...withGroup, outcome: "suppressed", reason: `cannot target a response: ${e.message}` };
    }
  }
}

/** The rule's group key: its dedup fields' values, or the alert's fingerprint. Undefined when a field is missing and the policy skips. */
function groupOf(rule: RuleFile, event: NormalizedEvent): string | undefined {
  if (!rule.dedup) return event.riposte.fingerprint;
  const values = rule.dedup.fields.map((f) => valueAt(event, f));
  if (values.some((v) => v === undefined || v === null) && rule.dedup.missing === "skip") return undefined;
  // Compared case-insensitively: hostnames, user names and addresses differ in case between vendors.
  return canonicalJson(values.map((v) => (typeof v === "string" ? v.toLowerCase() : (v ?? ""))));
}
