/**
 * Durable playbook runs in shared state. A run's document (run-schema.ts) is saved with a compare-and-set on its
 * version after every change; while an executor drives a run it holds the run's owner claim, kept alive by a
 * heartbeat (ledger.ts Claim), so at most one executor drives a run at a time. When the owner dies the claim
 * expires within one TTL and the reaper (or the redelivered decision) of any executor takes the run over and
 * resumes it from its document; each vendor call still goes through its own action claim, so a step that completed
 * is never sent again. The playbook version a run started with is kept in state by its hash, so a run resumes with
 * it even after the playbooks were reloaded or the executor restarted.
 */
import type { PlaybookFile } from "../../schemas/index.ts";
import { RiposteError } from "../shared/errors.ts";
import { stableId } from "../shared/ids.ts";
import { runKeys, stateKey, type RunKeys, type StateStore } from "../shared/state/index.ts";
import { preparePlaybook, type PreparedPlaybook } from "./plan.ts";
import type { RunStatus } from "./run-schema.ts";
import { RunDoc, isOpen } from "./run-schema.ts";
import { parse } from "../../schemas/fast-parse.ts";

/** How long a run's document is kept after it started (the API shows it that long). */
export const RUN_RETENTION_MS = 7 * 86_400_000;
/** Runs read per state round trip while listing, and at most per request (a page may come back short). */
const SCAN_PAGE = 100;
const SCAN_MAX = 2_000;

/** A decision's run id: one run per decision, so a redelivered decision finds its run. */
export const runIdOf = (decisionId: string): string => stableId(decisionId, "run");

