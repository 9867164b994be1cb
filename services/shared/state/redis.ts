/**
 * Redis state (ioredis). Every operation is one Lua script from lua/, named `<name>-<numKeys>.lua`;
 * TypeScript only builds keys and arguments.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { RiposteError, messageOf } from "../errors.ts";
import type { ClaimResult, StateStore } from "./types.ts";

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

type Call = (script: string, keys: string[], args: Array<string | number>) => Promise<unknown>;

export class RedisState implements StateStore {
  readonly kind = "redis" as const;
  private readonly redis: Redis;
  private readonly call: Call;

  constructor(url: string) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 3, enableAutoPipelining: true, lazyConnect: false });
    this.redis.on("error", () => {
      /* surfaced on the commands that fail */
    });
    for (const s of loadScripts()) this.redis.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
    const r = this.redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>;
    this.call = async (script, keys, args) => {
      const fn = r[script];
      if (!fn) throw new Error(`no Lua script named ${script}`);
      try {
        return await fn.call(this.redis, ...keys, ...args);
      } catch (e) {
        throw new RiposteError("RIPOSTE_STATE_UNAVAILABLE", `Redis ${script} failed: ${messageOf(e)}`, { cause: e });
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
    return Number(await this.call("seen", [key], [ttlMs]));
  }

  async claim(key: string, owner: string, ttlMs: number): Promise<ClaimResult> {
    const [code, detail] = (await this.call("claim", [key], [owner, ttlMs])) as [number, string];
    if (code === 1) return { state: "acquired" };
    if (code === 2) return { state: "done", result: detail };
    return { state: "held", owner: detail };
  }

  async complete(key: string, owner: string, result: string, ttlMs: number): Promise<boolean> {
    return Number(await this.call("complete", [key], [owner, result, ttlMs])) === 1;
  }

  async release(key: string, owner: string): Promise<boolean> {
    return Number(await this.call("release", [key], [owner])) === 1;
  }

  async windowAdd(key: string, member: string, nowMs: number, windowMs: number): Promise<number> {
    return Number(await this.call("window-add", [key], [member, nowMs, windowMs]));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
