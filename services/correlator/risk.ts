/**
 * Entity risk, pure: matching rules add their score to the alert's entity; contributions halve every half-life in
 * event time. Stored as a timeline per entity whose members name the rule, the alert and the score.
 */
import type { NormalizedEvent, RiskRef } from "../../schemas/index.ts";
import { stateKey, type TimelineEntry } from "../shared/state/index.ts";

const SEP = "\u001f";

/** Most contributions kept per entity; the oldest go first. */
export const MAX_CONTRIBUTIONS = 1_000;
/** Contributions older than this many half-lives weigh under 0.1% and are dropped. */
const HORIZON_HALF_LIVES = 10;
/** Contributors listed on a decision. */
const TOP = 5;

export interface Contribution {
  readonly rule: string;
  readonly alert: string;
  readonly score: number;
  readonly time: number;
}

export function riskKey(prefix: string, event: NormalizedEvent): string {
  return stateKey(prefix, event.riposte.entity_key, "risk", "v1");
}

export function contributionEntry(c: Contribution): TimelineEntry {
  return { member: [c.rule, c.alert, c.score].join(SEP), time: c.time };
}

function contributionOf(e: TimelineEntry): Contribution | undefined {
  const [rule, alert, score] = e.member.split(SEP);
  if (rule === undefined || alert === undefined || score === undefined || !Number.isFinite(Number(score)))
    return undefined;
  return { rule, alert, score: Number(score), time: e.time };
}

/**
 * The entity's risk at time `now`: stored contributions up to `now` and this alert's own, each weighted by
 * 0.5^(age / half-life); a stored copy of one of this alert's contributions (a redelivery) counts once.
 */
export function riskAt(
  entity: string,
  stored: readonly TimelineEntry[],
  own: readonly Contribution[],
  now: number,
  halfLifeMs: number,
): RiskRef {
  const seen = new Set(own.map((c) => contributionEntry(c).member));
  const all = [
    ...stored
      .filter((e) => !seen.has(e.member))
      .map(contributionOf)
      .filter((c): c is Contribution => c !== undefined && c.time <= now),
    ...own,
  ];
  const weighted = all.map((c) => ({ ...c, weight: c.score * 0.5 ** ((now - c.time) / halfLifeMs) }));
  const round = (n: number) => Math.round(n * 100) / 100;
  const contributors = weighted
    .sort((a, b) => b.weight - a.weight || b.time - a.time || (a.alert < b.alert ? -1 : 1))
    .slice(0, TOP)
    .map((c) => ({ rule: c.rule, alert: c.alert, score: round(c.weight) }));
  return { entity, score: round(weighted.reduce((s, c) => s + c.weight, 0)), contributors };
}

/** How long a contribution matters: after this many ms it weighs under 0.1%. */
export function riskHorizon(halfLifeMs: number): number {
  return HORIZON_HALF_LIVES * halfLifeMs;
}

/** Where to cut the stored contributions after adding at `latest`. */
export function riskCutoff(latest: number, halfLifeMs: number): number {
  return latest - riskHorizon(halfLifeMs);
}
