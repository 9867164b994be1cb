/** Shared state: sightings, claims (idempotency records and leases) and sliding windows. */
import { RiposteError } from "../errors.ts";

/** A budget's answer: admitted or not, and how many actions the window holds (including this one if admitted). */
export interface BudgetResult {
  readonly admitted: boolean;
  readonly count: number;
}

/** A positive whole count (a budget limit, a bucket capacity); refused like a bad TTL otherwise. */
export function checkCount(operation: string, n: number): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n <= 0) {
    throw new RiposteError(
      "RIPOSTE_STATE_SCRIPT",
      `state ${operation}: the count must be a positive integer, got ${String(n)}`,
    );
  }
  return n;
}

/** A timeline member and its event time (ms since the epoch). */
export interface TimelineEntry {
  readonly member: string;
  readonly time: number;
}

/** An entry of an imported list (a threat-intel indicator in canonical form) and its expiry (ms since the epoch). */
export interface ListEntry {
  readonly value: string;
  readonly expires: number;
}

/**
 * The keys of the incident store. They share one hash tag (`{incidents}`): an alert links entities of any partition,
 * and a merge rewrites several incidents and links at once, which a Lua script can only do within one slot.
 */
export interface IncidentKeys {
  /** Hash: incident id -> incident JSON. */
  readonly docs: string;
  /** Hash: incident id -> version (the compare-and-set of every save). */
  readonly versions: string;
  /** Sorted set: incident id scored by its last_seen (event time, ms): the listing order and the retention. */
  readonly index: string;
  /** Hash: entity key -> the incident id it was last linked to. */
  readonly links: string;
  /** Sorted set: entity key scored by the event time it was last linked at, for trimming `links`. */
  readonly touched: string;
}

/** The incident store's keys under `prefix`. */
export function incidentKeys(prefix: string): IncidentKeys {
  const k = (kind: string) => stateKey(prefix, "incidents", kind, "v1");
  return { docs: k("docs"), versions: k("versions"), index: k("index"), links: k("links"), touched: k("touched") };
}

/** One incident written by `incidentSave`: stored only if the store holds version `version - 1` (none for 1). */
export interface IncidentWrite {
  readonly id: string;
  readonly doc: string;
  readonly version: number;
  readonly lastSeen: number;
}

/** One atomic save of incidents and entity links, with the trims that bound the store. */
export interface IncidentSave {
  readonly writes: readonly IncidentWrite[];
  readonly links: ReadonlyArray<{ readonly entity: string; readonly id: string }>;
  /** Event time the links are made at (their score in `touched`). */
  readonly linkTime: number;
  /** Incidents last seen before this (event time) are dropped, at most a bounded number per save. */
  readonly retainAfter: number;
  /** Links made before this (event time) are dropped, at most a bounded number per save. */
  readonly linkAfter: number;
  /** The store's keys expire this long (wall clock) after the last save: an idle store goes as a whole. */
  readonly ttlMs: number;
}

export interface IncidentFound {
  readonly links: Array<string | undefined>;
  /** Incident id -> JSON document. */
  readonly docs: Map<string, string>;
}

/**
 * The keys of the playbook-run store, under one hash tag (`{runs}`) so a save updates the document, its version and
 * both indexes atomically.
 */
export interface RunKeys {
  /** Hash: run id -> run JSON. */
  readonly docs: string;
  /** Hash: run id -> version (the compare-and-set of every save). */
  readonly versions: string;
  /** Sorted set: every run id scored by its start (wall clock, ms): the listing order and the retention. */
  readonly index: string;
  /** Sorted set: the ids of runs not ended yet, scored by their start: what the reaper looks through. */
  readonly open: string;
}

/** The run store's keys under `prefix`. */
export function runKeys(prefix: string): RunKeys {
  const k = (kind: string) => stateKey(prefix, "runs", kind, "v1");
  return { docs: k("docs"), versions: k("versions"), index: k("index"), open: k("open") };
}

/** One run written by `runSave`: stored only if the store holds version `version - 1` (none for 1). */
export interface RunWrite {
  readonly id: string;
  readonly doc: string;
  readonly version: number;
  /** When the run started (ms): its score in both indexes. */
  readonly started: number;
  /** Whether the run is still open (listed in `open`), or ended (taken out of it). */
  readonly open: boolean;
  /** Runs started before this are dropped with their documents, at most 100 per save. */
  readonly retainAfter: number;
  /** The store's keys expire this long after the last save. */
  readonly ttlMs: number;
}