export interface RunFilter {
  readonly decision_id?: string | undefined;
  readonly status?: RunStatus | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export class RunStore {
  private readonly state: StateStore;
  private readonly prefix: string;
  private readonly keys: RunKeys;
  private readonly now: () => number;
  private readonly retentionMs: number;
  /** Playbook versions by hash: those stored in state by this process, and those read back. */
  private readonly versions = new Map<string, PreparedPlaybook>();
  /** Playbook versions being written to state, by hash. */
  private readonly keeping = new Map<string, Promise<void>>();

  constructor(opts: { state: StateStore; prefix: string; now?: () => number; retentionMs?: number }) {
    this.state = opts.state;
    this.prefix = opts.prefix;
    this.keys = runKeys(opts.prefix);
    this.now = opts.now ?? Date.now;
    this.retentionMs = opts.retentionMs ?? RUN_RETENTION_MS;
  }

  /** The key of a run's owner claim (held, with a heartbeat, by the executor driving it). */
  ownerKey(id: string): string {
    return stateKey(this.prefix, `run:${id}`, "owner", id);
  }

  async get(id: string): Promise<RunDoc | undefined> {
    const [doc] = await this.state.runRead(this.keys, [id]);
    return doc === undefined ? undefined : parse(RunDoc, JSON.parse(doc));
  }

  /**
   * Saves the next version of a run (the caller holds its owner claim). A conflict means another executor took
   * the run over (this one's claim was lost): retriable, the decision is redelivered and finds the newer document.
   */
  async save(run: RunDoc): Promise<RunDoc> {
    const next: RunDoc = { ...run, version: run.version + 1, updated: this.now() };
    const saved = await this.state.runSave(this.keys, {
      id: next.id,
      doc: runText(next),
      version: next.version,
      started: next.started,
      open: isOpen(next.status),
      retainAfter: this.now() - this.retentionMs,
      ttlMs: this.retentionMs,
    });
    if (!saved)
      throw new RiposteError(
        "RIPOSTE_STATE_UNAVAILABLE",
        `run ${run.id} was changed by another executor (its claim was lost); will retry`,
      );
    return next;
  }

  /** A page of runs, latest first: of one decision (its one run), or filtered by status. */
  async list(filter: RunFilter): Promise<{ runs: RunDoc[]; next_cursor?: string }> {
    if (filter.decision_id !== undefined) {
      const run = await this.get(runIdOf(filter.decision_id));
      return { runs: run && (filter.status === undefined || run.status === filter.status) ? [run] : [] };
    }
    let after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
    const out: RunDoc[] = [];
    let scanned = 0;
    while (scanned < SCAN_MAX) {
      const page = await this.state.runScan(this.keys, "all", after, SCAN_PAGE);
      const docs = await this.state.runRead(
        this.keys,
        page.map((p) => p.id),
      );
      for (const [i, entry] of page.entries()) {
        after = entry;
        scanned++;
        const doc = docs[i];
        if (doc === undefined) continue;
        const run = parse(RunDoc, JSON.parse(doc));
        if (filter.status === undefined || run.status === filter.status) out.push(run);
        if (out.length >= filter.limit) return { runs: out, next_cursor: encodeCursor(entry) };
      }
      if (page.length < SCAN_PAGE) return { runs: out };
    }
    return { runs: out, ...(after ? { next_cursor: encodeCursor(after) } : {}) };
  }

  /** The ids of open runs (running, waiting for approval, paused), oldest last; at most `max`. */
  async open(max = 1_000): Promise<string[]> {
    const out: string[] = [];
    let after: { score: number; id: string } | undefined;
    while (out.length < max) {
      const page = await this.state.runScan(this.keys, "open", after, Math.min(SCAN_PAGE, max - out.length));
      out.push(...page.map((p) => p.id));
      if (page.length === 0) break;
      after = page.at(-1);
    }
    return out;
  }

  private versionKey(hash: string): string {
    return stateKey(this.prefix, `playbook:${hash}`, "version", hash);
  }

  /**
   * Keeps a playbook version in state (once per process and hash), so runs that started with it can resume. Runs
   * starting at the same time share the one write in flight; a failed write is tried again by the next run.
   */
  async keep(pb: PreparedPlaybook): Promise<void> {
    if (this.versions.has(pb.hash)) return;
    let writing = this.keeping.get(pb.hash);
    if (!writing) {
      writing = this.state
        .setValue(this.versionKey(pb.hash), JSON.stringify(pb.file))
        .then(() => void this.versions.set(pb.hash, pb))
        .finally(() => this.keeping.delete(pb.hash));
      this.keeping.set(pb.hash, writing);
    }
    await writing;
  }

  /** The playbook version a run started with, by its hash; undefined when state no longer has it. */
  async version(hash: string): Promise<PreparedPlaybook | undefined> {
    const known = this.versions.get(hash);
    if (known) return known;
    const text = await this.state.getValue(this.versionKey(hash));
    if (text === undefined) return undefined;
    // Stored from a parsed playbook (durations in ms): checked again, not transformed.
    const file = JSON.parse(text) as PlaybookFile;
    const pb = preparePlaybook(file);
    if (pb.hash !== hash) return undefined;
    this.versions.set(hash, pb);
    return pb;
  }
}

/** JSON texts already made of objects a run document holds (its decision, its audit records), by object. */
const texts = new WeakMap<object, string>();

/**
 * Says that `text` is `JSON.stringify(value)`, for an object that is never changed afterwards (an audit record once
 * stored): a run document holding it is written with that text instead of serializing it again.
 */
export function knownText(value: object, text: string): void {
  texts.set(value, text);
}

function textOf(value: object): string {
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    texts.set(value, text);
  }
  return text;
}

/**
 * A run document as JSON: the same document as `JSON.stringify(run)` (its decision, audit records and steps first),
 * the decision, each record and each step's state written from the text it was first serialized to. A run is saved
 * after every step and these objects are never changed, only replaced (a step that moves on is a new object), so
 * a save serializes only what changed.
 */
export function runText(run: RunDoc): string {
  const { decision, actions, steps, ...rest } = run;
  const records = actions.map((a) => textOf(a)).join(",");
  let states = "";
  for (const id in steps) {
    const s = steps[id];
    if (s !== undefined) states += `${states === "" ? "" : ","}${JSON.stringify(id)}:${textOf(s)}`;
  }
  return `{"decision":${textOf(decision)},"actions":[${records}],"steps":{${states}},${JSON.stringify(rest).slice(1)}`;
}

function encodeCursor(entry: { score: number; id: string }): string {
  return Buffer.from(`${entry.score}:${entry.id}`, "utf8").toString("base64url");
}

function decodeCursor(cursor: string): { score: number; id: string } {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const m = /^(\d+):([0-9a-f]{1,64})$/.exec(text);
  if (!m) throw new RiposteError("RIPOSTE_QUERY_INVALID", "cursor: not a cursor this API returned");
  return { score: Number(m[1]), id: m[2] as string };
}
