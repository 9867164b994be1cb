/**
 * The executor's safety settings as configuration text, parsed once at start (services/shared/config.ts calls
 * these and reports every problem with its variable). Pure.
 *
 * Budgets (`RIPOSTE_BUDGETS`), comma-separated, each `[rule:<rule id>|rule:*:]<what>:<limit>/<window>`:
 * - `<what>` is an action class (containment, notify, enrich, ticket), an action name (`contain_host`) or a
 *   connector action (`crowdstrike.contain_host`);
 * - without `rule:` the budget is global (every rule together); `rule:*:` gives every rule its own budget of
 *   that size; `rule:<id>:` one rule's budget.
 * `containment:20/10m,rule:*:containment:5/10m` = at most 20 containment actions per 10 minutes in all, and 5 per
 * rule. The (N+1)th is refused and audited `refused_budget`.
 *
 * Rate limits (`RIPOSTE_RATE_LIMITS`), each `<connector|*>:<requests>/<interval>`: a token bucket per connector
 * shared by every executor, holding `requests` tokens (the burst) and refilled by as many per interval; a call
 * without a token waits for one.
 *
 * Circuit breakers (`RIPOSTE_CIRCUIT_BREAKERS`), each `<connector|*>:<failures>/<open for>`: after that many
 * consecutive failures (5xx, timeouts, network errors) the connector is not called for the open time, then one
 * probe call decides (half-open).
 */
import { parseDuration } from "../../schemas/duration.ts";

const CLASSES = new Set(["containment", "notify", "enrich", "ticket"]);
const NAME = /^[a-z0-9][a-z0-9_-]*$/;
const RULE_ID = /^[a-z0-9][a-z0-9._-]*$/;

export interface BudgetSpec {
  /** The configuration text, for audit records and logs. */
  readonly text: string;
  /** `undefined` = global; `*` = every rule its own; else one rule id. */
  readonly rule: string | undefined;
  /** An action class, an action name or `connector.action`. */
  readonly what: string;
  readonly limit: number;
  readonly windowMs: number;
}

export interface RateSpec {
  readonly connector: string;
  readonly capacity: number;
  readonly intervalMs: number;
}

export interface BreakerSpec {
  readonly connector: string;
  readonly failures: number;
  readonly openMs: number;
}

export interface Parsed<T> {
  readonly value: T[];
  readonly problems: string[];
}

const entries = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** `<count>/<duration>` with a positive whole count. */
function perWindow(text: string): { count: number; ms: number } | undefined {
  const m = /^(\d{1,9})\/(.+)$/.exec(text);
  const ms = m ? parseDuration(m[2] as string) : undefined;
  const count = m ? Number(m[1]) : 0;
  return ms !== undefined && count > 0 ? { count, ms } : undefined;
}

export function parseBudgets(text: string): Parsed<BudgetSpec> {
  const value: BudgetSpec[] = [];
  const problems: string[] = [];
  for (const e of entries(text)) {
    const m = /^(?:rule:([^:]+):)?([^:]+):([^:]+)$/.exec(e);
    const rule = m?.[1];
    const what = m?.[2] ?? "";
    const w = m ? perWindow(m[3] as string) : undefined;
    const whatOk = CLASSES.has(what) || NAME.test(what) || /^[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9_-]*$/.test(what);
    if (!m || !w || !whatOk || (rule !== undefined && rule !== "*" && !RULE_ID.test(rule))) {
      problems.push(
        `"${e}": expected [rule:<rule id>|rule:*:]<class|action|connector.action>:<limit>/<window>, e.g. containment:20/10m`,
      );
      continue;
    }
    value.push({ text: e, rule, what, limit: w.count, windowMs: w.ms });
  }
  return { value, problems };
}

function perConnector<T>(text: string, example: string, make: (connector: string, count: number, ms: number) => T) {
  const value: T[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const e of entries(text)) {
    const m = /^([^:]+):(.+)$/.exec(e);
    const connector = m?.[1] ?? "";
    const w = m ? perWindow(m[2] as string) : undefined;
    if (!m || !w || (connector !== "*" && !NAME.test(connector))) {
      problems.push(`"${e}": expected <connector|*>:<count>/<duration>, e.g. ${example}`);
      continue;
    }
    if (seen.has(connector)) problems.push(`"${e}": ${connector} is listed twice`);
    seen.add(connector);
    value.push(make(connector, w.count, w.ms));
  }
  return { value, problems };
}

export function parseRateLimits(text: string): Parsed<RateSpec> {
  return perConnector(text, "crowdstrike:100/1s", (connector, capacity, intervalMs) => ({
    connector,
    capacity,
    intervalMs,
  }));
}

export function parseBreakers(text: string): Parsed<BreakerSpec> {
  return perConnector(text, "*:5/30s", (connector, failures, openMs) => ({ connector, failures, openMs }));
}

/** The spec for a connector: its own entry, else the `*` entry. */
export function forConnector<T extends { connector: string }>(specs: readonly T[], connector: string): T | undefined {
  return specs.find((s) => s.connector === connector) ?? specs.find((s) => s.connector === "*");
}

/** Defaults when a variable is unset. */
export const GUARD_DEFAULTS = {
  budgets: "containment:20/10m,rule:*:containment:10/10m",
  rateLimits: "*:50/1s",
  breakers: "*:5/30s",
  /** Shown in the documentation; the value is 3 600 000 ms. */
  maxDecisionAge: "1h",
} as const;

/** The guards' configuration as loaded once at start (the protected list from RIPOSTE_PROTECTED only). */
export interface GuardConfig {
  readonly budgets: readonly BudgetSpec[];
  readonly rateLimits: readonly RateSpec[];
  readonly breakers: readonly BreakerSpec[];
  readonly maxDecisionAgeMs: number;
  readonly killSwitch: boolean;
  readonly protected: {
    readonly hosts: readonly string[];
    readonly users: readonly string[];
    readonly ips: readonly string[];
    readonly cidrs: readonly string[];
  };
}