export type IncidentSaveResult = { readonly saved: true } | { readonly saved: false; readonly conflict: string };

/**
 * The keys of the containment leases. They share one hash tag (`{leases}`): a lease's scheduling (due, running)
 * and its target's hold move together in one script, whatever the target's own slot.
 */
export interface LeaseKeys {
  /** Hash: lease id -> lease JSON (what was contained and how to reverse it). */
  readonly docs: string;
  /** Sorted set: lease id scored by when the scheduler acts on it (its expiry, a release, or a retry). */
  readonly due: string;
  /** Sorted set: lease id scored by when a scheduler's claim on it lapses (its reverse action is running). */
  readonly running: string;
  /** Hash: lease id -> JSON of how it ended (expired or released, by whom, attempts, last error); absent in force. */
  readonly ends: string;
  /** Hash: target field (`<target key>|<connector>.<action>`) -> `L|<lease id>` or `P|<owner>|<until ms>`. */
  readonly targets: string;
  /** Sorted set: lease id scored by when it was taken (the listing order). */
  readonly index: string;
}

/** The lease keys under `prefix`. */
export function leaseKeys(prefix: string): LeaseKeys {
  const k = (kind: string) => stateKey(prefix, "leases", kind, "v1");
  return {
    docs: k("docs"),
    due: k("due"),
    running: k("running"),
    ends: k("ends"),
    targets: k("targets"),
    index: k("index"),
  };
}

/** One lease as the store holds it: its JSON, when it is due (undefined while running or parked) and its end. */
export interface LeaseRow {
  readonly id: string;
  readonly doc: string;
  readonly due: number | undefined;
  /** The JSON of how it ended; undefined while it is in force. */
  readonly end: string | undefined;
}

/** Whether a target is free for a containment: held by this owner now, or by whom (a lease id or an owner). */
export type LeaseHold = { readonly state: "acquired" } | { readonly state: "held"; readonly by: string };

/** A lease change's answer: done, no such lease, or it has already ended (its reverse action is due or ran). */
export type LeaseChange = "ok" | "unknown" | "ended";

export type ClaimResult =
  | { readonly state: "acquired" }
  | { readonly state: "done"; readonly result: string }
  | { readonly state: "held"; readonly owner: string };

/**
 * Every TTL and window goes through this in both stores, so they behave the same. A zero, negative or non-finite
 * TTL is refused with a non-retriable error: Redis would refuse `SET PX 0` on every redelivery, and the in-memory
 * store would forget the key at once (no dedup, no idempotency, no lease). Fractions round up to a whole ms.
 */
export function checkTtl(operation: string, ttlMs: number): number {
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RiposteError(
      "RIPOSTE_STATE_SCRIPT",
      `state ${operation}: the TTL must be a positive number of milliseconds, got ${String(ttlMs)}`,
    );
  }
  return Math.ceil(ttlMs);
}

/** A time argument (ms since the epoch) must be a finite number. */
export function checkTime(operation: string, ms: number): number {
  if (typeof ms !== "number" || !Number.isFinite(ms)) {
    throw new RiposteError(
      "RIPOSTE_STATE_SCRIPT",
      `state ${operation}: the time must be a finite number, got ${String(ms)}`,
    );
  }
  return ms;
}

/**
 * Operations on a key that holds another kind of value (a window used as a counter, ...), refused by both stores
 * alike (Redis answers WRONGTYPE).
 */
export function wrongKind(operation: string): RiposteError {
  return new RiposteError("RIPOSTE_STATE_SCRIPT", `state ${operation}: the key holds another kind of value`);
}

/**
 * State operations. Every TTL must be positive and finite (see checkTtl); errors are RIPOSTE_STATE_UNAVAILABLE
 * (retriable: the store cannot be reached) or RIPOSTE_STATE_SCRIPT (not retriable: the operation was refused).
 */
