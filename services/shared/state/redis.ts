/**
 * Redis state (ioredis). Every operation is one Lua script from lua/, named `<name>-<numKeys>.lua`;
 * TypeScript only builds keys and arguments.
 */
import { readdirSync, readFileSync } from "node:fs";
import { RiposteError, messageOf } from "../errors.ts";
import { nameRedisScripts } from "../redis-spans.ts";
import { tracesExported } from "../telemetry.ts";
import { connectRedis, type RedisClient, type RedisTarget } from "./connect.ts";
import {
  checkCount,
  checkTime,
  checkTtl,
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

const LUA_DIR = new URL("./lua/", import.meta.url);

interface Script {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
}

/** Loads every script in lua/; exported for tests that check the headers. */
export function loadScripts(): Script[] {
  return readdirSync(LUA_DIR)
    .filter((f) => f.endsWith(".lua"))
    .map((f) => {
      const m = /^(.+)-(\d+)\.lua$/.exec(f);
      if (!m) throw new Error(`Lua script ${f} must be named <name>-<numKeys>.lua`);
      return { name: m[1] as string, numberOfKeys: Number(m[2]), lua: readFileSync(new URL(f, LUA_DIR), "utf8") };
    });
}

/** Socket-level error codes: the server could not be reached or the connection broke. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTCONN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
]);

/** ioredis / redis-errors classes raised when a command could not be delivered or answered. */
const CONNECTION_ERROR_NAMES = new Set([
  "MaxRetriesPerRequestError",
  "AbortError",
  "InterruptError",
  "ParserError",
  "ClusterAllFailedError",
]);

/** ioredis messages for commands that never reached a working connection. */
const CONNECTION_MESSAGE =
  /Connection is closed|Connection is (aborted|discarded)|Stream isn't writeable|Command timed out|Socket timeout|None of startup nodes is available|Cluster is disconnect|Cluster isn't ready|Node is disconnected|\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)\b/;

/**
 * Redis replies saying the server cannot serve the command right now (still loading, failing over, a replica,
 * busy with a script, out of memory), also when a script's redis.call got them (`...: -READONLY ...`).
 */
const TRANSIENT_REPLY = /(^|: -?)(LOADING|CLUSTERDOWN|TRYAGAIN|READONLY|MASTERDOWN|NOREPLICAS|BUSY|OOM)\s/;

/** True when an error means the connection or the server's availability, not the command. */
function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
  if (CONNECTION_ERROR_NAMES.has(e.name)) return true;
  if (TRANSIENT_REPLY.test(e.message)) return true;
  if (e.name !== "ReplyError" && CONNECTION_MESSAGE.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== e && isConnectionError(e.cause);
}

/**
 * The one mapping from a failed Redis command to a coded error. Only connection and availability errors are
 * retriable (RIPOSTE_STATE_UNAVAILABLE: the message is redelivered until Redis is back); a script error or any
 * other refused command (WRONGTYPE, a bad argument, ...) fails the same way every time, so it is
 * RIPOSTE_STATE_SCRIPT, not retried.
 */
export function stateError(operation: string, e: unknown): RiposteError {
  if (e instanceof RiposteError) return e;
  if (isConnectionError(e))
    return new RiposteError("RIPOSTE_STATE_UNAVAILABLE", `Redis ${operation} failed: ${messageOf(e)}`, { cause: e });
  return new RiposteError("RIPOSTE_STATE_SCRIPT", `Redis ${operation} refused: ${messageOf(e)}`, { cause: e });
}

type Call = (script: string, keys: string[], args: Array<string | number>) => Promise<unknown>;

export class RedisState implements StateStore {
  readonly kind = "redis" as const;
  private readonly redis: RedisClient;
  private readonly call: Call;

  /** `target`: a redis:// URL, or where Redis is with `cluster: true` for a Redis Cluster (seed URLs). */
  constructor(target: string | RedisTarget) {
    // Auto-pipelining sends a tick's commands from the first caller's async context, so their spans would all
    // join that caller's trace: while spans are exported each command is sent (and traced) where it is called.
    this.redis = connectRedis(typeof target === "string" ? { url: target } : target, {
      maxRetriesPerRequest: 3,
      enableAutoPipelining: !tracesExported(),
    });
    this.redis.on("error", () => {
      /* surfaced on the commands that fail */
    });
    const scripts = loadScripts();
    nameRedisScripts(scripts);
    for (const s of scripts) this.redis.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
    const r = this.redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>;
    this.call = async (script, keys, args) => {
      const fn = r[script];
      if (!fn) throw new Error(`no Lua script named ${script}`);
      try {
        return await fn.call(this.redis, ...keys, ...args);
      } catch (e) {
        throw stateError(script, e);
      }
    };
  }

