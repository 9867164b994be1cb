/**
 * Safety the executor enforces whatever a rule says: a kill switch for containment, a maximum decision age,
 * protected assets, blast-radius budgets, one containment at a time per target, and per-connector rate limits and
 * circuit breakers. Budgets, the kill switch, the target locks and the rate-limit buckets live in shared state, so
 * every executor process sees the same ones.
 */
import { join } from "node:path";
import type { Decision, Target } from "../../schemas/index.ts";
import { RiposteError } from "../shared/errors.ts";
import type { Metrics } from "../shared/metrics.ts";
import { stateKey, type StateStore } from "../shared/state/index.ts";
import {
  GUARD_DEFAULTS,
  forConnector,
  parseBreakers,
  parseBudgets,
  parseRateLimits,
  type BreakerSpec,
  type BudgetSpec,
  type GuardConfig,
  type RateSpec,
} from "./guard-config.ts";
import { CircuitBreaker, takeToken, type BreakerState } from "./limits.ts";
import { ProtectedAssets, loadProtectedFile, type ResolvedAssets } from "./protected.ts";
import type { Classification } from "./connectors/index.ts";

export interface GuardSettings {
  readonly budgets: readonly BudgetSpec[];
  readonly rateLimits: readonly RateSpec[];
  readonly breakers: readonly BreakerSpec[];
  /** Containment for a decision older than this is refused as stale. */
  readonly maxDecisionAgeMs: number;
  /** RIPOSTE_KILL_SWITCH=on: containment paused whatever the API says. */
  readonly killSwitch: boolean;
  readonly protected: ProtectedAssets;
}

/** The defaults of every guard (what an unset variable means), with nothing protected. */
export function defaultGuardSettings(over: Partial<GuardSettings> = {}): GuardSettings {
  return {
    budgets: parseBudgets(GUARD_DEFAULTS.budgets).value,
    rateLimits: parseRateLimits(GUARD_DEFAULTS.rateLimits).value,
    breakers: parseBreakers(GUARD_DEFAULTS.breakers).value,
    maxDecisionAgeMs: 3_600_000,
    killSwitch: false,
    protected: new ProtectedAssets(),
    ...over,
  };
}

/** The protected-assets file, under the rules directory (a subdirectory: the top level holds rule files only). */
export const PROTECTED_FILE = "protected.yaml";

/** The guards' settings from configuration plus the protected-assets file; a bad file stops the start. */
export async function loadGuardSettings(config: GuardConfig, rulesDir: string): Promise<GuardSettings> {
  const file = await loadProtectedFile(join(rulesDir, PROTECTED_FILE));
  return { ...config, protected: new ProtectedAssets(config.protected, file) };
}

/** The kill switch as the API shows it: in force if either configuration or the API turned it on. */
export interface KillSwitchState {
  readonly on: boolean;
  /** RIPOSTE_KILL_SWITCH=on (only a configuration change lifts it). */
  readonly config: boolean;
  readonly api: { readonly on: boolean; readonly reason?: string; readonly by?: string; readonly since?: number };
}

/** Every guard as `GET /v1/guards` shows it: budgets with their use, the kill switch, rate limits, breakers. */
export interface GuardsView {
  readonly budgets: ReadonlyArray<{
    readonly budget: string;
    readonly what: string;
    /** `global`, `rule:<id>` (one rule's own budget, also each rule's place in a `rule:*` budget). */
    readonly scope: string;
    readonly limit: number;
    readonly window: string;
    readonly used: number;
  }>;
  readonly kill_switch: KillSwitchState;
  readonly rate_limits: ReadonlyArray<{ readonly connector: string; readonly requests: number; readonly per: string }>;
  readonly breakers: ReadonlyArray<{
    readonly connector: string;
    readonly failures: number;
    readonly open_for: string;
    /**
     * Each connector's breaker under this spec as this process sees it (each executor judges a vendor by its own
     * calls); a connector this process has not called is not listed.
     */
    readonly state: Readonly<Record<string, BreakerState>>;
  }>;
  readonly max_decision_age: string;
}

/** What a step is, for budgets. */
export interface BudgetSubject {
  readonly rule: string | undefined;
  readonly classification: Classification;
  readonly connector: string;
  readonly action: string;
}

export interface BudgetRefusal {
  readonly spec: BudgetSpec;
  readonly count: number;
}

