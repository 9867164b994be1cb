/**
 * The live rule set: loaded at start, reloaded when the rules directory changes (watched), on SIGHUP, or on
 * request (`POST /v1/rules/reload`, or a reload request in shared state that every correlator polls). A reload
 * swaps the whole set atomically between batches; a broken set is refused with its errors logged, and the running
 * set stays. Its status (`GET /v1/rules`) names each rule's id, version, hash, file and hit count, and the last
 * reload and its result; correlators also publish it to shared state so the API service can show it.
 */
import { watch, type FSWatcher } from "node:fs";
import type { Logger } from "../shared/log.ts";
import { messageOf } from "../shared/errors.ts";
import type { StateStore } from "../shared/state/index.ts";
import { correlationProblems } from "./correlation.ts";
import type { LoadedRule, RuleSet } from "./ruleset.ts";

export interface ReloadResult {
  readonly at: number;
  readonly trigger: string;
  readonly ok: boolean;
  /** Rules loaded (enabled), when it succeeded. */
  readonly rules?: number;
  /** What is wrong with the set on disk, when it failed (the running set stays). */
  readonly errors?: readonly string[];
}

export interface RulesStatus {
  readonly loaded_at: number;
  readonly last_reload: ReloadResult | undefined;
  readonly rules: ReadonlyArray<{
    id: string;
    version: number;
    hash: string;
    file: string;
    name: string;
    hits: number;
  }>;
}

/** What the API needs: the status and a reload (direct, or requested through shared state). */
export interface RulesControl {
  status(): Promise<RulesStatus | undefined>;
  reload(trigger: string): Promise<ReloadResult | { readonly requested_at: number }>;
}

const statusKey = (prefix: string) => `${prefix}:{rules}:status`;
const requestKey = (prefix: string) => `${prefix}:{rules}:reload-request`;

export class LiveRules implements RulesControl {
  private active: RuleSet;
  private loadedAt: number;
  private last: ReloadResult | undefined;
  private readonly hits = new Map<string, number>();
  private running: Promise<ReloadResult> | undefined;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private seenRequest: string | undefined;
  private readonly opts: {
    readonly dir: string;
    readonly load: () => Promise<RuleSet>;
    readonly log: Logger;
    readonly state?: StateStore | undefined;
    readonly prefix: string;
    readonly now?: () => number;
  };

  constructor(initial: RuleSet, opts: LiveRules["opts"]) {
    this.opts = opts;
    this.active = initial;
    this.loadedAt = this.now();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** The set in force; the correlator takes it once per batch, so a swap never splits a batch. */
  current(): RuleSet {
    return this.active;
  }

  /** Counts matches per rule (GET /v1/rules). */
  hit(matched: readonly LoadedRule[]): void {
    for (const r of matched) this.hits.set(r.rule.id, (this.hits.get(r.rule.id) ?? 0) + 1);
  }

  /** Loads the directory again and swaps it in when it is valid; one reload at a time. */
  reload(trigger: string): Promise<ReloadResult> {
    this.running ??= this.doReload(trigger).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async doReload(trigger: string): Promise<ReloadResult> {
    let result: ReloadResult;
    try {
      const next = await this.opts.load();
      const problems = correlationProblems(next.rules);
      if (problems.length > 0) throw new Error(`invalid rule files:\n  - ${problems.join("\n  - ")}`);
      this.active = next;
      this.loadedAt = this.now();
      result = { at: this.loadedAt, trigger, ok: true, rules: next.rules.length };
      this.opts.log.info(
        { trigger, rules: next.rules.map((r) => `${r.rule.id}@${r.rule.version}`) },
        "rule set reloaded",
      );
    } catch (e) {
      const errors = messageOf(e)
        .split("\n")
        .map((l) => l.replace(/^\s*- /, "").trim())
        .filter((l) => l !== "" && !/^invalid rule files:?$/.test(l));
      result = { at: this.now(), trigger, ok: false, errors: errors.length ? errors : [messageOf(e)] };
      this.opts.log.error({ trigger, errors: result.errors }, "rule set refused; the running set stays");
    }
    this.last = result;
    await this.publish();
    return result;
  }

  async status(): Promise<RulesStatus> {
    return {
      loaded_at: this.loadedAt,
      last_reload: this.last,
      rules: this.active.rules.map((r) => ({
        id: r.rule.id,
        version: r.rule.version,
        hash: r.hash,
        file: r.file,
        name: r.rule.name,
        hits: this.hits.get(r.rule.id) ?? 0,
      })),
    };
  }

  /** Writes the status to shared state, for the API service of the distributed mode. */
  async publish(): Promise<void> {
    const state = this.opts.state;
    if (!state) return;
    try {
      await state.setValue(statusKey(this.opts.prefix), JSON.stringify(await this.status()));
    } catch (e) {
      this.opts.log.debug({ err: messageOf(e) }, "rule status not published; retried at the next interval");
    }
  }

  /**
   * Watches the directory (a burst of changes, such as a git checkout, is one reload), polls shared state for
   * reload requests and publishes the status every `pollMs`.
   */
  start(pollMs = 5_000): void {
    try {
      this.watcher = watch(this.opts.dir, { recursive: true }, () => {
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.reload("watch"), 300);
        this.debounce.unref();
      });
      this.watcher.on("error", (e) => this.opts.log.warn({ err: messageOf(e) }, "rules directory watch stopped"));
    } catch (e) {
      this.opts.log.warn({ err: messageOf(e), dir: this.opts.dir }, "rules directory not watched; SIGHUP reloads");
    }
    const state = this.opts.state;
    if (state) {
      void state.getValue(requestKey(this.opts.prefix)).then(
        (v) => (this.seenRequest = v),
        () => undefined,
      );
      this.poller = setInterval(() => {
        void (async () => {
          try {
            const req = await state.getValue(requestKey(this.opts.prefix));
            if (req !== undefined && req !== this.seenRequest) {
              this.seenRequest = req;
              await this.reload("api");
            } else await this.publish();
          } catch {
            // Shared state unreachable: the next poll tries again.
          }
        })();
      }, pollMs);
      this.poller.unref();
    }
    void this.publish();
  }

  stop(): void {
    this.watcher?.close();
    clearTimeout(this.debounce);
    clearInterval(this.poller);
  }
}

/** The API side in the distributed mode: status from shared state, reload as a request every correlator sees. */
export function sharedRulesControl(state: StateStore, prefix: string, now: () => number = Date.now): RulesControl {
  return {
    async status() {
      const v = await state.getValue(statusKey(prefix));
      return v === undefined ? undefined : (JSON.parse(v) as RulesStatus);
    },
    async reload() {
      const at = now();
      await state.setValue(requestKey(prefix), String(at));
      return { requested_at: at };
    },
  };
}