  /** Resolves once the server answers PING; throws a clear error if it cannot be reached. */
  async ready(): Promise<void> {
    try {
      await this.redis.ping();
    } catch (e) {
      throw new RiposteError("RIPOSTE_STATE_UNAVAILABLE", `cannot reach Redis: ${messageOf(e)}`, { cause: e });
    }
  }

  async seen(key: string, ttlMs: number): Promise<number> {
    return Number(await this.call("seen", [key], [checkTtl("seen", ttlMs)]));
  }

  async claim(key: string, owner: string, ttlMs: number): Promise<ClaimResult> {
    const [code, detail] = (await this.call("claim", [key], [owner, checkTtl("claim", ttlMs)])) as [number, string];
    if (code === 1) return { state: "acquired" };
    if (code === 2) return { state: "done", result: detail };
    return { state: "held", owner: detail };
  }

  async complete(key: string, owner: string, result: string, ttlMs: number): Promise<boolean> {
    return Number(await this.call("complete", [key], [owner, result, checkTtl("complete", ttlMs)])) === 1;
  }

  async release(key: string, owner: string): Promise<boolean> {
    return Number(await this.call("release", [key], [owner])) === 1;
  }

  async windowAdd(key: string, member: string, nowMs: number, windowMs: number): Promise<number> {
    const args = [member, checkTime("windowAdd", nowMs), checkTtl("windowAdd", windowMs)];
    return Number(await this.call("window-add", [key], args));
  }

  // Executor guards: budgets, token buckets and plain values.
  async budgetTake(key: string, member: string, nowMs: number, windowMs: number, limit: number): Promise<BudgetResult> {
    const args = [
      member,
      checkTime("budgetTake", nowMs),
      checkTtl("budgetTake", windowMs),
      checkCount("budgetTake", limit),
    ];
    const [admitted, count] = (await this.call("budget-take", [key], args)) as [number, number];
    return { admitted: admitted === 1, count: Number(count) };
  }

  async budgetRelease(key: string, member: string): Promise<boolean> {
    return Number(await this.call("budget-release", [key], [member])) === 1;
  }

  async budgetCount(key: string, nowMs: number, windowMs: number): Promise<number> {
    const args = [checkTime("budgetCount", nowMs), checkTtl("budgetCount", windowMs)];
    return Number(await this.call("budget-count", [key], args));
  }

  async tokenTake(key: string, nowMs: number, capacity: number, intervalMs: number): Promise<number> {
    const args = [checkTime("tokenTake", nowMs), checkCount("tokenTake", capacity), checkTtl("tokenTake", intervalMs)];
    return Number(await this.call("token-take", [key], args));
  }

  async getValue(key: string): Promise<string | undefined> {
    const v = await this.call("value-get", [key], []);
    return typeof v === "string" ? v : undefined;
  }

  async setValue(key: string, value: string): Promise<void> {
    await this.call("value-set", [key], [value]);
  }

  // Containment leases (lease-*-6.lua; every script takes the six lease keys).
  private lease(script: string, keys: LeaseKeys, args: Array<string | number>): Promise<unknown> {
    return this.call(script, [keys.docs, keys.due, keys.running, keys.ends, keys.targets, keys.index], args);
  }

  async leaseHold(keys: LeaseKeys, field: string, owner: string, nowMs: number, holdMs: number): Promise<LeaseHold> {
    const args = [field, owner, checkTime("leaseHold", nowMs), checkTtl("leaseHold", holdMs)];
    const [code, by] = (await this.lease("lease-hold", keys, args)) as [number, string];
    return Number(code) === 1 ? { state: "acquired" } : { state: "held", by: String(by) };
  }

  async leaseDrop(keys: LeaseKeys, field: string, owner: string): Promise<boolean> {
    return Number(await this.lease("lease-drop", keys, [field, owner])) === 1;
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
    const args = [field, owner, id, doc, checkTime("leaseOpen", sinceMs), checkTime("leaseOpen", expiresMs)];
    return Number(await this.lease("lease-open", keys, args)) === 1;
  }

