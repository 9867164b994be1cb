/** Where the tests find Kafka and Redis. A test that needs them and cannot reach them fails; it never skips. */
import { connect } from "node:net";
import { randomBytes } from "node:crypto";

function reachable(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort
    .replace(/^rediss?:\/\//, "")
    .replace(/\/.*$/, "")
    .split(":");
  return new Promise((resolve) => {
    const s = connect({ host: host ?? "127.0.0.1", port: Number(port ?? 0) });
    s.setTimeout(3000, () => (s.destroy(), resolve(false)));
    s.once("connect", () => (s.end(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/** KAFKA_BROKERS as a list; throws a clear error if unset or unreachable. */
export async function requireKafka(): Promise<string[]> {
  const brokers = process.env["KAFKA_BROKERS"];
  if (!brokers)
    throw new Error("this test needs Kafka: run it through `npm test` (which starts a broker) or set KAFKA_BROKERS");
  const list = brokers.split(",");
  if (!(await reachable(list[0] as string)))
    throw new Error(
      `Kafka at ${brokers} is not reachable: start it (npx node test/infra/kafka.ts start) or fix KAFKA_BROKERS`,
    );
  return list;
}

/** REDIS_URL; throws a clear error if unset or unreachable. */
export async function requireRedis(): Promise<string> {
  const url = process.env["REDIS_URL"];
  if (!url) throw new Error("this test needs Redis: run it through `npm test` (which starts one) or set REDIS_URL");
  if (!(await reachable(url))) throw new Error(`Redis at ${url} is not reachable: start redis-server or fix REDIS_URL`);
  return url;
}

/** A unique prefix for topics, groups and keys, so tests never see each other's data. */
export function uniquePrefix(name: string): string {
  return `t-${name}-${randomBytes(4).toString("hex")}`;
}

/** Polls until `check` returns true or the timeout passes; throws with `what` on timeout. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 30_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "function" ? what() : what}`);
}
