/** In-memory state for the embedded mode: same semantics as the Redis scripts, expiry checked on access. */
import {
  checkCount,
  checkTime,
  checkTtl,
  wrongKind,
  type BudgetResult,
  type ClaimResult,
  type IncidentFound,
  type IncidentKeys,
  type IncidentSave,
  type IncidentSaveResult,
  type LeaseChange,
  type LeaseHold,
  type LeaseKeys,
  type LeaseRow,
  type ListEntry,
  type RunKeys,
  type RunWrite,
  type StateStore,
  type TimelineEntry,
} from "./types.ts";
import { MemoryLeases } from "./memory-leases.ts";

interface Entry {
  value: string | number | Map<string, number> | Map<string, string> | Set<string>;
  expires: number;
}

export class MemoryState implements StateStore {
  readonly kind = "memory" as const;
  private readonly data = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly leases = new MemoryLeases();

  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  private get(key: string): Entry | undefined {
    const e = this.data.get(key);
    if (e && e.expires <= this.now()) {
      this.data.delete(key);
      return undefined;
    }
    return e;
  }

  async seen(key: string, ttlMs: number): Promise<number> {
    ttlMs = checkTtl("seen", ttlMs);
    const e = this.get(key);
    if (e && typeof e.value !== "number") throw wrongKind("seen");
    if (!e) {
      this.data.set(key, { value: 1, expires: this.now() + ttlMs });
      return 1;
    }
    e.value = Number(e.value) + 1;
    return e.value;
  }

  async claim(key: string, owner: string, ttlMs: number): Promise<ClaimResult> {
    ttlMs = checkTtl("claim", ttlMs);
    const e = this.get(key);
    if (e?.value instanceof Map) throw wrongKind("claim");
    if (!e) {
      this.data.set(key, { value: `P${owner}`, expires: this.now() + ttlMs });
      return { state: "acquired" };
    }
    const v = typeof e.value === "string" ? e.value : "";
    if (v.startsWith("D")) return { state: "done", result: v.slice(1) };
    if (v.slice(1) === owner) {
      e.expires = this.now() + ttlMs;
      return { state: "acquired" };
    }
    return { state: "held", owner: v.slice(1) };
  }

  async complete(key: string, owner: string, result: string, ttlMs: number): Promise<boolean> {
    ttlMs = checkTtl("complete", ttlMs);
    const e = this.get(key);
    if (e?.value instanceof Map) throw wrongKind("complete");
    if (!e || e.value !== `P${owner}`) return false;
    this.data.set(key, { value: `D${result}`, expires: this.now() + ttlMs });
    return true;
  }

  async release(key: string, owner: string): Promise<boolean> {
    const e = this.get(key);
    if (e?.value instanceof Map) throw wrongKind("release");
    if (!e || e.value !== `P${owner}`) return false;
    this.data.delete(key);
    return true;
  }

  async windowAdd(key: string, member: string, nowMs: number, windowMs: number): Promise<number> {
    windowMs = checkTtl("windowAdd", windowMs);
    nowMs = checkTime("windowAdd", nowMs);
    let e = this.get(key);
    if (e && !(e.value instanceof Map)) throw wrongKind("windowAdd");
    if (!e) {
      e = { value: new Map<string, number>(), expires: 0 };
      this.data.set(key, e);
    }
    const members = e.value as Map<string, number>;
    members.set(member, nowMs);
    for (const [m, t] of members) if (t <= nowMs - windowMs) members.delete(m);
    e.expires = this.now() + windowMs;
    return members.size;
  }

  // Executor guards: budgets, token buckets and plain values (same semantics as their Lua scripts).
  async budgetTake(key: string, member: string, nowMs: number, windowMs: number, limit: number): Promise<BudgetResult> {
    windowMs = checkTtl("budgetTake", windowMs);
    nowMs = checkTime("budgetTake", nowMs);
    limit = checkCount("budgetTake", limit);
    let e = this.get(key);
    if (e && !(e.value instanceof Map)) throw wrongKind("budgetTake");
    if (!e) {
      e = { value: new Map<string, number>(), expires: this.now() + windowMs };
      this.data.set(key, e);
    }
    const members = e.value as Map<string, number>;
    for (const [m, t] of members) if (t <= nowMs - windowMs) members.delete(m);
    if (members.has(member)) return { admitted: true, count: members.size };
    if (members.size >= limit) return { admitted: false, count: members.size };
    members.set(member, nowMs);
    e.expires = this.now() + windowMs;
    return { admitted: true, count: members.size };
  }