  async leaseExtend(keys: LeaseKeys, id: string, expiresMs: number): Promise<LeaseChange> {
    return change(await this.lease("lease-extend", keys, [id, checkTime("leaseExtend", expiresMs)]));
  }

  async leaseRelease(keys: LeaseKeys, id: string, nowMs: number, end: string): Promise<LeaseChange> {
    return change(await this.lease("lease-release", keys, [id, checkTime("leaseRelease", nowMs), end]));
  }

  async leaseClaim(keys: LeaseKeys, nowMs: number, claimMs: number, limit: number): Promise<LeaseRow[]> {
    const args = [checkTime("leaseClaim", nowMs), checkTtl("leaseClaim", claimMs), checkCount("leaseClaim", limit)];
    const flat = (await this.lease("lease-claim", keys, args)) as string[];
    const out: LeaseRow[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3)
      out.push({ id: String(flat[i]), doc: String(flat[i + 1]), due: undefined, end: String(flat[i + 2]) });
    return out;
  }

  async leaseRetry(keys: LeaseKeys, id: string, atMs: number, end: string): Promise<void> {
    await this.lease("lease-retry", keys, [id, checkTime("leaseRetry", atMs), end]);
  }

  async leaseEnd(keys: LeaseKeys, id: string, field: string): Promise<void> {
    await this.lease("lease-end", keys, [id, field]);
  }

  async leaseList(keys: LeaseKeys, offset: number, count: number): Promise<LeaseRow[]> {
    if (!Number.isInteger(offset) || offset < 0) checkCount("leaseList", -1);
    return rows(await this.lease("lease-list", keys, [offset, checkCount("leaseList", count), ""]));
  }

  async leaseGet(keys: LeaseKeys, id: string): Promise<LeaseRow | undefined> {
    return rows(await this.lease("lease-list", keys, [-1, 1, id]))[0];
  }

