/**
 * Decision planning, pure: an event, the rules it matched, a snapshot of the state they need and the clock in;
 * decisions and state operations out. The correlator reads the snapshot (`needs`), calls `plan`, applies the
 * operations and publishes the decisions.
 *
 * Read-then-write is safe because a group's state has one writer: the correlator that owns the partition of the
 * alerts' entity. A correlation grouped by something else than the partition key (a password spray grouped by
 * source address over sign-ins keyed by user) is written from several partitions: two alerts decided at once may
 * each miss the other, so the window fires on the next alert instead, or both fire, then usually with the same
 * decision id (same opening alert), which the executor runs once. The appends commute, so no event is lost from the
 * window.
 */
import {
  eventTitle,
  eventUid,
  type Correlation,
  type Decision,
  type NormalizedEvent,
  type RuleFile,
} from "../../schemas/index.ts";
import { isRiposteError } from "../shared/errors.ts";
import { canonicalJson, stableId } from "../shared/ids.ts";
import { stateKey, type TimelineEntry } from "../shared/state/index.ts";
import { render, renderAll, valueAt } from "../shared/template.ts";
import {
  MAX_WINDOW_EVENTS,
  correlationRef,
  evaluate,
  firedMark,
  firstValue,
  groupOf,
  isNewTerm,
  memberOf,
  progress,
  readWindow,
  unspent,
  type Firing,
  type WindowEvent,
} from "./correlation.ts";
import {
  contentDigest,
  dedupSlots,
  dedupValue,
  recordedSpan,
  verdictOf,
  type DedupVerdict,
  type SpanRef,
} from "./dedup.ts";

/** A decision's links to the spans of the alerts it stands on (the original of a duplicate). */
const linksTo = (...spans: ReadonlyArray<SpanRef | undefined>) => {
  const links = spans
    .filter((s): s is SpanRef => s !== undefined)
    .map((s) => ({ trace_id: s.traceId, span_id: s.spanId }));
  return links.length > 0 ? { links } : {};
};
import {
  MAX_CONTRIBUTIONS,
  contributionEntry,
  riskAt,
  riskCutoff,
  riskHorizon,
  riskKey,
  type Contribution,
} from "./risk.ts";
import type { LoadedRule } from "./ruleset.ts";

/** What planning needs besides the event: where state lives, the windows, the clock and this delivery. */
export interface PlanContext {
  readonly statePrefix: string;
  readonly dedupWindowMs: number;
  /** Default allowed lateness of correlations (RIPOSTE_CORRELATION_LATENESS). */
  readonly latenessMs: number;
  /** Half-life of entity risk contributions, in event time (RIPOSTE_RISK_HALF_LIFE). */
  readonly riskHalfLifeMs: number;
  /** Wall-clock time of the decision records. */
  readonly now: number;
  /** Identifies this delivery of the event (topic/partition/offset), so a redelivery decides the same. */
  readonly delivery: string;
  readonly traceId?: string | undefined;
  /** The span deciding this event: recorded with the alert so that its duplicates' spans link to it. */
  readonly spanId?: string | undefined;
}

/** The state a plan reads: digest fields and timelines. */
export interface StateNeeds {
  readonly lookups: ReadonlyArray<{ readonly key: string; readonly field: string }>;
  readonly timelines: readonly string[];
}

/** The state read for a plan: `lookups` in the order of StateNeeds.lookups, timelines by key. */
export interface Snapshot {
  readonly lookups: ReadonlyArray<string | undefined>;
  readonly timelines: ReadonlyMap<string, readonly TimelineEntry[]>;
}

/** A state operation the correlator applies after planning. */
export type StateOp =
  | {
      readonly op: "record";
      readonly key: string;
      readonly field: string;
      readonly value: string;
      readonly ttlMs: number;
    }
  | {
      readonly op: "append";
      readonly key: string;
      readonly entries: readonly TimelineEntry[];
      readonly cutoffMs: number;
      readonly cap: number;
      readonly ttlMs: number;
    };

export interface Plan {
  readonly decisions: Decision[];
  readonly ops: StateOp[];
  readonly verdict: DedupVerdict;
  /** Correlations this event came too late for (decided alone). */
  readonly late: number;
}

/** The timeline of a correlation rule for a group; the group is the hash tag, so a group's keys share a slot. */
function correlationKey(prefix: string, rule: RuleFile, group: Record<string, string>): string {
  return stateKey(prefix, `g:${stableId(canonicalJson(group)).slice(0, 16)}`, `corr:${rule.id}`, `v${rule.version}`);
}

