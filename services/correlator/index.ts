/** The correlator's public surface: the service, its pure planner, and rule loading. */
export {
  Correlator,
  DEFAULT_LATENESS_MS,
  DEFAULT_RISK_HALF_LIFE_MS,
  type CorrelatorDeps,
  type Outcome,
} from "./correlator.ts";
export {
  incidentEntities,
  joinsIncident,
  planIncident,
  type IncidentContext,
  type IncidentPlan,
  type IncidentSnapshot,
} from "./incidents.ts";
export { needs, plan, type Plan, type PlanContext, type Snapshot, type StateNeeds, type StateOp } from "./plan.ts";
export { correlationProblems } from "./correlation.ts";
export { contentDigest, type DedupVerdict } from "./dedup.ts";
export { RuleSet, type LoadedRule } from "./ruleset.ts";
export { loadLists, loadRules } from "./load.ts";
export type { IndicatorList } from "./lists.ts";
