/** `riposte run <service|all> [--demo]`: starts services and runs until SIGINT/SIGTERM. */
import { loadConfig } from "../shared/config.ts";
import { CONNECTORS } from "../executor/index.ts";
import { createLogger } from "../shared/log.ts";
import { initTelemetry, shutdownTelemetry } from "../shared/telemetry.ts";
import { SERVICES, startServices, type ServiceName } from "../runtime.ts";
import { RiposteError } from "../shared/errors.ts";
import { replayDemo } from "../demo/demo.ts";

export async function runCommand(target: string | undefined, flags: { demo: boolean }): Promise<void> {
  const config = loadConfig(process.env, CONNECTORS);
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  let services: ServiceName[];
  if (target === "all") services = [...SERVICES];
  else if (SERVICES.includes(target as ServiceName)) {
    if (!config.kafka.brokers || !config.redisUrl) {
      throw new RiposteError(
        "RIPOSTE_CONFIG_INVALID",
        `riposte run ${target} runs one service of the distributed mode: set KAFKA_BROKERS and REDIS_URL (or use riposte run all for the embedded mode)`,
      );
    }
    services = [target as ServiceName];
  } else {
    throw new RiposteError("RIPOSTE_CONFIG_INVALID", `riposte run needs one of: all, ${SERVICES.join(", ")}`);
  }
  initTelemetry({ serviceName: `riposte-${target}`, otlp: config.otlp });
  log.info(
    {
      mode: config.kafka.brokers ? "distributed" : "embedded",
      bus: config.kafka.brokers ? "kafka" : "in-process",
      state: config.redisUrl ? "redis" : "in-memory",
      services,
    },
    "starting Riposte",
  );
  const running = await startServices({
    config,
    services,
    log,
    onFatal: () => {
      log.fatal("exiting so that the supervisor restarts this service; uncommitted messages are redelivered");
      process.exit(1);
    },
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    await running.stop();
    await shutdownTelemetry();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  // SIGHUP reloads the rules directory (the running set stays if the new one is invalid).
  process.on("SIGHUP", () => void running.reloadRules?.());
  if (flags.demo) await replayDemo(running, log);
}