  async budgetRelease(key: string, member: string): Promise<boolean> {
    const e = this.get(key);
    if (e && !(e.value instanceof Map)) throw wrongKind("budgetRelease");
    return e !== undefined && (e.value as Map<string, number>).delete(member);
  }

  async budgetCount(key: string, nowMs: number, windowMs: number): Promise<number> {
    nowMs = checkTime("budgetCount", nowMs);
    windowMs = checkTtl("budgetCount", windowMs);
    const e = this.get(key);
    if (e && !(e.value instanceof Map)) throw wrongKind("budgetCount");
    if (!e) return 0;
    return [...(e.value as Map<string, number>).values()].filter((t) => t > nowMs - windowMs).length;
  }

  async tokenTake(key: string, nowMs: number, capacity: number, intervalMs: number): Promise<number> {
    nowMs = checkTime("tokenTake", nowMs);
    capacity = checkCount("tokenTake", capacity);
    intervalMs = checkTtl("tokenTake", intervalMs);
    const e = this.get(key);
    if (e && !(e.value instanceof Map)) throw wrongKind("tokenTake");
    const bucket = (e?.value as Map<string, number> | undefined) ?? new Map<string, number>();
    let tokens = bucket.get("tokens") ?? capacity;
    let ts = bucket.get("ts") ?? nowMs;
    if (nowMs > ts) {
      tokens = Math.min(capacity, tokens + ((nowMs - ts) * capacity) / intervalMs);
      ts = nowMs;
    }
    let wait = 0;
    if (tokens >= 1) tokens -= 1;
    else wait = Math.ceil(((1 - tokens) * intervalMs) / capacity);
    bucket.set("tokens", tokens).set("ts", ts);
    this.data.set(key, { value: bucket, expires: this.now() + intervalMs });
    return wait;
  }

  async getValue(key: string): Promise<string | undefined> {
    const e = this.get(key);
    if (e?.value instanceof Map || e?.value instanceof Set) throw wrongKind("getValue");
    return e === undefined ? undefined : String(e.value);
  }

  async setValue(key: string, value: string): Promise<void> {
    this.data.set(key, { value, expires: Number.POSITIVE_INFINITY });
  }

  // Containment leases (memory-leases.ts, the same semantics as lease-*-6.lua).
  async leaseHold(keys: LeaseKeys, field: string, owner: string, nowMs: number, holdMs: number): Promise<LeaseHold> {
    return this.leases.hold(keys, field, owner, nowMs, holdMs);
  }

  async leaseDrop(keys: LeaseKeys, field: string, owner: string): Promise<boolean> {
    return this.leases.drop(keys, field, owner);
  }

  async leaseOpen(
    keys: LeaseKeys,
    field: string,
    owner: string,
    id: string,
    doc: string,
    sinceMs: number,
    expiresMs: number,
  ): Promise<boolean> {
    return this.leases.open(keys, field, owner, id, doc, sinceMs, expiresMs);
  }

  async leaseExtend(keys: LeaseKeys, id: string, expiresMs: number): Promise<LeaseChange> {
    return this.leases.extend(keys, id, expiresMs);
  }

  async leaseRelease(keys: LeaseKeys, id: string, nowMs: number, end: string): Promise<LeaseChange> {
    return this.leases.release(keys, id, nowMs, end);
  }

  async leaseClaim(keys: LeaseKeys, nowMs: number, claimMs: number, limit: number): Promise<LeaseRow[]> {
    return this.leases.claim(keys, nowMs, claimMs, limit);
  }

  async leaseRetry(keys: LeaseKeys, id: string, atMs: number, end: string): Promise<void> {
    this.leases.retry(keys, id, atMs, end);
  }

  async leaseEnd(keys: LeaseKeys, id: string, field: string): Promise<void> {
    this.leases.end(keys, id, field);
  }

  async leaseList(keys: LeaseKeys, offset: number, count: number): Promise<LeaseRow[]> {
    return this.leases.list(keys, offset, count);
  }

  async leaseGet(keys: LeaseKeys, id: string): Promise<LeaseRow | undefined> {
    return this.leases.get(keys, id);
  }

  // Correlator: timelines and dedup digests (same semantics as recall-1, append-1, lookup-1 and record-1.lua).
  private timeline(operation: string, key: string): Map<string, number> | undefined {
    const e = this.get(key);
    if (e && !(e.value instanceof Map)) throw wrongKind(operation);
    return e?.value as Map<string, number> | undefined;
  }

