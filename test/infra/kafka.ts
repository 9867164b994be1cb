/**
 * A real Apache Kafka 3.9.1 single-node KRaft broker for tests, run from jars resolved with Maven.
 *
 * Script mode: `npx node test/infra/kafka.ts resolve` (jars only) or `npx node test/infra/kafka.ts start`.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { openSync, closeSync } from "node:fs";
import { access, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { exited, freePorts, killWithParent, probe, serveUntilSignal, tail, terminate } from "./proc.ts";

const KAFKA_VERSION = "3.9.1";
const REPO_ROOT = resolve(import.meta.dirname, "..", "..");
const CACHE_DIR = join(REPO_ROOT, ".cache", `kafka-${KAFKA_VERSION}`);
const LIBS_DIR = join(CACHE_DIR, "libs");
const MARKER = ".resolved";
const POM = join(import.meta.dirname, "kafka", "pom.xml");
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 20_000;
const HINT =
  "Check that Java 17+ is installed (`java -version`) and that Maven (`mvn`) can reach Maven Central; " +
  `delete ${CACHE_DIR} to force the jars to be resolved again.`;

/** Options shared by {@link resolveKafkaJars} and {@link startKafka}. */
export interface KafkaOptions {
  /** Receives progress lines (nothing is printed without it). */
  log?: (line: string) => void;
}

/** A running broker started by {@link startKafka}. */
export interface RunningKafka {
  /** Bootstrap servers for clients, e.g. `127.0.0.1:40123`. */
  readonly brokers: string;
  /** The broker's log4j log (INFO); it is removed with the data dir by `stop()`. */
  readonly logFile: string;
  /** SIGTERM, up to 20 s for a clean exit, then SIGKILL; removes the data dir. Idempotent. */
  stop(): Promise<void>;
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString("utf8")).slice(-20_000);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.once("error", (err) => reject(new Error(`cannot run ${command}: ${err.message}. ${HINT}`)));
    child.once("close", (code, signal) => {
      if (code === 0) resolvePromise();
      else {
        const lines = output.trimEnd().split("\n").slice(-40).join("\n");
        reject(new Error(`${command} ${args.join(" ")} failed (${signal ?? `exit ${code}`}).\n${lines}\n${HINT}`));
      }
    });
  });
}

/**
 * Resolves the broker's runtime jars (kafka_2.13 3.9.1 plus a reload4j logging backend) into
 * `<repo>/.cache/kafka-3.9.1/libs` with Maven, unless a previous run completed there. Safe to call concurrently.
 * @returns the absolute path of the libs directory.
 */