/** The rule-dedup group: its dedup fields' values, or the fingerprint. Undefined when a field is missing and skipped. */
function dedupGroup(rule: RuleFile, event: NormalizedEvent): string | undefined {
  if (!rule.dedup) return event.riposte.fingerprint;
  const values = rule.dedup.fields.map((f) => valueAt(event, f));
  if (values.some((v) => v === undefined || v === null) && rule.dedup.missing === "skip") return undefined;
  // Compared case-insensitively: hostnames, user names and addresses differ in case between vendors.
  return canonicalJson(values.map((v) => (typeof v === "string" ? v.toLowerCase() : (v ?? ""))));
}

function suppressionKey(prefix: string, rule: RuleFile, event: NormalizedEvent, group: string): string {
  return stateKey(prefix, event.riposte.entity_key, `dedup:${rule.id}`, stableId(group));
}

/** The correlation rules of `matched` that look at this event, with the tags it counts under. */
function correlated(loaded: LoadedRule, matched: ReadonlySet<string>, event: NormalizedEvent): string[] | undefined {
  const c = loaded.rule.correlation;
  if (!c) return undefined;
  if (c.type === "temporal" || c.type === "temporal_ordered") {
    const tags = (c.rules ?? []).map((r) => r.rule).filter((id) => matched.has(id));
    return [...new Set(tags)];
  }
  if (c.type === "value_count" || c.type === "new_terms") {
    const v = firstValue(event, c.field ?? []);
    return v === undefined ? [] : [v];
  }
  return [""];
}

/** The state `plan` will read for this event and these rules. */
export function needs(event: NormalizedEvent, matched: readonly LoadedRule[], ctx: PlanContext): StateNeeds {
  const ids = new Set(matched.map((r) => r.rule.id));
  const timelines: string[] = [];
  for (const loaded of matched) {
    const { rule } = loaded;
    if (!rule.generate) continue;
    const c = rule.correlation;
    if (c) {
      const group = groupOf(c.group_by, event);
      if (group && (correlated(loaded, ids, event)?.length ?? 0) > 0)
        timelines.push(correlationKey(ctx.statePrefix, rule, group));
    }
    const g = dedupGroup(rule, event);
    if (rule.dedup && g !== undefined) timelines.push(suppressionKey(ctx.statePrefix, rule, event, g));
  }
  timelines.push(riskKey(ctx.statePrefix, event));
  return { lookups: dedupSlots(ctx.statePrefix, event, ctx.dedupWindowMs), timelines };
}

type Base = Pick<Decision, "time" | "alert" | "trace_id" | "risk">;

