/**
 * An executor in a process of its own, for crash tests: runs one decision (RIPOSTE_TEST_DECISION, JSON) through the
 * isolate-host playbook (or RIPOSTE_TEST_PLAYBOOK, a parsed playbook as JSON) against a CrowdStrike fake
 * (RIPOSTE_TEST_FALCON_URL) and optionally a Slack fake (RIPOSTE_TEST_SLACK_URL), on real Redis (REDIS_URL) under
 * the key prefix RIPOSTE_TEST_PREFIX, with the claim TTL RIPOSTE_TEST_CLAIM_TTL_MS. Prints each audit record as
 * one JSON line, then exits. The parent kills it with SIGKILL while the vendor holds its answer, or where
 * RIPOSTE_TEST_STOP_AT says: `complete:<step>` (the vendor answered the step, its outcome is not stored yet) or
 * `begin:<step>` (the steps before it are done, its action is not claimed yet); there the child prints
 * `STOPPED <where>` on stderr and waits forever.
 */
import { PlaybookFile, targetKey, type Decision } from "../../schemas/index.ts";
import { MemoryBus } from "../../services/shared/bus/index.ts";
import { topicNames } from "../../services/shared/config.ts";
import { silentLogger } from "../../services/shared/log.ts";
import { Metrics } from "../../services/shared/metrics.ts";
import { RedisState } from "../../services/shared/state/index.ts";
import { CONNECTORS } from "../../services/executor/connectors/index.ts";
import { Executor, actionIdOf } from "../../services/executor/executor.ts";
import { FALCON_CLIENT_ID, FALCON_CLIENT_SECRET } from "./crowdstrike.ts";
import { SLACK_CHANNEL, SLACK_TOKEN } from "./slack.ts";

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

/** The playbook the crash tests use: one containment step, generous timeout, no retries. */
export const CRASH_PLAYBOOK = PlaybookFile.parse({
  id: "isolate-host",
  version: 1,
  name: "Isolate",
  steps: [
    {
      id: "contain",
      connector: "crowdstrike",
      action: "contain_host",
      params: { host: "{{target.value}}" },
      timeout: "60s",
      retry: { max: 0, backoff: "10ms" },
    },
  ],
});

if (import.meta.main) {
  const prefix = env("RIPOSTE_TEST_PREFIX");
  const topics = topicNames(prefix);
  const bus = new MemoryBus();
  await bus.ensureTopics([topics.actions, topics.dlq].map((name) => ({ name, partitions: 1 })));
  const state = new RedisState(env("REDIS_URL"));
  await state.ready();
  const decision = JSON.parse(env("RIPOSTE_TEST_DECISION")) as Decision;
  const playbook = process.env["RIPOSTE_TEST_PLAYBOOK"]
    ? (JSON.parse(process.env["RIPOSTE_TEST_PLAYBOOK"]) as PlaybookFile)
    : CRASH_PLAYBOOK;
  const stopAt = /^(complete|begin):(.+)$/.exec(process.env["RIPOSTE_TEST_STOP_AT"] ?? "");
  if (stopAt) {
    // The action's claim key ends with its id; the heartbeat renews it with claim() too, so only the first claim
    // of the key is the step's beginning.
    const [, where, step] = stopAt as unknown as [string, "complete" | "begin", string];
    const actionKey = `:action:${actionIdOf(decision.id, step)}`;
    const stop = (): Promise<never> => {
      process.stderr.write(`STOPPED ${where}:${step}\n`);
      return new Promise<never>(() => undefined);
    };
    if (where === "complete") {
      const complete = state.complete.bind(state);
      state.complete = (key, ...rest) => (key.endsWith(actionKey) ? stop() : complete(key, ...rest));
    } else {
      const claim = state.claim.bind(state);
      state.claim = (key, ...rest) => (key.endsWith(actionKey) ? stop() : claim(key, ...rest));
    }
  }
  const publish = bus.publish.bind(bus);
  bus.publish = async (topic, messages) => {
    if (topic === topics.actions) for (const m of messages) process.stdout.write(`${String(m.value)}\n`);
    return publish(topic, messages);
  };
  const executor = new Executor({
    bus,
    state,
    topics,
    playbooks: new Map([[playbook.id, playbook]]),
    connectors: CONNECTORS,
    connectorConfig: {
      crowdstrike: {
        url: env("RIPOSTE_TEST_FALCON_URL"),
        credentials: { client_id: FALCON_CLIENT_ID, client_secret: FALCON_CLIENT_SECRET },
        dryRun: false,
      },
      ...(process.env["RIPOSTE_TEST_SLACK_URL"]
        ? {
            slack: {
              url: process.env["RIPOSTE_TEST_SLACK_URL"],
              credentials: { bot_token: SLACK_TOKEN, channel: SLACK_CHANNEL },
              dryRun: false,
            },
          }
        : {}),
    },
    log: silentLogger,
    metrics: new Metrics(),
    statePrefix: prefix,
    claimTtlMs: Number(env("RIPOSTE_TEST_CLAIM_TTL_MS")),
  });
  process.stderr.write("ready\n");
  await executor.handle([
    {
      topic: topics.decisions,
      partition: 0,
      offset: "0",
      key: decision.target ? targetKey(decision.target) : null,
      value: Buffer.from(JSON.stringify(decision)),
      headers: {},
      timestamp: 0,
    },
  ]);
  await state.close();
  await bus.close();
  // Pipes are written asynchronously: exit once the audit lines are out.
  process.stdout.write("", () => process.exit(0));
}
