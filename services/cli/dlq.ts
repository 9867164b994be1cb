/** `riposte dlq replay`: sends dead-lettered events back through ingest on the distributed bus. */
import { CONNECTORS } from "../executor/connectors/index.ts";
import { Ingestor } from "../ingest/ingestor.ts";
import { replayDlq } from "../ingest/replay.ts";
import { kafkaBus } from "../shared/bus/index.ts";
import { loadConfig, topicNames } from "../shared/config.ts";
import { RiposteError } from "../shared/errors.ts";
import { pino } from "pino";
import { Metrics } from "../shared/metrics.ts";
import { RedisState } from "../shared/state/index.ts";

export async function dlqReplayCommand(opts: {
  code?: string | undefined;
  since?: string | undefined;
  dryRun: boolean;
  fromBeginning: boolean;
}): Promise<number> {
  const config = loadConfig(process.env, CONNECTORS);
  if (!config.kafka.brokers || !config.redisUrl) {
    throw new RiposteError(
      "RIPOSTE_CONFIG_INVALID",
      "riposte dlq replay reads the DLQ topic on Kafka and takes the cluster's replay lock in Redis: set KAFKA_BROKERS and REDIS_URL (in the embedded mode use POST /v1/dlq/replay on the running API)",
    );
  }
  const since = opts.since === undefined ? undefined : Date.parse(opts.since);
  if (since !== undefined && Number.isNaN(since))
    throw new RiposteError("RIPOSTE_CONFIG_INVALID", `--since ${opts.since}: not a date (use ISO 8601)`);
  // Logs (kafkajs warnings) go to stderr: stdout carries only the report, for scripts.
  const log = pino({ name: "riposte", level: "warn", timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
  const state = new RedisState({ url: config.redisUrl, cluster: config.redisCluster });
  const bus = kafkaBus(config.kafka.client, {
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-dlq-replay`,
    log,
  });
  const topics = topicNames(config.topics.prefix);
  try {
    await state.ready();
    const report = await replayDlq({
      bus,
      topics,
      // The same source→format binding as ingest: a record a bound source may not send stays failing.
      ingestor: new Ingestor({
        bus,
        topics,
        metrics: new Metrics(),
        sourceFormats: config.sourceFormats,
        dropClasses: config.sourceDropClasses,
      }),
      state,
      groupId: `${config.groupPrefix}.dlq-replay`,
      fromBeginning: opts.fromBeginning,
      code: opts.code,
      since,
      dryRun: opts.dryRun,
      limits: { maxEvents: config.api.maxEvents, maxDepth: config.api.maxDepth },
      progress: (n) => process.stderr.write(`\rscanned ${n} DLQ records`),
    });
    process.stderr.write("\n");
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  } finally {
    await bus.close();
    await state.close();
  }
}