  async recall(key: string): Promise<TimelineEntry[]> {
    const members = this.timeline("recall", key);
    if (!members) return [];
    return [...members]
      .map(([member, time]) => ({ member, time }))
      .sort((a, b) => a.time - b.time || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  }

  async append(
    key: string,
    entries: readonly TimelineEntry[],
    cutoffMs: number,
    cap: number,
    ttlMs: number,
  ): Promise<void> {
    ttlMs = checkTtl("append", ttlMs);
    cutoffMs = checkTime("append", cutoffMs);
    cap = checkCount("append", cap);
    for (const x of entries) checkTime("append", x.time);
    const members = this.timeline("append", key) ?? new Map<string, number>();
    for (const { member, time } of entries) {
      members.set(member, Math.max(time, members.get(member) ?? time));
      this.lower(members, time);
    }
    // Only a timeline with a member older than the cutoff is walked (a list of 100,000 blocks is not, per append).
    const floor = this.floors.get(members);
    if (floor === undefined ? members.size > 0 : floor < cutoffMs) {
      let rest = Number.POSITIVE_INFINITY;
      for (const [m, t] of members) {
        if (t < cutoffMs) members.delete(m);
        else if (t < rest) rest = t;
      }
      this.floors.set(members, rest);
    }
    if (members.size > cap) {
      const oldest = [...members].sort(([am, a], [bm, b]) => a - b || (am < bm ? -1 : am > bm ? 1 : 0));
      for (const [m] of oldest.slice(0, members.size - cap)) members.delete(m);
    }
    if (members.size === 0) this.data.delete(key);
    else this.data.set(key, { value: members, expires: this.now() + ttlMs });
  }

  async lookup(key: string, field: string): Promise<string | undefined> {
    const e = this.get(key);
    if (e && !(e.value instanceof Map)) throw wrongKind("lookup");
    const v = (e?.value as Map<string, string> | undefined)?.get(field);
    return v === undefined ? undefined : String(v);
  }

  async record(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    ttlMs = checkTtl("record", ttlMs);
    const e = this.get(key);
    if (e && !(e.value instanceof Map)) throw wrongKind("record");
    if (e) (e.value as Map<string, string>).set(field, value);
    else this.data.set(key, { value: new Map([[field, value]]), expires: this.now() + ttlMs });
  }

  // Imported lists (same semantics as list-add-1, list-commit-2, list-read-2, list-name-add-1, list-names-1.lua).
  private listHash(operation: string, key: string): Map<string, number> | undefined {
    const e = this.get(key);
    if (e && !(e.value instanceof Map)) throw wrongKind(operation);
    return e?.value as Map<string, number> | undefined;
  }

  private version(operation: string, key: string): number {
    const e = this.get(key);
    if (e && typeof e.value !== "string" && typeof e.value !== "number") throw wrongKind(operation);
    return e ? Number(e.value) : 0;
  }

  async listAdd(key: string, entries: readonly ListEntry[], nowMs: number): Promise<number> {
    nowMs = checkTime("listAdd", nowMs);
    for (const x of entries) checkTime("listAdd", x.expires);
    let e = this.get(key);
    if (e && !(e.value instanceof Map)) throw wrongKind("listAdd");
    if (!e) {
      e = { value: new Map<string, number>(), expires: Number.POSITIVE_INFINITY };
      this.data.set(key, e);
    }
    const hash = e.value as Map<string, number>;
    let latest = 0;
    for (const { value, expires } of entries) {
      if (expires > (hash.get(value) ?? 0)) hash.set(value, expires);
      latest = Math.max(latest, expires);
    }
    if (latest > nowMs && (e.expires === Number.POSITIVE_INFINITY || e.expires < latest)) e.expires = latest;
    if (hash.size === 0) this.data.delete(key);
    return hash.size;
  }

  async listCommit(key: string, versionKey: string, nowMs: number): Promise<{ count: number; version: number }> {
    nowMs = checkTime("listCommit", nowMs);
    const hash = this.listHash("listCommit", key);
    const version = this.version("listCommit", versionKey) + 1;
    let count = 0;
    let latest = 0;
    if (hash) {
      for (const [v, t] of hash) if (t <= nowMs) hash.delete(v);
      count = hash.size;
      for (const t of hash.values()) latest = Math.max(latest, t);
      if (count > 0) this.data.set(key, { value: hash, expires: latest });
    }
    this.data.set(versionKey, { value: String(version), expires: Number.POSITIVE_INFINITY });
    return { count, version };
  }

  async listRead(key: string, versionKey: string, nowMs: number): Promise<{ version: number; entries: ListEntry[] }> {
    nowMs = checkTime("listRead", nowMs);
    const version = this.version("listRead", versionKey);
    const hash = this.listHash("listRead", key);
    const entries: ListEntry[] = [];
    if (hash) for (const [value, expires] of hash) if (expires > nowMs) entries.push({ value, expires });
    return { version, entries };
  }

  async listNameAdd(key: string, name: string): Promise<void> {
    const e = this.get(key);
    if (e && !(e.value instanceof Set)) throw wrongKind("listNameAdd");
    if (e) (e.value as Set<string>).add(name);
    else this.data.set(key, { value: new Set([name]), expires: Number.POSITIVE_INFINITY });
  }

  async listNames(key: string): Promise<string[]> {
    const e = this.get(key);
    if (e && !(e.value instanceof Set)) throw wrongKind("listNames");
    return e ? [...(e.value as Set<string>)].sort() : [];
  }

  // Incidents (same semantics as incident-find-2, incident-read-1, incident-save-5 and incident-scan-1.lua).
  private hashOf<V extends string | number>(operation: string, key: string, create: boolean): Map<string, V> {
    const e = this.get(key);
    if (e && !(e.value instanceof Map)) throw wrongKind(operation);
    if (e) return e.value as Map<string, V>;
    const made = new Map<string, V>();
    if (create) this.data.set(key, { value: made as Map<string, string>, expires: Number.POSITIVE_INFINITY });
    return made;
  }

  async incidentFind(keys: IncidentKeys, entities: readonly string[], ids: readonly string[]): Promise<IncidentFound> {
    const links = this.hashOf<string>("incidentFind", keys.links, false);
    const stored = this.hashOf<string>("incidentFind", keys.docs, false);
    const linked = entities.map((e) => links.get(e));
    const docs = new Map<string, string>();
    for (const id of [...linked, ...ids]) {
      const doc = id === undefined ? undefined : stored.get(id);
      if (id !== undefined && doc !== undefined) docs.set(id, doc);
    }
    return { links: linked, docs };
  }

  async incidentRead(keys: IncidentKeys, ids: readonly string[]): Promise<Array<string | undefined>> {
    const docs = this.hashOf<string>("incidentRead", keys.docs, false);
    return ids.map((id) => docs.get(id));
  }

  async incidentSave(keys: IncidentKeys, save: IncidentSave): Promise<IncidentSaveResult> {
    checkTime("incidentSave", save.linkTime);
    checkTime("incidentSave", save.retainAfter);
    checkTime("incidentSave", save.linkAfter);
    const ttlMs = checkTtl("incidentSave", save.ttlMs);
    for (const w of save.writes) {
      checkCount("incidentSave", w.version);
      checkTime("incidentSave", w.lastSeen);
    }
    const versions = this.hashOf<number>("incidentSave", keys.versions, true);
    for (const w of save.writes)
      if ((versions.get(w.id) ?? 0) !== w.version - 1) return { saved: false, conflict: w.id };
    const docs = this.hashOf<string>("incidentSave", keys.docs, true);
    const index = this.hashOf<number>("incidentSave", keys.index, true);
    const links = this.hashOf<string>("incidentSave", keys.links, true);
    const touched = this.hashOf<number>("incidentSave", keys.touched, true);
    for (const w of save.writes) {
      docs.set(w.id, w.doc);
      versions.set(w.id, w.version);
      index.set(w.id, w.lastSeen);
      this.lower(index, w.lastSeen);
    }
    for (const l of save.links) {
      links.set(l.entity, l.id);
      touched.set(l.entity, save.linkTime);
      this.lower(touched, save.linkTime);
    }
    for (const id of this.oldest(index, save.retainAfter)) {
      docs.delete(id);
      versions.delete(id);
      index.delete(id);
    }
    for (const entity of this.oldest(touched, save.linkAfter)) {
      links.delete(entity);
      touched.delete(entity);
    }
    const expires = this.now() + ttlMs;
    for (const k of [keys.docs, keys.versions, keys.index, keys.links, keys.touched]) {
      const e = this.data.get(k);
      if (e) e.expires = expires;
    }
    return { saved: true };
  }

  /**
   * A lower bound of each time-valued hash's values, so that trimming the oldest (at most 100 per save, as
   * ZRANGEBYSCORE … LIMIT 0 100 does in Redis) scans the hash only when something in it can be older than the cut:
   * without it every save walked every incident, quadratic in the incidents kept.
   */
  private readonly floors = new WeakMap<Map<string, number>, number>();

  private lower(m: Map<string, number>, t: number): void {
    const f = this.floors.get(m);
    if (f === undefined || t < f) this.floors.set(m, t);
  }

  private oldest(m: Map<string, number>, before: number): string[] {
    const floor = this.floors.get(m);
    if (m.size === 0 || (floor !== undefined && floor >= before)) return [];
    const old: Array<[string, number]> = [];
    let rest = Number.POSITIVE_INFINITY;
    for (const e of m) {
      if (e[1] < before) old.push(e);
      else if (e[1] < rest) rest = e[1];
    }
    old.sort(([am, a], [bm, b]) => a - b || (am < bm ? -1 : am > bm ? 1 : 0));
    const out = old.slice(0, 100).map(([k]) => k);
    // What stays: everything at or after the cut, and the old ones beyond this save's 100.
    const kept = old[100];
    this.floors.set(m, kept === undefined ? rest : Math.min(kept[1], rest));
    return out;
  }

  async incidentScan(
    keys: IncidentKeys,
    after: { readonly score: number; readonly id: string } | undefined,
    count: number,
  ): Promise<Array<{ id: string; score: number }>> {
    count = checkCount("incidentScan", count);
    if (after) checkTime("incidentScan", after.score);
    const index = this.hashOf<number>("incidentScan", keys.index, false);
    return [...index]
      .map(([id, score]) => ({ id, score }))
      .filter((x) => !after || x.score < after.score || (x.score === after.score && x.id < after.id))
      .sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, count);
  }