/** Plans the decisions about one event. */
export function plan(
  event: NormalizedEvent,
  matched: readonly LoadedRule[],
  snapshot: Snapshot,
  ctx: PlanContext,
): Plan {
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
  const digest = contentDigest(event);
  const slots = dedupSlots(ctx.statePrefix, event, ctx.dedupWindowMs);
  const recorded = snapshot.lookups.find((v) => v !== undefined);
  const verdict = verdictOf(recorded, digest, ctx.delivery);
  // Plain rules (not correlations) add their score to the entity's risk; a duplicate adds nothing again.
  const own: Contribution[] =
    verdict === "duplicate"
      ? []
      : matched
          .filter((r) => !r.rule.correlation && r.rule.score > 0)
          .map((r) => ({ rule: r.rule.id, alert: alert.uid, score: r.rule.score, time: event.time }));
  const riskStored = snapshot.timelines.get(riskKey(ctx.statePrefix, event)) ?? [];
  const risk = riskAt(event.riposte.entity_key, riskStored, own, event.time, ctx.riskHalfLifeMs);
  const base: Base = { time: ctx.now, alert, ...(ctx.traceId ? { trace_id: ctx.traceId } : {}), risk };
  const fp = event.riposte.fingerprint;
  if (verdict === "duplicate") {
    return {
      decisions: [
        {
          ...base,
          id: stableId("duplicate", fp, digest, ctx.delivery),
          outcome: "duplicate",
          reason: "the same alert, with the same content, was received before within the dedup window",
          ...linksTo(recordedSpan(recorded)),
        },
      ],
      ops: [],
      verdict,
      late: 0,
    };
  }
  const ops: StateOp[] = [];
  const slot = slots[0] as { key: string; field: string };
  if (verdict !== "redelivery") {
    const value = dedupValue(
      digest,
      ctx.delivery,
      ctx.traceId && ctx.spanId ? { traceId: ctx.traceId, spanId: ctx.spanId } : undefined,
    );
    ops.push({ op: "record", key: slot.key, field: slot.field, value, ttlMs: 2 * ctx.dedupWindowMs });
  }
  const decisions: Decision[] = [];
  const reasons: string[] = [];
  if (own.length > 0) {
    const latest = Math.max(event.time, ...riskStored.map((e) => e.time));
    ops.push({
      op: "append",
      key: riskKey(ctx.statePrefix, event),
      entries: own.map(contributionEntry),
      cutoffMs: riskCutoff(latest, ctx.riskHalfLifeMs),
      cap: MAX_CONTRIBUTIONS,
      ttlMs: riskHorizon(ctx.riskHalfLifeMs),
    });
  }
  const belowRisk = (rule: RuleFile) => {
    if (!rule.risk || risk.score >= rule.risk.gte) return false;
    reasons.push(`${rule.id}: the entity's risk ${risk.score} is below ${rule.risk.gte}`);
    return true;
  };
  const ids = new Set(matched.map((r) => r.rule.id));
  const emitting = matched.filter((r) => r.rule.generate);
  const score = Math.min(
    100,
    emitting.reduce((s, r) => s + r.rule.score, 0),
  );
  let late = 0;
  for (const loaded of emitting) {
    const { rule } = loaded;
    const c = rule.correlation;
    if (!c) {
      if (!belowRisk(rule)) decisions.push(decideRule(loaded, event, base, score, snapshot, ops, ctx));
      continue;
    }
    const tags = correlated(loaded, ids, event) ?? [];
    if (tags.length === 0) {
      if (c.type === "value_count" || c.type === "new_terms")
        reasons.push(`${rule.id}: ${c.field?.join(" | ")} is missing`);
      continue;
    }
    const group = groupOf(c.group_by, event);
    if (!group) {
      reasons.push(`${rule.id}: group field missing (${c.group_by.map((g) => g.from.join(" | ")).join(", ")})`);
      continue;
    }
    const step = correlate(rule, c, group, tags, event, alert.uid, snapshot, ctx);
    ops.push(...step.ops);
    if (step.late) late++;
    if (step.reason) reasons.push(`${rule.id}: ${step.reason}`);
    const firing = step.firing;
    if (!firing || belowRisk(rule)) continue;
    const ref = correlationRef(c, group, firing);
    const opener = firing.used[0] as WindowEvent;
    const alertIds = [...new Set([...firing.used.map((e) => e.uid), alert.uid])];
    const id = stableId(rule.id, rule.version, "correlation", canonicalJson(group), opener.time, opener.uid);
    const links = contributingLinks(firing.used, alert.uid);
    decisions.push(
      decideRule(loaded, event, base, score, snapshot, ops, ctx, {
        id,
        correlation: ref,
        alert_ids: alertIds,
        group,
        ...(links.length > 0 ? { links } : {}),
      }),
    );
  }
  if (decisions.length === 0) {
    decisions.push({
      ...base,
      id: stableId("no_match", fp, digest),
      outcome: "no_match",
      ...(reasons.length > 0 ? { reason: reasons.join("; ") } : {}),
    });
  }
  return { decisions, ops, verdict, late };
}

/** One correlation's step for one event: the window's state operation, and a firing or the reason there is none. */
function correlate(
  rule: RuleFile,
  c: Correlation,
  group: Record<string, string>,
  tags: readonly string[],
  event: NormalizedEvent,
  uid: string,
  snapshot: Snapshot,
  ctx: PlanContext,
): { ops: StateOp[]; firing?: Firing; reason?: string; late?: true } {
  const key = correlationKey(ctx.statePrefix, rule, group);
  const window = readWindow(snapshot.timelines.get(key) ?? []);
  const lateness = c.lateness ?? ctx.latenessMs;
  if (window.latest !== undefined && event.time < window.latest - lateness) {
    const behind = window.latest - event.time;
    return {
      ops: [],
      late: true,
      reason: `late: the event time is ${behind} ms behind the group's latest event, more than the ${lateness} ms allowed; decided alone`,
    };
  }
  const latest = Math.max(window.latest ?? event.time, event.time);
  if (c.type === "new_terms") {
    const history = c.history ?? 0;
    const value = tags[0] as string;
    const op: StateOp = {
      op: "append",
      key,
      entries: [{ member: value, time: event.time }],
      cutoffMs: latest - history,
      cap: c.max_terms,
      ttlMs: history + lateness,
    };
    if (!isNewTerm(window, value, event.time, history))
      return { ops: [op], reason: `${value} was seen for the group within ${history} ms` };
    return {
      ops: [op],
      firing: { start: event.time - history, end: event.time, used: [{ uid, time: event.time, tag: value }] },
    };
  }
  const span = c.timespan ?? 0;
  const own = ctx.traceId && ctx.spanId ? { span: { traceId: ctx.traceId, spanId: ctx.spanId } } : {};
  const current: WindowEvent[] = tags.map((tag) => ({ uid, time: event.time, tag, ...own }));
  const entries = current.map(memberOf);
  const firing = evaluate(c, unspent(window, current), event.time);
  if (firing) entries.push(firedMark(uid, firing.end));
  const op: StateOp = {
    op: "append",
    key,
    entries,
    cutoffMs: latest - span - lateness,
    cap: MAX_WINDOW_EVENTS,
    ttlMs: span + lateness,
  };
  if (firing) return { ops: [op], firing };
  return { ops: [op], reason: `${progress(c, unspent(window, current, event.time), event.time)} within ${span} ms` };
}

