/**
 * Correlation windows in event time, as pure functions: which group an event belongs to, how a window is stored as
 * timeline members, and whether the stored events plus this one satisfy a correlation. No I/O, no clock.
 */
import type { Correlation, CorrelationRef, GroupBy, NormalizedEvent } from "../../schemas/index.ts";
import { canonicalJson } from "../shared/ids.ts";
import type { TimelineEntry } from "../shared/state/index.ts";
import { valueAt } from "../shared/template.ts";
import { decodeSpanRef, encodeSpanRef, type SpanRef } from "./dedup.ts";

/** One event in a correlation window: the alert's uid, its event time and what it counts as (a rule id or a value). */
export interface WindowEvent {
  readonly uid: string;
  readonly time: number;
  readonly tag: string;
  /** The span that decided the event, kept (while spans are exported) for the firing decision's links. */
  readonly span?: SpanRef | undefined;
}

/** A correlation that fired: the window and the events it used, oldest first. */
export interface Firing {
  readonly start: number;
  readonly end: number;
  readonly used: readonly WindowEvent[];
}

/** Most events one correlation window keeps per group; the oldest go first. */
export const MAX_WINDOW_EVENTS = 10_000;

const SEP = "\u001f";
/** Members that mark a firing: `\u0000fired<SEP><uid of the event that completed it>`, at the window's end. */
const FIRED = `\u0000fired${SEP}`;
/** Before the span reference a member may end with: `<uid><SEP><tag><SPAN_SEP><32 characters>`. */
const SPAN_SEP = "\u001e";

/** The first present value among `paths`, as a lower-cased string (values differ in case between vendors). */
export function firstValue(event: NormalizedEvent, paths: readonly string[]): string | undefined {
  for (const p of paths) {
    const v = valueAt(event, p);
    if (v === undefined || v === null || v === "") continue;
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v).toLowerCase();
    return canonicalJson(v).toLowerCase();
  }
  return undefined;
}

/** The event's group, by group-by name; undefined when one of them has no value in the event. */
export function groupOf(groupBy: readonly GroupBy[], event: NormalizedEvent): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const g of groupBy) {
    const v = firstValue(event, g.from);
    if (v === undefined) return undefined;
    out[g.field] = v;
  }
  return out;
}

/** Timeline members of window events, and of a firing mark. */
export function memberOf(e: WindowEvent): TimelineEntry {
  const ref = encodeSpanRef(e.span);
  return { member: `${e.uid}${SEP}${e.tag}${ref ? `${SPAN_SEP}${ref}` : ""}`, time: e.time };
}
export function firedMark(closer: string, end: number): TimelineEntry {
  return { member: `${FIRED}${closer}`, time: end };
}

/** A stored timeline read back: its events, its firing marks and the latest event time it holds. */
export interface Window {
  readonly events: WindowEvent[];
  readonly fired: ReadonlyArray<{ readonly closer: string; readonly end: number }>;
  readonly latest: number | undefined;
}

export function readWindow(entries: readonly TimelineEntry[]): Window {
  const events: WindowEvent[] = [];
  const fired: Array<{ closer: string; end: number }> = [];
  let latest: number | undefined;
  for (const { member, time } of entries) {
    latest = latest === undefined ? time : Math.max(latest, time);
    if (member.startsWith(FIRED)) {
      fired.push({ closer: member.slice(FIRED.length), end: time });
      continue;
    }
    const s = member.lastIndexOf(SPAN_SEP);
    const span = s < 0 ? undefined : decodeSpanRef(member.slice(s + 1));
    const m = span ? member.slice(0, s) : member;
    const i = m.lastIndexOf(SEP);
    const e = i < 0 ? { uid: m, time, tag: "" } : { uid: m.slice(0, i), time, tag: m.slice(i + 1) };
    events.push(span ? { ...e, span } : e);
  }
  return { events, fired, latest };
}

const byTime = (a: WindowEvent, b: WindowEvent) =>
  a.time - b.time || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);

/**
 * The events that still count for a new firing: the stored ones and the current ones, minus those spent by an
 * earlier firing (at or before its end). A firing completed by the current alert itself is ignored, so a redelivered
 * alert decides as it did the first time. With `asOf`, firings that ended after it are ignored too: what the window
 * held at that event time, for the reason of a decision that did not fire (the same on a redelivery).
 */
export function unspent(window: Window, current: readonly WindowEvent[], asOf = Infinity): WindowEvent[] {
  const uid = current[0]?.uid;
  const marks = window.fired.filter((f) => f.closer !== uid && f.end <= asOf);
  const spentUntil = Math.max(-Infinity, ...marks.map((f) => f.end));
  const seen = new Set<string>();
  const out: WindowEvent[] = [];
  for (const e of [...window.events, ...current]) {
    const id = `${e.uid}${SEP}${e.tag}`;
    if (e.time <= spentUntil || seen.has(id)) continue;
    seen.add(id);
    out.push(e);
  }
  return out.sort(byTime);
}

/** The events of a window that satisfy a temporal_ordered sequence, or undefined. */
function sequence(rules: ReadonlyArray<{ rule: string; gte: number }>, window: readonly WindowEvent[]) {
  const used: WindowEvent[] = [];
  let i = 0;
  let after = -Infinity;
  for (const step of rules) {
    let n = 0;
    let last = after;
    for (; i < window.length && n < step.gte; i++) {
      const e = window[i] as WindowEvent;
      if (e.tag !== step.rule || e.time < after) continue;
      used.push(e);
      n++;
      last = e.time;
    }
    if (n < step.gte) return undefined;
    after = last;
  }
  return used;
}

