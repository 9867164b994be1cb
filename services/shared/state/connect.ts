/**
 * One way to open a Redis connection for every Redis user in Riposte (state, trail): a single endpoint, or a Redis
 * Cluster from its seed nodes (`RIPOSTE_REDIS_CLUSTER=true`, `REDIS_URL` a comma-separated list of seeds; the client
 * discovers the rest). Every key Riposte writes carries a hash tag, and every script touches keys of one tag only,
 * so each call goes to one shard.
 */
import { Cluster, Redis, type RedisOptions } from "ioredis";

export type RedisClient = Redis | Cluster;

/** Where Redis is: `url` is one redis:// URL, or (cluster) seed URLs separated by commas. */
export interface RedisTarget {
  readonly url: string;
  readonly cluster?: boolean;
}

export interface ConnectOptions {
  readonly maxRetriesPerRequest: number;
  readonly enableAutoPipelining?: boolean;
}

/** The seed nodes and connection options of a cluster URL list; credentials and TLS from the first seed. */
export function clusterSeeds(urls: string): {
  nodes: Array<{ host: string; port: number }>;
  options: Pick<RedisOptions, "username" | "password" | "tls">;
} {
  const parsed = urls
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean)
    .map((u) => new URL(u));
  const first = parsed[0];
  if (!first) throw new Error("REDIS_URL names no cluster seed node");
  return {
    nodes: parsed.map((u) => ({ host: u.hostname, port: u.port === "" ? 6379 : Number(u.port) })),
    options: {
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      ...(first.protocol === "rediss:" ? { tls: {} } : {}),
    },
  };
}

export function connectRedis(target: RedisTarget, opts: ConnectOptions): RedisClient {
  const auto = opts.enableAutoPipelining ?? false;
  if (!target.cluster)
    return new Redis(target.url, {
      maxRetriesPerRequest: opts.maxRetriesPerRequest,
      enableAutoPipelining: auto,
      lazyConnect: false,
    });
  const { nodes, options } = clusterSeeds(target.url);
  return new Cluster(nodes, {
    enableAutoPipelining: auto,
    // Writes and the reads that must see them go to the primaries.
    scaleReads: "master",
    redisOptions: { ...options, maxRetriesPerRequest: opts.maxRetriesPerRequest },
  });
}