interface Fired {
  readonly id: string;
  readonly correlation: NonNullable<Decision["correlation"]>;
  readonly alert_ids: string[];
  readonly group: Record<string, string>;
  readonly links?: NonNullable<Decision["links"]>;
}

/** Links a decision carries at most (the Decision schema's bound). */
export const MAX_LINKS = 50;

/**
 * Links to the spans that decided the other alerts a correlation used, oldest first, one per span, at most
 * MAX_LINKS; the deciding alert is the decision's own trace and gets none.
 */
function contributingLinks(used: readonly WindowEvent[], current: string): NonNullable<Decision["links"]> {
  const seen = new Set<string>();
  const links: Array<{ trace_id: string; span_id: string }> = [];
  for (const e of used) {
    if (links.length >= MAX_LINKS) break;
    if (!e.span || e.uid === current || seen.has(e.span.spanId)) continue;
    seen.add(e.span.spanId);
    links.push({ trace_id: e.span.traceId, span_id: e.span.spanId });
  }
  return links;
}

/** One rule's decision: rule dedup (suppression in event time), then the response. */
function decideRule(
  loaded: LoadedRule,
  event: NormalizedEvent,
  base: Base,
  score: number,
  snapshot: Snapshot,
  ops: StateOp[],
  ctx: PlanContext,
  fired?: Fired,
): Decision {
  const { rule } = loaded;
  const ruleRef = { id: rule.id, version: rule.version, hash: loaded.hash, name: rule.name };
  const uid = base.alert.uid;
  const common = {
    ...base,
    rule: ruleRef,
    score,
    alert_ids: fired?.alert_ids ?? [uid],
    ...(fired ? { correlation: fired.correlation } : {}),
    ...(fired?.links ? { links: fired.links } : {}),
  };
  const group = dedupGroup(rule, event);
  const fp = event.riposte.fingerprint;
  if (group === undefined) {
    return {
      ...common,
      id: stableId(rule.id, rule.version, "missing", fp),
      outcome: "suppressed",
      reason: `dedup field missing: ${rule.dedup?.fields.join(", ")}`,
    };
  }
  const window = rule.dedup?.window ?? 0;
  const windowStart = window > 0 ? Math.floor(event.time / window) * window : 0;
  // The alert that opened the group: a redelivery collapses into the same decision, a later alert of the same group
  // (in a later window) gets a decision of its own.
  const id = fired?.id ?? stableId(rule.id, rule.version, group, windowStart, fp);
  const withGroup = { ...common, id, group_key: group, window_start: windowStart };
  if (rule.dedup) {
    const key = suppressionKey(ctx.statePrefix, rule, event, group);
    const opened = (snapshot.timelines.get(key) ?? []).find(
      (e) => e.time >= windowStart && e.time < windowStart + window && e.member !== uid,
    );
    if (opened) {
      return {
        ...withGroup,
        id: stableId(id, fp),
        outcome: "suppressed",
        reason: `rule dedup: same ${rule.dedup.fields.join(", ")} within ${rule.dedup.window} ms (event time)`,
      };
    }
    const latest = Math.max(event.time, ...(snapshot.timelines.get(key) ?? []).map((e) => e.time));
    ops.push({
      op: "append",
      key,
      entries: [{ member: uid, time: event.time }],
      cutoffMs: latest - 2 * window - ctx.latenessMs,
      cap: MAX_WINDOW_EVENTS,
      ttlMs: 2 * window + ctx.latenessMs,
    });
  }
  if (!rule.decision) return { ...withGroup, outcome: "respond" };
  const data = fired ? { ...event, correlation: { group: fired.group } } : event;
  try {
    const target = { type: rule.decision.target.type, value: String(render(rule.decision.target.value, data)) };
    return {
      ...withGroup,
      outcome: "respond",
      playbook: rule.decision.playbook,
      target,
      params: renderAll(rule.decision.params, data),
      approval: rule.decision.approval,
    };
  } catch (e) {
    if (!isRiposteError(e)) throw e;
    return { ...withGroup, outcome: "suppressed", reason: `cannot target a response: ${e.message}` };
  }
}
