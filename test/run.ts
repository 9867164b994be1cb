/**
 * The test suite's runner: starts a real Kafka broker and a private Redis when KAFKA_BROKERS / REDIS_URL are not
 * set, runs every test file with node's test runner against them, and stops them afterwards.
 */
import { spawn } from "node:child_process";
import { glob } from "node:fs/promises";
import { startKafka, type RunningKafka } from "./infra/kafka.ts";
import { startRedis, type RunningRedis } from "./infra/redis.ts";

const log = (line: string) => process.stderr.write(`[test] ${line}\n`);

async function files(patterns: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of patterns) for await (const f of glob(p, { exclude: (n) => n.includes("node_modules") })) out.push(f);
  return out.sort();
}

async function main(): Promise<number> {
  const only = process.argv.slice(2);
  const tests =
    only.length > 0 ? only : await files(["services/**/*.test.ts", "schemas/**/*.test.ts", "test/**/*.test.ts"]);
  let kafka: RunningKafka | undefined;
  let redis: RunningRedis | undefined;
  const env = { ...process.env };
  try {
    if (!env["KAFKA_BROKERS"]) {
      log("KAFKA_BROKERS not set: starting a real Kafka 3.9.1 broker for the tests");
      kafka = await startKafka({ log });
      env["KAFKA_BROKERS"] = kafka.brokers;
      log(`Kafka ready at ${kafka.brokers}`);
    }
    if (!env["REDIS_URL"]) {
      redis = await startRedis();
      env["REDIS_URL"] = redis.url;
      log(`Redis ready at ${redis.url}`);
    }
    const child = spawn(process.execPath, ["--test", "--test-concurrency=2", "--test-timeout=180000", ...tests], {
      stdio: "inherit",
      env,
    });
    const stop = () => child.kill("SIGTERM");
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    return await new Promise<number>((resolve) =>
      child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))),
    );
  } finally {
    await Promise.allSettled([kafka?.stop(), redis?.stop()]);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`could not start the test infrastructure: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