  // Correlator: timelines and dedup digests.
  async recall(key: string): Promise<TimelineEntry[]> {
    const flat = (await this.call("recall", [key], [])) as string[];
    const out: TimelineEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ member: flat[i] as string, time: Number(flat[i + 1]) });
    return out;
  }

  async append(
    key: string,
    entries: readonly TimelineEntry[],
    cutoffMs: number,
    cap: number,
    ttlMs: number,
  ): Promise<void> {
    const args: Array<string | number> = [
      checkTime("append", cutoffMs),
      checkCount("append", cap),
      checkTtl("append", ttlMs),
    ];
    for (const x of entries) args.push(checkTime("append", x.time), x.member);
    await this.call("append", [key], args);
  }

  async lookup(key: string, field: string): Promise<string | undefined> {
    const v = await this.call("lookup", [key], [field]);
    return typeof v === "string" ? v : undefined;
  }

  async record(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    await this.call("record", [key], [field, value, checkTtl("record", ttlMs)]);
  }

  // Imported lists.
  async listAdd(key: string, entries: readonly ListEntry[], nowMs: number): Promise<number> {
    const args: Array<string | number> = [checkTime("listAdd", nowMs)];
    for (const e of entries) args.push(e.value, checkTime("listAdd", e.expires));
    return Number(await this.call("list-add", [key], args));
  }

  async listCommit(key: string, versionKey: string, nowMs: number): Promise<{ count: number; version: number }> {
    const [count, version] = (await this.call("list-commit", [key, versionKey], [checkTime("listCommit", nowMs)])) as [
      number,
      number,
    ];
    return { count: Number(count), version: Number(version) };
  }

  async listRead(key: string, versionKey: string, nowMs: number): Promise<{ version: number; entries: ListEntry[] }> {
    const flat = (await this.call("list-read", [key, versionKey], [checkTime("listRead", nowMs)])) as Array<
      string | number
    >;
    const entries: ListEntry[] = [];
    for (let i = 1; i + 1 < flat.length; i += 2) entries.push({ value: String(flat[i]), expires: Number(flat[i + 1]) });
    return { version: Number(flat[0] ?? 0), entries };
  }

  async listNameAdd(key: string, name: string): Promise<void> {
    await this.call("list-name-add", [key], [name]);
  }

  async listNames(key: string): Promise<string[]> {
    return ((await this.call("list-names", [key], [])) as string[]).map(String).sort();
  }

  // Incidents.
  async incidentFind(keys: IncidentKeys, entities: readonly string[], ids: readonly string[]): Promise<IncidentFound> {
    const [links, found] = (await this.call(
      "incident-find",
      [keys.links, keys.docs],
      [entities.length, ...entities, ...ids],
    )) as [Array<string | null>, string[]];
    const docs = new Map<string, string>();
    for (let i = 0; i + 1 < found.length; i += 2) docs.set(String(found[i]), String(found[i + 1]));
    return { links: links.map((v) => (typeof v === "string" ? v : undefined)), docs };
  }

  async incidentRead(keys: IncidentKeys, ids: readonly string[]): Promise<Array<string | undefined>> {
    const got = (await this.call("incident-read", [keys.docs], [...ids])) as Array<string | null>;
    return got.map((v) => (typeof v === "string" ? v : undefined));
  }

  async incidentSave(keys: IncidentKeys, save: IncidentSave): Promise<IncidentSaveResult> {
    const args: Array<string | number> = [
      save.writes.length,
      save.links.length,
      checkTime("incidentSave", save.linkTime),
      checkTime("incidentSave", save.retainAfter),
      checkTime("incidentSave", save.linkAfter),
      checkTtl("incidentSave", save.ttlMs),
    ];
    for (const w of save.writes)
      args.push(w.id, checkCount("incidentSave", w.version), checkTime("incidentSave", w.lastSeen), w.doc);
    for (const l of save.links) args.push(l.entity, l.id);
    const [code, id] = (await this.call(
      "incident-save",
      [keys.docs, keys.versions, keys.index, keys.links, keys.touched],
      args,
    )) as [number, string];
    return Number(code) === 1 ? { saved: true } : { saved: false, conflict: String(id) };
  }

  async incidentScan(
    keys: IncidentKeys,
    after: { readonly score: number; readonly id: string } | undefined,
    count: number,
  ): Promise<Array<{ id: string; score: number }>> {
    const args = after
      ? [checkTime("incidentScan", after.score), after.id, checkCount("incidentScan", count)]
      : ["+inf", "", checkCount("incidentScan", count)];
    const flat = (await this.call("incident-scan", [keys.index], args)) as string[];
    const out: Array<{ id: string; score: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: String(flat[i]), score: Number(flat[i + 1]) });
    return out;
  }

  // Playbook runs. Reading and paging are the incident store's scripts (HMGET of a hash, pages of a sorted set).
  async runSave(keys: RunKeys, w: RunWrite): Promise<boolean> {
    const args = [
      w.id,
      checkCount("runSave", w.version),
      checkTime("runSave", w.started),
      w.open ? 1 : 0,
      w.doc,
      checkTime("runSave", w.retainAfter),
      checkTtl("runSave", w.ttlMs),
    ];
    return Number(await this.call("run-save", [keys.docs, keys.versions, keys.index, keys.open], args)) === 1;
  }

  async runRead(keys: RunKeys, ids: readonly string[]): Promise<Array<string | undefined>> {
    const got = (await this.call("incident-read", [keys.docs], [...ids])) as Array<string | null>;
    return got.map((v) => (typeof v === "string" ? v : undefined));
  }

  async runScan(
    keys: RunKeys,
    which: "all" | "open",
    after: { readonly score: number; readonly id: string } | undefined,
    count: number,
  ): Promise<Array<{ id: string; score: number }>> {
    const args = after
      ? [checkTime("runScan", after.score), after.id, checkCount("runScan", count)]
      : ["+inf", "", checkCount("runScan", count)];
    const flat = (await this.call("incident-scan", [which === "open" ? keys.open : keys.index], args)) as string[];
    const out: Array<{ id: string; score: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: String(flat[i]), score: Number(flat[i + 1]) });
    return out;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function change(code: unknown): LeaseChange {
  const n = Number(code);
  return n === 1 ? "ok" : n === 0 ? "unknown" : "ended";
}

function rows(reply: unknown): LeaseRow[] {
  const flat = reply as string[];
  const out: LeaseRow[] = [];
  for (let i = 0; i + 3 < flat.length; i += 4) {
    const due = String(flat[i + 2]);
    const end = String(flat[i + 3]);
    out.push({
      id: String(flat[i]),
      doc: String(flat[i + 1]),
      due: due === "" ? undefined : Number(due),
      end: end === "" ? undefined : end,
    });
  }
  return out;
}
