/** `riposte dlq replay`: sends dead-lettered events back through normalization on the distributed bus. */
import { CONNECTORS } from "../executor/connectors/index.ts";
import { Ingestor } from "../ingest/ingestor.ts";
import { replayDlq } from "../ingest/replay.ts";
import { KafkaBus } from "../shared/bus/index.ts";
import { loadConfig, topicNames } from "../shared/config.ts";
import { RiposteError } from "../shared/errors.ts";
import { createLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";

export async function dlqReplayCommand(opts: {
  code?: string | undefined;
  since?: string | undefined;
  dryRun: boolean;
  fromBeginning: boolean;
}): Promise<number> {
  const config = loadConfig(process.env, CONNECTORS);
  if (!config.kafka.brokers) {
    throw new RiposteError(
      "RIPOSTE_CONFIG_INVALID",
      "riposte dlq replay reads the DLQ topic on Kafka: set KAFKA_BROKERS (in the embedded mode use POST /v1/dlq/replay on the running API)",
    );
  }
  const since = opts.since === undefined ? undefined : Date.parse(opts.since);
  if (since !== undefined && Number.isNaN(since))
    throw new RiposteError("RIPOSTE_CONFIG_INVALID", `--since ${opts.since}: not a date (use ISO 8601)`);
  const log = createLogger({ level: "warn" });
  const bus = new KafkaBus({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-dlq-replay`, log });
  const topics = topicNames(config.topics.prefix);
  try {
    const groupId = `${config.groupPrefix}.dlq-replay`;
    const report = await replayDlq({
      bus,
      topics,
      ingestor: new Ingestor({ bus, topics, metrics: new Metrics() }),
      groupId,
      fromBeginning: opts.fromBeginning,
      code: opts.code,
      since,
      dryRun: opts.dryRun,
      progress: (n) => process.stderr.write(`\rscanned ${n} DLQ records`),
    });
    process.stderr.write("\n");
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  } finally {
    await bus.close();
  }
}