  // Playbook runs (same semantics as run-save-4.lua; reads and pages as incident-read-1 and incident-scan-1.lua).
  async runSave(keys: RunKeys, w: RunWrite): Promise<boolean> {
    checkCount("runSave", w.version);
    checkTime("runSave", w.started);
    checkTime("runSave", w.retainAfter);
    const ttlMs = checkTtl("runSave", w.ttlMs);
    const versions = this.hashOf<number>("runSave", keys.versions, true);
    if ((versions.get(w.id) ?? 0) !== w.version - 1) return false;
    const docs = this.hashOf<string>("runSave", keys.docs, true);
    const index = this.hashOf<number>("runSave", keys.index, true);
    const open = this.hashOf<number>("runSave", keys.open, true);
    docs.set(w.id, w.doc);
    versions.set(w.id, w.version);
    index.set(w.id, w.started);
    if (w.open) open.set(w.id, w.started);
    else open.delete(w.id);
    // The index holds runs in the order they were first saved, which is their start order: the oldest are first,
    // so trimming looks no further than the first run still in retention (a save stays O(1)).
    const old: string[] = [];
    for (const [id, t] of index) {
      if (t >= w.retainAfter || old.length >= 100) break;
      old.push(id);
    }
    for (const id of old) {
      docs.delete(id);
      versions.delete(id);
      index.delete(id);
      open.delete(id);
    }
    const expires = this.now() + ttlMs;
    for (const k of [keys.docs, keys.versions, keys.index, keys.open]) {
      const e = this.data.get(k);
      if (e) e.expires = expires;
    }
    return true;
  }

  async runRead(keys: RunKeys, ids: readonly string[]): Promise<Array<string | undefined>> {
    const docs = this.hashOf<string>("runRead", keys.docs, false);
    return ids.map((id) => docs.get(id));
  }

  async runScan(
    keys: RunKeys,
    which: "all" | "open",
    after: { readonly score: number; readonly id: string } | undefined,
    count: number,
  ): Promise<Array<{ id: string; score: number }>> {
    count = checkCount("runScan", count);
    if (after) checkTime("runScan", after.score);
    const index = this.hashOf<number>("runScan", which === "open" ? keys.open : keys.index, false);
    return [...index]
      .map(([id, score]) => ({ id, score }))
      .filter((x) => !after || x.score < after.score || (x.score === after.score && x.id < after.id))
      .sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, count);
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.data) if (e.expires <= now) this.data.delete(k);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.data.clear();
    this.leases.clear();
  }
}