export async function resolveKafkaJars(opts: KafkaOptions = {}): Promise<string> {
  if (await exists(join(LIBS_DIR, MARKER))) return LIBS_DIR;
  opts.log?.(`resolving Apache Kafka ${KAFKA_VERSION} jars from Maven Central…`);
  const started = Date.now();
  await mkdir(CACHE_DIR, { recursive: true });
  const staging = await mkdtemp(join(CACHE_DIR, "libs-staging-"));
  try {
    await run("mvn", [
      "-B",
      "-q",
      "-f",
      POM,
      "dependency:copy-dependencies",
      "-DincludeScope=runtime",
      `-DoutputDirectory=${staging}`,
    ]);
    const jars = (await readdir(staging)).filter((f) => f.endsWith(".jar"));
    if (!jars.some((f) => f.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) {
      throw new Error(`Maven did not produce kafka_2.13-${KAFKA_VERSION}.jar in ${staging}. ${HINT}`);
    }
    await writeFile(join(staging, MARKER), `${jars.length} jars, resolved ${new Date().toISOString()}\n`);
    await rename(staging, LIBS_DIR).catch(async (err: unknown) => {
      if (await exists(join(LIBS_DIR, MARKER))) return; // a concurrent run won the race
      throw new Error(`cannot move the jars into ${LIBS_DIR} (${String(err)}). ${HINT}`);
    });
    opts.log?.(`resolved ${jars.length} jars in ${((Date.now() - started) / 1000).toFixed(1)} s into ${LIBS_DIR}`);
    return LIBS_DIR;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

const TOOLS_POM = join(import.meta.dirname, "kafka", "tools-pom.xml");
const TOOLS_DIR = join(CACHE_DIR, "tools");

/**
 * Resolves Apache Kafka's command-line tools (kafka-tools 3.9.1: ProducerPerformance, ConsumerPerformance,
 * TopicCommand) into `<repo>/.cache/kafka-3.9.1/tools` with Maven, unless a previous run completed there. The bench
 * runs the broker's own perf tools from them.
 * @returns the absolute path of the tools directory (a classpath of `<dir>/*`).
 */
export async function resolveKafkaToolsJars(opts: KafkaOptions = {}): Promise<string> {
  if (await exists(join(TOOLS_DIR, MARKER))) return TOOLS_DIR;
  opts.log?.(`resolving Apache Kafka ${KAFKA_VERSION} tools jars from Maven Central…`);
  await mkdir(CACHE_DIR, { recursive: true });
  const staging = await mkdtemp(join(CACHE_DIR, "tools-staging-"));
  try {
    await run("mvn", [
      "-B",
      "-q",
      "-f",
      TOOLS_POM,
      "dependency:copy-dependencies",
      "-DincludeScope=runtime",
      `-DoutputDirectory=${staging}`,
    ]);
    const jars = (await readdir(staging)).filter((f) => f.endsWith(".jar"));
    if (!jars.some((f) => f.startsWith(`kafka-tools-${KAFKA_VERSION}`))) {
      throw new Error(`Maven did not produce kafka-tools-${KAFKA_VERSION}.jar in ${staging}. ${HINT}`);
    }
    await writeFile(join(staging, MARKER), `${jars.length} jars, resolved ${new Date().toISOString()}\n`);
    await rename(staging, TOOLS_DIR).catch(async (err: unknown) => {
      if (await exists(join(TOOLS_DIR, MARKER))) return;
      throw new Error(`cannot move the jars into ${TOOLS_DIR} (${String(err)}). ${HINT}`);
    });
    return TOOLS_DIR;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

function serverProperties(port: number, controllerPort: number, logDirs: string): string {
  const props: Record<string, string | number> = {
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${port}`,
    "inter.broker.listener.name": "PLAINTEXT",
    "controller.listener.names": "CONTROLLER",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "log.dirs": logDirs,
    "offsets.topic.replication.factor": 1,
    "offsets.topic.num.partitions": 1,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "transaction.state.log.num.partitions": 1,
    "group.initial.rebalance.delay.ms": 0,
    "auto.create.topics.enable": "false",
    "num.partitions": 1,
  };
  return Object.entries(props)
    .map(([key, value]) => `${key}=${value}\n`)
    .join("");
}

/** log4j 1 config: INFO to `logFile`, or (no file) WARN to stderr for the one-shot StorageTool. */
function log4jProperties(logFile?: string): string {
  const appender =
    logFile === undefined
      ? ["log4j.appender.out=org.apache.log4j.ConsoleAppender", "log4j.appender.out.Target=System.err"]
      : ["log4j.appender.out=org.apache.log4j.FileAppender", `log4j.appender.out.File=${logFile}`];
  return [
    `log4j.rootLogger=${logFile === undefined ? "WARN" : "INFO"}, out`,
    ...appender,
    "log4j.appender.out.layout=org.apache.log4j.PatternLayout",
    "log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n",
    "",
  ].join("\n");
}

/**
 * Starts a fresh single-node KRaft broker (combined broker+controller) on free 127.0.0.1 ports with a new temp
 * data dir, resolving the jars first if needed. Resolves once the PLAINTEXT port accepts connections and the log
 * says "Kafka Server started" (up to 90 s); otherwise throws with the tail of the broker log.
 * The broker is SIGKILLed if this process exits without calling `stop()`.
 */
export async function startKafka(opts: KafkaOptions = {}): Promise<RunningKafka> {
  const libs = await resolveKafkaJars(opts);
  const started = Date.now();
  const dataDir = await mkdtemp(join(tmpdir(), "riposte-kafka-"));
  const [port = 0, controllerPort = 0] = await freePorts(2);
  const propsFile = join(dataDir, "server.properties");
  const log4jFile = join(dataDir, "log4j.properties");
  const toolLog4jFile = join(dataDir, "tool-log4j.properties");
  const logFile = join(dataDir, "server.log");
  const consoleFile = join(dataDir, "console.log");
  await writeFile(propsFile, serverProperties(port, controllerPort, join(dataDir, "kraft-logs")));
  await writeFile(log4jFile, log4jProperties(logFile));
  await writeFile(toolLog4jFile, log4jProperties());
  const jvm = ["-Djava.awt.headless=true", "-cp", join(libs, "*")];
  const clusterId = randomClusterId();
  await run("java", [
    ...jvm,
    `-Dlog4j.configuration=file:${toolLog4jFile}`,
    "kafka.tools.StorageTool",
    "format",
    "-t",
    clusterId,
    "-c",
    propsFile,
    "--ignore-formatted",
  ]).catch(async (err: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`Kafka storage format failed: ${err instanceof Error ? err.message : String(err)}`);
  });

  const consoleFd = openSync(consoleFile, "a");
  const heap = ["-Xms512m", "-Xmx512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"];
  const child = spawn("java", [...heap, ...jvm, `-Dlog4j.configuration=file:${log4jFile}`, "kafka.Kafka", propsFile], {
    stdio: ["ignore", consoleFd, consoleFd],
  });
  closeSync(consoleFd);
  child.unref();
  const spawnError = new Promise<Error>((res) => child.once("error", res));
  const release = killWithParent(child, dataDir);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.pid !== undefined) await terminate(child, STOP_GRACE_MS);
      release();
      await rm(dataDir, { recursive: true, force: true, maxRetries: 3 });
    })());

  const deadline = Date.now() + READY_TIMEOUT_MS;
  let problem: string | undefined;
  // One listener each, raced on every poll (a new exited() per poll added an exit listener every 250 ms).
  const spawnFailed = spawnError.then((err) => `could not be spawned (${err.message})`);
  const exitedEarly = exited(child).then(() => `exited early (${child.signalCode ?? `exit code ${child.exitCode}`})`);
  for (;;) {
    const state = await Promise.race([
      spawnFailed,
      exitedEarly,
      new Promise<undefined>((res) => setTimeout(() => res(undefined), 250)),
    ]);
    if (state !== undefined) problem = state;
    else if (Date.now() > deadline) problem = `was not ready within ${READY_TIMEOUT_MS / 1000} s`;
    else if (
      (await probe(port)) !== undefined &&
      (await readFile(logFile, "utf8").catch(() => "")).includes("Kafka Server started")
    ) {
      break;
    }
    if (problem !== undefined) {
      const output = await tail([consoleFile, logFile]);
      await stop();
      throw new Error(`Kafka broker on 127.0.0.1:${port} ${problem}.\n${output}\n${HINT}`);
    }
  }
  opts.log?.(`Kafka ${KAFKA_VERSION} ready on 127.0.0.1:${port} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { brokers: `127.0.0.1:${port}`, logFile, stop };
}

if (import.meta.main) {
  const command = process.argv[2];
  const log = (line: string): void => console.error(line);
  if (command === "resolve") {
    console.log(await resolveKafkaJars({ log }));
  } else if (command === "start") {
    const kafka = await startKafka({ log });
    console.log(`KAFKA_BROKERS=${kafka.brokers}`);
    serveUntilSignal(
      () => kafka.stop(),
      (line) => console.error(line),
    );
  } else {
    console.error("usage: npx node test/infra/kafka.ts resolve|start");
    process.exitCode = 2;
  }
}