export interface StateStore {
  readonly kind: "redis" | "memory";
  /** Records a sighting of `key`; the count restarts `ttlMs` after the first sighting. Returns the count (1 = first). */
  seen(key: string, ttlMs: number): Promise<number>;
  /** Claims `key` for `owner` for `ttlMs`, unless completed or held by another owner. */
  claim(key: string, owner: string, ttlMs: number): Promise<ClaimResult>;
  /** Records the result of a claim the owner holds, kept for `ttlMs`. False if the owner no longer holds it. */
  complete(key: string, owner: string, result: string, ttlMs: number): Promise<boolean>;
  /** Gives up a pending claim. False if the owner no longer holds it. */
  release(key: string, owner: string): Promise<boolean>;
  /** Adds `member` at `nowMs` to a sliding window of `windowMs`; returns the distinct members in it. */
  windowAdd(key: string, member: string, nowMs: number, windowMs: number): Promise<number>;
  // Executor guards: budgets, rate limits and switches shared by every executor process.
  /**
   * Admits `member` (an action id) into the sliding-window budget at `key` when fewer than `limit` members were
   * admitted within (`nowMs` - `windowMs`, `nowMs`]; refuses it otherwise. Atomic; a member already admitted is
   * admitted again without counting twice.
   */
  budgetTake(key: string, member: string, nowMs: number, windowMs: number, limit: number): Promise<BudgetResult>;
  /** Gives back `member`'s place in a budget (it was admitted but never acted on). False if it was not in it. */
  budgetRelease(key: string, member: string): Promise<boolean>;
  /**
   * Takes one token from the bucket at `key` (at most `capacity` tokens, refilled by `capacity` per `intervalMs`).
   * Returns 0 when taken, else the ms until a token is available (nothing taken).
   */
  tokenTake(key: string, nowMs: number, capacity: number, intervalMs: number): Promise<number>;
  /** A plain value without expiry (a shared switch), or undefined when unset. */
  getValue(key: string): Promise<string | undefined>;
  setValue(key: string, value: string): Promise<void>;
  /** How many members the budget at `key` holds within (`nowMs` - `windowMs`, `nowMs`] (read-only). */
  budgetCount(key: string, nowMs: number, windowMs: number): Promise<number>;
  // Containment leases (see LeaseKeys); a target field is held by a pending owner or by a lease until it ends.
  /**
   * Holds the target `field` for `owner` until `nowMs + holdMs` (before the containment call), unless a lease or
   * another owner's unexpired hold has it. The same owner holds it again (a redelivery).
   */
  leaseHold(keys: LeaseKeys, field: string, owner: string, nowMs: number, holdMs: number): Promise<LeaseHold>;
  /** Drops `owner`'s pending hold of `field` (the containment did not happen). False if it is not held by `owner`. */
  leaseDrop(keys: LeaseKeys, field: string, owner: string): Promise<boolean>;
  /**
   * Opens lease `id` on `field` (held by `owner`, or free), due at `expiresMs`, taken at `sinceMs`. True when open
   * (also when this lease already is: a redelivery); false when another lease or owner holds the field.
   */
  leaseOpen(
    keys: LeaseKeys,
    field: string,
    owner: string,
    id: string,
    doc: string,
    sinceMs: number,
    expiresMs: number,
  ): Promise<boolean>;
  /** Moves the expiry of a lease in force to `expiresMs`. */
  leaseExtend(keys: LeaseKeys, id: string, expiresMs: number): Promise<LeaseChange>;
  /**
   * Ends a lease in force now (its reverse action becomes due at `nowMs`) with `end` (JSON) as how it ended. A
   * lease whose reverse action was parked after a failure is made due again (`ok`); one due or running: `ended`.
   */
  leaseRelease(keys: LeaseKeys, id: string, nowMs: number, end: string): Promise<LeaseChange>;
  /**
   * Claims up to `limit` leases due at `nowMs` for `claimMs` (moved to running; a lease that expired gets the end
   * `{"why":"expired","at":<expiry>}`), after making due again the running ones whose claim lapsed (their
   * scheduler died). Returns them with their docs and ends.
   */
  leaseClaim(keys: LeaseKeys, nowMs: number, claimMs: number, limit: number): Promise<LeaseRow[]>;
  /** After a failed reverse action: stores `end` and makes the lease due at `atMs`, or parks it when `atMs` is 0. */
  leaseRetry(keys: LeaseKeys, id: string, atMs: number, end: string): Promise<void>;
  /** Forgets a lease whose reverse action is done, and frees its target field. */
  leaseEnd(keys: LeaseKeys, id: string, field: string): Promise<void>;
  /** Up to `count` leases from position `offset`, oldest first. */
  leaseList(keys: LeaseKeys, offset: number, count: number): Promise<LeaseRow[]>;
  /** One lease, or undefined. */
  leaseGet(keys: LeaseKeys, id: string): Promise<LeaseRow | undefined>;
  // Correlator: event-time timelines (correlation windows, new_terms history) and dedup digests.
  /** The members of the timeline at `key` with their event times, oldest first; empty when there is none. */
  recall(key: string): Promise<TimelineEntry[]>;
  /**
   * Adds `entries` to the timeline at `key` (a member already there keeps the later of its two times), drops members
   * older than `cutoffMs`, keeps only the newest `cap`, and keeps the key for `ttlMs`.
   */
  append(key: string, entries: readonly TimelineEntry[], cutoffMs: number, cap: number, ttlMs: number): Promise<void>;
  /** One field of the digest hash at `key`, or undefined. */
  lookup(key: string, field: string): Promise<string | undefined>;
  /** Sets one field of the digest hash at `key`; the hash expires `ttlMs` after its first field was set. */
  record(key: string, field: string, value: string, ttlMs: number): Promise<void>;
  // Imported lists (threat-intel feeds): a hash of value -> expiry, a version counter beside it, a set of names.
  /**
   * Adds `entries` to the list hash at `key` (an entry already there keeps the later expiry); the hash lives at
   * least until the latest expiry added. Returns the entries the hash holds. Visible to readers of the version
   * only after `listCommit`.
   */
  listAdd(key: string, entries: readonly ListEntry[], nowMs: number): Promise<number>;
  /**
   * Drops the entries expired at `nowMs`, and increments the version at `versionKey` (which never expires). Returns
   * the live entries and the new version.
   */
  listCommit(key: string, versionKey: string, nowMs: number): Promise<{ count: number; version: number }>;
  /** The version (0 when never committed) and the entries not expired at `nowMs`, read together. */
  listRead(key: string, versionKey: string, nowMs: number): Promise<{ version: number; entries: ListEntry[] }>;
  /** Adds `name` to the set of list names at `key`. */
  listNameAdd(key: string, name: string): Promise<void>;
  /** The names in the set at `key`, sorted. */
  listNames(key: string): Promise<string[]>;
  // Incidents: documents with versions, a listing index and entity links, all in one slot (see IncidentKeys).
  /**
   * In one round trip: the incident ids the entities were last linked to (in the order given), and the documents
   * found of those incidents and of `ids`.
   */
  incidentFind(keys: IncidentKeys, entities: readonly string[], ids: readonly string[]): Promise<IncidentFound>;
  /** The incidents' JSON documents, in the order given. */
  incidentRead(keys: IncidentKeys, ids: readonly string[]): Promise<Array<string | undefined>>;
  /**
   * Writes every incident and link at once, or nothing when an incident's stored version is not the one before its
   * write's version (another writer changed it: read again and retry). Then trims the index and the links.
   */
  incidentSave(keys: IncidentKeys, save: IncidentSave): Promise<IncidentSaveResult>;
  /**
   * Up to `count` incident ids with their last_seen, latest first (ties by id, descending), strictly after the
   * position `after` of a previous page when given.
   */
  incidentScan(
    keys: IncidentKeys,
    after: { readonly score: number; readonly id: string } | undefined,
    count: number,
  ): Promise<Array<{ id: string; score: number }>>;
  // Playbook runs: documents with versions, a listing index and the set of open runs, all in one slot (RunKeys).
  /**
   * Writes one run (document, version, index; in or out of `open`) when its stored version is the one before
   * `version`; false (nothing written) when another writer changed it. Then trims runs out of retention.
   */
  runSave(keys: RunKeys, write: RunWrite): Promise<boolean>;
  /** The runs' JSON documents, in the order given. */
  runRead(keys: RunKeys, ids: readonly string[]): Promise<Array<string | undefined>>;
  /**
   * Up to `count` run ids with their start, latest first (ties by id, descending), strictly after the position
   * `after` of a previous page when given: of every run, or only of the open ones.
   */
  runScan(
    keys: RunKeys,
    which: "all" | "open",
    after: { readonly score: number; readonly id: string } | undefined,
    count: number,
  ): Promise<Array<{ id: string; score: number }>>;
  close(): Promise<void>;
}

/**
 * Builds a state key. The entity goes in a hash tag so all of one entity's keys live in one Redis Cluster slot.
 */
export function stateKey(prefix: string, entity: string, kind: string, id: string): string {
  // Joined into one flat string: a template literal makes a rope of six pieces, each kept alive while the key is.
  return [prefix, ":{", entity, "}:", kind, ":", id].join("");
}