/** The events of a window that satisfy the correlation, or undefined. */
function satisfied(c: Correlation, window: readonly WindowEvent[]): readonly WindowEvent[] | undefined {
  switch (c.type) {
    case "event_count":
      return new Set(window.map((e) => e.uid)).size >= (c.condition?.gte ?? 1) ? window : undefined;
    case "value_count":
      return new Set(window.map((e) => e.tag)).size >= (c.condition?.gte ?? 1) ? window : undefined;
    case "temporal": {
      const ok = (c.rules ?? []).every((r) => window.filter((e) => e.tag === r.rule).length >= r.gte);
      return ok ? window : undefined;
    }
    case "temporal_ordered":
      return sequence(c.rules ?? [], window);
    case "new_terms":
      return undefined;
  }
}

/**
 * The earliest window of `timespan` that contains the current event and satisfies the correlation, among the
 * unspent events (oldest first). Windows start at each event at most `timespan` before the current one, so an event
 * that arrives out of order still completes the window it belongs to in event time.
 */
export function evaluate(c: Correlation, events: readonly WindowEvent[], now: number): Firing | undefined {
  const span = c.timespan ?? 0;
  for (const start of events) {
    if (start.time < now - span) continue;
    if (start.time > now) break;
    const window = events.filter((e) => e.time >= start.time && e.time <= start.time + span);
    const used = satisfied(c, window);
    if (used && used.length > 0) {
      return { start: (used[0] as WindowEvent).time, end: (used[used.length - 1] as WindowEvent).time, used };
    }
  }
  return undefined;
}

/**
 * new_terms: whether `value` is new for the group at time `now`, given its history. A sighting at exactly `now` is
 * this alert's own (a redelivery), so it does not make the value known.
 */
export function isNewTerm(history: Window, value: string, now: number, historyMs: number): boolean {
  return !history.events.some((e) => e.uid === value && e.time !== now && e.time >= now - historyMs);
}

/** How the decision describes a firing. */
export function correlationRef(c: Correlation, group: Record<string, string>, firing: Firing): CorrelationRef {
  const values = [...new Set(firing.used.map((e) => e.tag))];
  return {
    type: c.type,
    group,
    window: { start: firing.start, end: firing.end },
    ...(c.type === "value_count" || c.type === "new_terms"
      ? { values }
      : { count: new Set(firing.used.map((e) => `${e.uid}${SEP}${e.tag}`)).size }),
  };
}

/** What a correlation that did not fire has so far, for the decision's reason. */
export function progress(c: Correlation, events: readonly WindowEvent[], now: number): string {
  const span = c.timespan ?? 0;
  const recent = events.filter((e) => e.time >= now - span && e.time <= now);
  switch (c.type) {
    case "event_count":
      return `${new Set(recent.map((e) => e.uid)).size} of ${c.condition?.gte} events`;
    case "value_count":
      return `${new Set(recent.map((e) => e.tag)).size} of ${c.condition?.gte} distinct values`;
    default:
      return (c.rules ?? [])
        .map((r) => `${r.rule} ${recent.filter((e) => e.tag === r.rule).length}/${r.gte}`)
        .join(", ");
  }
}

/** A rule as the cross-reference check sees it. */
interface CheckedRule {
  readonly rule: {
    readonly id: string;
    readonly correlation?: Correlation | undefined;
    readonly generate: boolean;
    readonly score: number;
    readonly decision?: unknown;
  };
  readonly file: string;
}

/**
 * Cross-references between rules that one file's schema cannot check: the rules a temporal correlation names exist,
 * are enabled plain rules and are not itself; a non-emitting rule (`generate: false`) has no decision and feeds some
 * temporal correlation or the entity's risk (a score above 0). Returns one problem per finding, each naming the file.
 */
export function correlationProblems(rules: readonly CheckedRule[]): string[] {
  const byId = new Map(rules.map((r) => [r.rule.id, r]));
  const inputs = new Set<string>();
  const problems: string[] = [];
  for (const { rule, file } of rules) {
    const c = rule.correlation;
    if (c?.type !== "temporal" && c?.type !== "temporal_ordered") continue;
    for (const { rule: id } of c.rules ?? []) {
      inputs.add(id);
      const input = byId.get(id);
      if (id === rule.id) problems.push(`${file}: correlation.rules names the rule itself`);
      else if (!input) problems.push(`${file}: correlation.rules names "${id}", which is not a loaded (enabled) rule`);
      else if (input.rule.correlation)
        problems.push(`${file}: correlation.rules names "${id}", a correlation rule; only plain rules can be inputs`);
    }
  }
  for (const { rule, file } of rules) {
    if (rule.generate) continue;
    if (rule.correlation)
      problems.push(
        `${file}: generate is false on a correlation rule: it could never fire (only plain rules are inputs)`,
      );
    if (rule.decision !== undefined)
      problems.push(`${file}: generate is false, so its decision would never be made: remove one of them`);
    if (!inputs.has(rule.id) && rule.score === 0)
      problems.push(
        `${file}: generate is false but no temporal correlation names "${rule.id}" and its score is 0: it would do nothing`,
      );
  }
  return problems;
}
