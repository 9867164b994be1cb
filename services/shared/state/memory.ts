/** In-memory state for the embedded mode: same semantics as the Redis scripts, expiry checked on access. */
import { checkTime, checkTtl, wrongKind, type ClaimResult, type StateStore } from "./types.ts";

interface Entry {
  value: string | number | Map<string, number>;
  expires: number;
}

export class MemoryState implements StateStore {
  readonly kind = "memory" as const;
  private readonly data = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;

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

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.data) if (e.expires <= now) this.data.delete(k);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.data.clear();
  }
}
