/** The in-memory containment leases of MemoryState: the same semantics as the lease-*-6.lua scripts. */
import {
  checkCount,
  checkTime,
  checkTtl,
  type LeaseChange,
  type LeaseHold,
  type LeaseKeys,
  type LeaseRow,
} from "./types.ts";

interface LeaseSet {
  readonly docs: Map<string, string>;
  readonly due: Map<string, number>;
  readonly running: Map<string, number>;
  readonly ends: Map<string, string>;
  readonly targets: Map<string, string>;
  readonly index: Map<string, number>;
}

const PENDING = /^P\|(.*)\|(\d+)$/;

const byScore = (m: Map<string, number>) =>
  [...m].sort(([ai, a], [bi, b]) => a - b || (ai < bi ? -1 : ai > bi ? 1 : 0));

export class MemoryLeases {
  private readonly sets = new Map<string, LeaseSet>();

  private set(keys: LeaseKeys): LeaseSet {
    let s = this.sets.get(keys.docs);
    if (!s) {
      s = {
        docs: new Map(),
        due: new Map(),
        running: new Map(),
        ends: new Map(),
        targets: new Map(),
        index: new Map(),
      };
      this.sets.set(keys.docs, s);
    }
    return s;
  }

  hold(keys: LeaseKeys, field: string, owner: string, nowMs: number, holdMs: number): LeaseHold {
    nowMs = checkTime("leaseHold", nowMs);
    holdMs = checkTtl("leaseHold", holdMs);
    const { targets } = this.set(keys);
    const v = targets.get(field);
    if (v !== undefined) {
      if (v.startsWith("L|")) return { state: "held", by: v };
      const m = PENDING.exec(v);
      if (m && m[1] !== owner && Number(m[2]) > nowMs) return { state: "held", by: v };
    }
    targets.set(field, `P|${owner}|${nowMs + holdMs}`);
    return { state: "acquired" };
  }

  drop(keys: LeaseKeys, field: string, owner: string): boolean {
    const { targets } = this.set(keys);
    const v = targets.get(field);
    if (v === undefined || PENDING.exec(v)?.[1] !== owner) return false;
    targets.delete(field);
    return true;
  }

  open(keys: LeaseKeys, field: string, owner: string, id: string, doc: string, since: number, expires: number) {
    checkTime("leaseOpen", since);
    checkTime("leaseOpen", expires);
    const s = this.set(keys);
    const v = s.targets.get(field);
    if (v === `L|${id}`) return true;
    if (v !== undefined && PENDING.exec(v)?.[1] !== owner) return false;
    s.targets.set(field, `L|${id}`);
    s.docs.set(id, doc);
    s.due.set(id, expires);
    s.index.set(id, since);
    return true;
  }

  extend(keys: LeaseKeys, id: string, expiresMs: number): LeaseChange {
    checkTime("leaseExtend", expiresMs);
    const s = this.set(keys);
    if (!s.docs.has(id)) return "unknown";
    if (s.ends.has(id) || !s.due.has(id)) return "ended";
    s.due.set(id, expiresMs);
    return "ok";
  }

  release(keys: LeaseKeys, id: string, nowMs: number, end: string): LeaseChange {
    checkTime("leaseRelease", nowMs);
    const s = this.set(keys);
    if (!s.docs.has(id)) return "unknown";
    const ended = s.ends.has(id);
    if (ended && (s.due.has(id) || s.running.has(id))) return "ended";
    if (!ended) s.ends.set(id, end);
    s.due.set(id, nowMs);
    return "ok";
  }

  claim(keys: LeaseKeys, nowMs: number, claimMs: number, limit: number): LeaseRow[] {
    nowMs = checkTime("leaseClaim", nowMs);
    claimMs = checkTtl("leaseClaim", claimMs);
    limit = checkCount("leaseClaim", limit);
    const s = this.set(keys);
    for (const [id, t] of byScore(s.running).slice(0, 1000)) {
      if (t > nowMs) break;
      s.running.delete(id);
      s.due.set(id, nowMs);
    }
    const out: LeaseRow[] = [];
    for (const [id, t] of byScore(s.due)) {
      if (t > nowMs || out.length >= limit) break;
      s.due.delete(id);
      const doc = s.docs.get(id);
      if (doc === undefined) continue;
      s.running.set(id, nowMs + claimMs);
      let end = s.ends.get(id);
      if (end === undefined) {
        end = `{"why":"expired","at":${t}}`;
        s.ends.set(id, end);
      }
      out.push({ id, doc, due: undefined, end });
    }
    return out;
  }

  retry(keys: LeaseKeys, id: string, atMs: number, end: string): void {
    checkTime("leaseRetry", atMs);
    const s = this.set(keys);
    s.running.delete(id);
    if (!s.docs.has(id)) return;
    s.ends.set(id, end);
    if (atMs > 0) s.due.set(id, atMs);
  }

  end(keys: LeaseKeys, id: string, field: string): void {
    const s = this.set(keys);
    for (const m of [s.docs, s.ends, s.due, s.running, s.index]) m.delete(id);
    if (s.targets.get(field) === `L|${id}`) s.targets.delete(field);
  }

  list(keys: LeaseKeys, offset: number, count: number): LeaseRow[] {
    if (!Number.isInteger(offset) || offset < 0) checkCount("leaseList", -1);
    count = checkCount("leaseList", count);
    const s = this.set(keys);
    return byScore(s.index)
      .slice(offset, offset + count)
      .map(([id]) => this.row(s, id))
      .filter((r): r is LeaseRow => r !== undefined);
  }

  get(keys: LeaseKeys, id: string): LeaseRow | undefined {
    return this.row(this.set(keys), id);
  }

  private row(s: LeaseSet, id: string): LeaseRow | undefined {
    const doc = s.docs.get(id);
    return doc === undefined ? undefined : { id, doc, due: s.due.get(id), end: s.ends.get(id) };
  }

  clear(): void {
    this.sets.clear();
  }
}
