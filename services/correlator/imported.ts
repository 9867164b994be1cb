/**
 * Named lists imported into shared state (`riposte lists import`), so that every correlator sees them: one hash per
 * list `<prefix>:{list:NAME}:list:entries` (canonical value → expiry), a version counter beside it, and the set of
 * list names. Correlators load the lists at start and poll the versions (one pipelined read per interval), so that
 * `inList` itself never waits on Redis.
 */
import { RiposteError, messageOf } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { stateKey, type ListEntry, type StateStore } from "../shared/state/index.ts";
import type { FeedEntry } from "./feeds.ts";
import { IndicatorList, canonicalIndicator } from "./lists.ts";

/** A list name: what a rule's `inList` value and a file name in rules/lists/ can be. */
export const LIST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Entries sent to the store per call. */
const BATCH = 2_000;

export const listKeys = (prefix: string, name: string) => ({
  entries: stateKey(prefix, `list:${name}`, "list", "entries"),
  version: stateKey(prefix, `list:${name}`, "list", "version"),
});
export const listNamesKey = (prefix: string) => stateKey(prefix, "lists", "list", "names");

function checkName(name: string): string {
  if (!LIST_NAME.test(name)) {
    throw new RiposteError(
      "RIPOSTE_CONFIG_INVALID",
      `"${name}" is not a list name: letters, digits, ".", "_" and "-", starting with a letter or digit`,
    );
  }
  return name;
}

export interface ImportResult {
  /** Entries in the list after the import (not expired). */
  readonly count: number;
  readonly version: number;
}

/**
 * Adds `entries` to the imported list `name`, in canonical form; entries without an expiry get `nowMs + ttlMs`. A value already in
 * the list keeps the later expiry. Correlators see the entries once the version is bumped at the end.
 */
export async function importList(
  state: StateStore,
  prefix: string,
  name: string,
  entries: readonly FeedEntry[],
  ttlMs: number,
  nowMs: number,
): Promise<ImportResult> {
  const keys = listKeys(prefix, checkName(name));
  for (let i = 0; i < entries.length; i += BATCH) {
    const batch: ListEntry[] = entries
      .slice(i, i + BATCH)
      .map((e) => ({ value: canonicalIndicator(e.value)?.value ?? e.value, expires: e.expires ?? nowMs + ttlMs }));
    await state.listAdd(keys.entries, batch, nowMs);
  }
  await state.listNameAdd(listNamesKey(prefix), name);
  return state.listCommit(keys.entries, keys.version, nowMs);
}

export interface ListSummary {
  readonly name: string;
  readonly count: number;
  readonly version: number;
  /** Earliest and latest expiry of the entries (ms since the epoch); absent when the list is empty. */
  readonly firstExpiry?: number;
  readonly lastExpiry?: number;
}

/** The imported lists with their counts and expiries, by name. */
export async function listSummaries(state: StateStore, prefix: string, nowMs: number): Promise<ListSummary[]> {
  const names = await state.listNames(listNamesKey(prefix));
  return Promise.all(
    names.map(async (name) => {
      const keys = listKeys(prefix, name);
      const { version, entries } = await state.listRead(keys.entries, keys.version, nowMs);
      if (entries.length === 0) return { name, count: 0, version };
      let first = Infinity;
      let last = 0;
      for (const e of entries) {
        first = Math.min(first, e.expires);
        last = Math.max(last, e.expires);
      }
      return { name, count: entries.length, version, firstExpiry: first, lastExpiry: last };
    }),
  );
}

/** The entries of one imported list, sorted by value. */
export async function listContents(
  state: StateStore,
  prefix: string,
  name: string,
  nowMs: number,
): Promise<ListEntry[]> {
  const keys = listKeys(prefix, checkName(name));
  const { entries } = await state.listRead(keys.entries, keys.version, nowMs);
  return entries.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

interface Loaded {
  version: number;
  entries: ListEntry[];
  /** The earliest expiry among `entries`: the local copy is trimmed when it passes, without asking the store. */
  nextExpiry: number;
}

export interface ImportedListsOptions {
  readonly state: StateStore;
  readonly prefix: string;
  /** The lists the rules were compiled against; imported lists that have no file are added to it. */
  readonly lists: Map<string, IndicatorList>;
  readonly log: Logger;
  readonly now?: () => number;
}

/**
 * Keeps the imported entries of the correlator's lists up to date: `load` at start, then `refresh` (every
 * `intervalMs` once started) reads the names and each list's version, and reloads only the lists whose version
 * changed. Lists from rules/lists/ and imported ones of the same name are one IndicatorList, changed in place.
 */
export class ImportedLists {
  private readonly loaded = new Map<string, Loaded>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly opts: ImportedListsOptions;

  constructor(opts: ImportedListsOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  /** Loads every imported list (before the rules are loaded, so that rules may name imported-only lists). */
  load(): Promise<void> {
    return this.refresh();
  }

  /** One poll: reloads the lists whose version changed, trims expired entries. Errors are the store's. */
  async refresh(): Promise<void> {
    const { state, prefix, lists } = this.opts;
    const now = this.now();
    const names = await state.listNames(listNamesKey(prefix));
    const versions = await Promise.all(names.map((n) => state.getValue(listKeys(prefix, n).version)));
    for (let k = 0; k < names.length; k++) {
      const name = names[k] as string;
      const version = Number(versions[k] ?? 0);
      const had = this.loaded.get(name);
      let list = lists.get(name);
      if (!list) lists.set(name, (list = new IndicatorList()));
      if (had && had.version === version) {
        if (had.nextExpiry <= now) this.apply(name, list, had.version, had.entries, now);
        continue;
      }
      const keys = listKeys(prefix, name);
      const read = await state.listRead(keys.entries, keys.version, now);
      this.apply(name, list, read.version, read.entries, now);
      this.opts.log.info({ list: name, version: read.version, entries: list.size }, "imported list loaded");
    }
  }

  private apply(name: string, list: IndicatorList, version: number, entries: ListEntry[], now: number): void {
    const live = entries.filter((e) => e.expires > now);
    let next = Infinity;
    for (const e of live) next = Math.min(next, e.expires);
    list.setImported(live.map((e) => e.value));
    this.loaded.set(name, { version, entries: live, nextExpiry: next });
  }

  /** Polls every `intervalMs`; a failed poll is logged and the lists stay as they were. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.refresh()
        .catch((e: unknown) => this.opts.log.warn({ err: messageOf(e) }, "imported lists: refresh failed"))
        .finally(() => (this.running = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
