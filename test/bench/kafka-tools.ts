/**
 * kafka.broker_produce / kafka.broker_consume: Apache Kafka's own ProducerPerformance and ConsumerPerformance
 * (kafka-tools 3.9.1, run with `java`) against the same broker as the other Kafka rows: what the broker does for a
 * JVM client with default settings, the ceiling the kafkajs rows compare with.
 */
import { spawn } from "node:child_process";
import { Kafka, logLevel } from "kafkajs";
import { resolveKafkaToolsJars } from "../infra/kafka.ts";
import { fmtMs, fmtRate, progress, type Row } from "./report.ts";

export interface BrokerPerfOptions {
  readonly brokers: readonly string[];
  readonly records: number;
  readonly recordBytes: number;
  readonly partitions: number;
  readonly timeLimitMs: number;
  /** Topics created here, for the caller to delete. */
  readonly created: string[];
  readonly row: (which: "produce" | "consume") => { id: string; name: string };
}

function java(classpath: string, main: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("java", ["-Xmx512m", "-cp", `${classpath}/*`, main, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (err = (err + c.toString("utf8")).slice(-4000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (e) => reject(e));
    child.once("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${main} exited ${code ?? "by signal"}: ${err.trim().split("\n").slice(-3).join(" / ")}`));
    });
  });
}

/** "200000 records sent, 45000.5 records/sec (43.95 MB/sec), 350.2 ms avg latency, ..., 300 ms 50th, ... 880 ms 99th" */
function producerSummary(out: string) {
  const line = out
    .trim()
    .split("\n")
    .filter((l) => l.includes("records sent"))
    .pop();
  const num = (re: RegExp) => Number(re.exec(line ?? "")?.[1]);
  if (!line) throw new Error(`ProducerPerformance printed no summary: ${out.slice(-300)}`);
  return {
    line,
    rate: num(/([\d.]+) records\/sec/),
    mbps: num(/\(([\d.]+) MB\/sec\)/),
    p50: num(/(\d+) ms 50th/),
    p99: num(/(\d+) ms 99th/),
  };
}

export async function benchBrokerPerf(opts: BrokerPerfOptions): Promise<Row[]> {
  const tools = await resolveKafkaToolsJars({ log: progress });
  const topic = `bench-broker-perf-${process.pid}-${Date.now()}`;
  const admin = new Kafka({
    clientId: "riposte-bench",
    brokers: [...opts.brokers],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: opts.partitions }], waitForLeaders: true });
    opts.created.push(topic);
  } finally {
    await admin.disconnect();
  }
  const bootstrap = opts.brokers.join(",");
  const produced = producerSummary(
    await java(
      tools,
      "org.apache.kafka.tools.ProducerPerformance",
      [
        "--topic",
        topic,
        "--num-records",
        String(opts.records),
        "--record-size",
        String(opts.recordBytes),
        "--throughput",
        "-1",
        "--producer-props",
        `bootstrap.servers=${bootstrap}`,
        "acks=all",
      ],
      opts.timeLimitMs,
    ),
  );
  progress(`  broker produce: ${produced.line}`);
  const consumed = await java(
    tools,
    "org.apache.kafka.tools.ConsumerPerformance",
    [
      "--bootstrap-server",
      bootstrap,
      "--topic",
      topic,
      "--messages",
      String(opts.records),
      "--group",
      `${topic}-group`,
      "--timeout",
      "30000",
    ],
    opts.timeLimitMs,
  );
  // CSV: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms,
  // fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const last = consumed.trim().split("\n").pop() ?? "";
  const cols = last.split(",").map((c) => c.trim());
  const [mbps, msgs, rate, rebalanceMs, fetchRate] = [3, 4, 5, 6, 9].map((i) => Number(cols[i]));
  if (!Number.isFinite(rate) || !(msgs !== undefined && msgs > 0)) throw new Error(`ConsumerPerformance: ${last}`);
  progress(`  broker consume: ${last}`);
  const common = `${opts.records.toLocaleString("en-US")} records of ${opts.recordBytes} B, ${opts.partitions} partitions, kafka-tools 3.9.1 (JVM client, defaults)`;
  const p = opts.row("produce");
  const c = opts.row("consume");
  return [
    {
      id: p.id,
      name: p.name,
      throughput: fmtRate(produced.rate, "msg"),
      p50: fmtMs(produced.p50),
      p99: fmtMs(produced.p99),
      memory: "- (JVM process)",
      rate: produced.rate,
      unit: "msg/s",
      p50Ms: produced.p50,
      p99Ms: produced.p99,
      notes: `ProducerPerformance acks=all, --throughput -1: ${produced.mbps} MB/s; latency per record send→ack; ${common}`,
    },
    {
      id: c.id,
      name: c.name,
      throughput: fmtRate(rate as number, "msg"),
      p50: "-",
      p99: "-",
      memory: "- (JVM process)",
      rate: rate as number,
      unit: "msg/s",
      notes:
        `ConsumerPerformance, a new group from the start: ${(mbps as number).toFixed(1)} MB/s, ` +
        `${fmtRate(fetchRate as number, "msg")} excluding the ` +
        `${rebalanceMs} ms group join; ${common}`,
    },
  ];
}