function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`;
}

/** An age as a duration, to the second (at least 1 s). */
const ago = (ms: number) => duration(Math.max(1, Math.round(ms / 1000)) * 1000);

export class Guards {
  readonly settings: GuardSettings;
  private readonly state: StateStore;
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly metrics: Metrics | undefined;
  private readonly breakers = new Map<string, CircuitBreaker | undefined>();
  /** Rules this process already noted in the per-rule budgets' set. */
  private readonly ruleNoted = new Set<string>();

  constructor(opts: {
    state: StateStore;
    prefix: string;
    settings: GuardSettings;
    now?: () => number;
    metrics?: Metrics;
  }) {
    this.state = opts.state;
    this.prefix = opts.prefix;
    this.settings = opts.settings;
    this.now = opts.now ?? Date.now;
    this.metrics = opts.metrics;
  }

  private get killKey(): string {
    return `${this.prefix}:{guards}:kill-switch`;
  }

  async killSwitch(): Promise<KillSwitchState> {
    let api: KillSwitchState["api"] = { on: false };
    const raw = await this.state.getValue(this.killKey);
    if (raw !== undefined) {
      try {
        const v = JSON.parse(raw) as { on?: unknown; reason?: unknown; by?: unknown; since?: unknown };
        api = {
          on: v.on === true,
          ...(typeof v.reason === "string" ? { reason: v.reason } : {}),
          ...(typeof v.by === "string" ? { by: v.by } : {}),
          ...(typeof v.since === "number" ? { since: v.since } : {}),
        };
      } catch {
        // An unreadable switch is treated as on: pausing containment is the safe reading.
        api = { on: true, reason: "the stored kill switch is unreadable" };
      }
    }
    const on = this.settings.killSwitch || api.on;
    this.metrics?.gauge("riposte_kill_switch", {}, on ? 1 : 0);
    return { on, config: this.settings.killSwitch, api };
  }

  /** Turns the shared kill switch on or off (the configuration switch, when on, stays in force). */
  async setKillSwitch(on: boolean, reason?: string, by?: string): Promise<KillSwitchState> {
    await this.state.setValue(
      this.killKey,
      JSON.stringify({
        on,
        since: this.now(),
        ...(reason !== undefined ? { reason } : {}),
        ...(by !== undefined ? { by } : {}),
      }),
    );
    return this.killSwitch();
  }

  /** Every guard with its current use, for `GET /v1/guards`. */
  async view(): Promise<GuardsView> {
    const now = this.now();
    const rules = await this.state.listNames(this.rulesKey);
    const budgets: Array<GuardsView["budgets"][number]> = [];
    for (const spec of this.settings.budgets) {
      const scopes = spec.rule === undefined ? [undefined] : spec.rule === "*" ? rules : [spec.rule];
      for (const rule of scopes) {
        const used = await this.state.budgetCount(this.budgetKey(spec, rule), now, spec.windowMs);
        budgets.push({
          budget: spec.text,
          what: spec.what,
          scope: rule === undefined ? "global" : `rule:${rule}`,
          limit: spec.limit,
          window: duration(spec.windowMs),
          used,
        });
      }
    }
    return {
      budgets,
      kill_switch: await this.killSwitch(),
      rate_limits: this.settings.rateLimits.map((r) => ({
        connector: r.connector,
        requests: r.capacity,
        per: duration(r.intervalMs),
      })),
      breakers: this.settings.breakers.map((b) => ({
        connector: b.connector,
        failures: b.failures,
        open_for: duration(b.openMs),
        state: Object.fromEntries(
          [...this.breakers]
            .filter(([c, breaker]) => breaker && forConnector(this.settings.breakers, c) === b)
            .map(([c, breaker]) => [c, (breaker as CircuitBreaker).state]),
        ),
      })),
      max_decision_age: duration(this.settings.maxDecisionAgeMs),
    };
  }

  /** The set of rule ids that took a place in a per-rule (`rule:*`) budget, so the guards view can list them. */
  private get rulesKey(): string {
    return `${this.prefix}:{budget}:rules`;
  }

  /**
   * Why a decision is too old to contain on, or undefined. A step a person approved is judged by the approval's
   * time instead: the approver looked at it then, so a slow approval is not refused, but one that waited long
   * after it (held by the kill switch) is.
   */
  stale(decision: Decision, approvedAt?: number): string | undefined {
    const max = this.settings.maxDecisionAgeMs;
    if (approvedAt !== undefined) {
      const age = this.now() - Math.max(approvedAt, decision.time);
      return age > max
        ? `the approval of decision ${decision.id} is ${ago(age)} old; containment is refused beyond ${duration(max)} (RIPOSTE_MAX_DECISION_AGE)`
        : undefined;
    }
    const age = this.now() - decision.time;
    return age > max
      ? `decision ${decision.id} is ${ago(age)} old; containment is refused beyond ${duration(max)} (RIPOSTE_MAX_DECISION_AGE)`
      : undefined;
  }

  protectedTarget(target: Target): string | undefined {
    const why = this.settings.protected.checkTarget(target);
    return why && `${why} is a protected asset`;
  }

  protectedResolved(resolved: ResolvedAssets): string | undefined {
    const why = this.settings.protected.checkResolved(resolved);
    return why && `the vendor resolved the target to ${why}, a protected asset`;
  }

  private budgetKey(spec: BudgetSpec, rule: string | undefined): string {
    const scope = spec.rule === undefined ? "global" : `rule:${rule ?? "(none)"}`;
    return `${this.prefix}:{budget}:${scope}:${spec.what}:${spec.windowMs}`;
  }

  /**
   * Takes a place for the action in every budget that applies to it, or none: if one refuses, the places already
   * taken are given back. Returns the keys taken (to give back if the action is refused later) or the refusal.
   */
  async takeBudgets(
    actionId: string,
    s: BudgetSubject,
  ): Promise<{ taken: string[]; refused?: BudgetRefusal | undefined }> {
    const taken: string[] = [];
    for (const spec of this.settings.budgets) {
      const applies =
        (spec.what === s.classification || spec.what === s.action || spec.what === `${s.connector}.${s.action}`) &&
        (spec.rule === undefined || spec.rule === "*" || spec.rule === s.rule);
      if (!applies) continue;
      const key = this.budgetKey(spec, s.rule);
      if (spec.rule === "*" && !this.ruleNoted.has(s.rule ?? "(none)")) {
        await this.state.listNameAdd(this.rulesKey, s.rule ?? "(none)");
        this.ruleNoted.add(s.rule ?? "(none)");
      }
      const r = await this.state.budgetTake(key, actionId, this.now(), spec.windowMs, spec.limit);
      if (!r.admitted) {
        await this.releaseBudgets(actionId, taken);
        return { taken: [], refused: { spec, count: r.count } };
      }
      taken.push(key);
    }
    return { taken };
  }

  async releaseBudgets(actionId: string, keys: readonly string[]): Promise<void> {
    for (const k of keys) await this.state.budgetRelease(k, actionId);
  }

  /** Waits for the connector's shared rate limit. */
  async rateLimit(connector: string): Promise<void> {
    const spec = forConnector(this.settings.rateLimits, connector);
    if (spec) await takeToken(this.state, `${this.prefix}:{rate}:${connector}`, spec, this.now);
  }

  /** The connector's circuit breaker (one per connector in this process), if one is configured. */
  breaker(connector: string): CircuitBreaker | undefined {
    if (!this.breakers.has(connector)) {
      const spec = forConnector(this.settings.breakers, connector);
      this.breakers.set(connector, spec && new CircuitBreaker(spec, this.now));
    }
    return this.breakers.get(connector);
  }

  /**
   * Takes the target's containment lock (one containment step at a time per target, across executors), waiting up
   * to `waitMs`; throws a retriable error if it stays held (the decision is redelivered). Returns the lock's key:
   * the caller keeps it alive with its action claim and releases it with {@link unlockTarget}.
   */
  async lockTarget(entity: string, owner: string, ttlMs: number, waitMs: number): Promise<string> {
    const key = stateKey(this.prefix, entity, "containing", "target");
    const end = this.now() + waitMs;
    for (;;) {
      const r = await this.state.claim(key, owner, ttlMs);
      if (r.state === "acquired") return key;
      if (this.now() >= end)
        throw new RiposteError(
          "RIPOSTE_STATE_UNAVAILABLE",
          `another containment of ${entity} is running; this one will be retried`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Releases a target lock; best effort (it expires with its TTL otherwise). */
  async unlockTarget(key: string, owner: string): Promise<void> {
    await this.state.release(key, owner).catch(() => false);
  }
}
