/** The `riposte` CLI as a detection engineer uses it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { splitBody } from "../services/ingest/body.ts";
import { CORPUS } from "../services/ingest/normalizers/testing.ts";
import type { ReplayReport } from "../services/ingest/replay.ts";
import { KafkaBus } from "../services/shared/bus/index.ts";
import { topicNames } from "../services/shared/config.ts";
import { dlqRecord } from "../services/shared/dlq.ts";
import { silentLogger } from "../services/shared/log.ts";
import { requireKafka, requireRedis, uniquePrefix } from "./support/env.ts";

const run = promisify(execFile);
const riposte = (...args: string[]) =>
  run(process.execPath, ["bin/riposte.js", ...args], { maxBuffer: 256 * 1024 * 1024, timeout: 60_000 });
/** The environment without Kafka and Redis (the test runner sets them for the other tests). */
const { KAFKA_BROKERS: _k, REDIS_URL: _r, ...embeddedEnv } = process.env;

const corpusFiles = readdirSync(CORPUS, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== "ocsf")
  .flatMap((d) =>
    readdirSync(join(CORPUS, d.name))
      .filter((f) => f !== "SOURCES.md")
      .map((f) => join(CORPUS, d.name, f)),
  );

test("riposte normalize accounts for every event of every corpus file, exit 0", async () => {
  assert.ok(corpusFiles.length >= 30);
  const { stdout, stderr } = await riposte("normalize", ...corpusFiles);
  const lines = stdout.trim().split("\n");
  const expected = corpusFiles.reduce((n, f) => n + splitBody(readFileSync(f, "utf8")).length, 0);
  assert.equal(lines.length, expected, "one output line per input event");
  let normalized = 0;
  for (const line of lines) {
    const o = JSON.parse(line) as { class_uid?: number; dlq?: { reason: string; original: string } };
    if (o.dlq) assert.ok(o.dlq.reason.length > 0 && o.dlq.original.length > 0);
    else {
      assert.ok([2004, 3002, 4009].includes(o.class_uid ?? 0));
      normalized++;
    }
  }
  // Panther's files wrap each event in {log: ...}, which the CLI (rightly) does not know: those are dead-lettered.
  assert.ok(normalized >= 100, `${normalized} of ${lines.length} normalized`);
  assert.match(stderr, /normalized, \d+ dead-lettered/);
});

test("riposte normalize --format forces a format and explains a mismatch", async () => {
  const file = join(CORPUS, "suricata/elastic-integrations__suricata_eve__test-eve-small.log");
  const { stdout } = await riposte("normalize", "--format", "okta", file);
  const first = JSON.parse(stdout.split("\n")[0] ?? "{}") as { dlq?: { format: string; reason: string } };
  assert.equal(first.dlq?.format, "okta_system_log");
});

test("riposte rules check validates the shipped rules; bad input is a clear error with exit 1", async () => {
  const ok = await riposte("rules", "check");
  assert.match(ok.stdout, /rules, \d+ playbooks, \d+ lists: ok/);
  const runCorrelator = run(process.execPath, ["bin/riposte.js", "run", "correlator"], {
    env: embeddedEnv,
    timeout: 60_000,
  });
  await assert.rejects(runCorrelator, (e: { stderr: string; code: number }) => {
    assert.equal(e.code, 1);
    assert.match(e.stderr, /set KAFKA_BROKERS and REDIS_URL/);
    return true;
  });
  await assert.rejects(
    riposte("nope"),
    (e: { stderr: string; code: number }) => e.code === 2 && /unknown command/.test(e.stderr),
  );
});

test("riposte dlq replay needs Kafka and Redis (the replay lock is cluster-wide)", async () => {
  for (const env of [embeddedEnv, { ...embeddedEnv, KAFKA_BROKERS: "127.0.0.1:9" }]) {
    await assert.rejects(
      run(process.execPath, ["bin/riposte.js", "dlq", "replay"], { env, timeout: 60_000 }),
      (e: { stderr: string; code: number }) => {
        assert.equal(e.code, 1);
        assert.match(e.stderr, /RIPOSTE_CONFIG_INVALID: .*set KAFKA_BROKERS and REDIS_URL/);
        return true;
      },
    );
  }
});

test("riposte dlq replay applies the source→format binding and the requested format, and skips unreadable records", async () => {
  const brokers = await requireKafka();
  const redisUrl = await requireRedis();
  const prefix = uniquePrefix("cli-dlq");
  const topics = topicNames(prefix);
  const bus = new KafkaBus({ brokers, clientId: "cli-dlq", log: silentLogger });
  try {
    await bus.ensureTopics([topics.normalized, topics.dlq].map((name) => ({ name, partitions: 2 })));
    const alert = (file: string) => readFileSync(join("services/demo/alerts", file), "utf8").split("\n")[0] as string;
    const parked = (source: string, original: string, requestedFormat?: string) => ({
      key: source,
      value: JSON.stringify(
        dlqRecord({
          stage: "normalize",
          code: "RIPOSTE_FORMAT_UNKNOWN",
          reason: "parked",
          source,
          original,
          requestedFormat,
          time: 1_700_000_000_000,
        }),
      ),
    });
    await bus.publish(topics.dlq, [
      // A CrowdStrike detection sent through the IDS source: the binding must keep it out.
      parked("ids", alert("crowdstrike.ndjson")),
      // The sender forced okta: a replay must not detect it as Suricata instead.
      parked("siem", alert("suricata.ndjson"), "okta"),
      parked("ids", alert("suricata.ndjson")),
      { key: "ids", value: "not a DLQ record" },
    ]);
    const { stdout } = await run(process.execPath, ["bin/riposte.js", "dlq", "replay"], {
      env: {
        ...process.env,
        KAFKA_BROKERS: brokers.join(","),
        REDIS_URL: redisUrl,
        RIPOSTE_TOPIC_PREFIX: prefix,
        RIPOSTE_SOURCE_FORMATS: "ids=suricata_eve",
      },
      timeout: 120_000,
    });
    const report = JSON.parse(stdout) as ReplayReport;
    assert.equal(report.scanned, 4);
    assert.equal(report.replayed, 1, stdout);
    assert.equal(report.unreadable, 1);
    assert.equal(report.still_failing["RIPOSTE_FORMAT_NOT_ALLOWED"], 1, stdout);
    assert.equal(
      Object.values(report.still_failing).reduce((a, b) => a + b, 0),
      2,
      stdout,
    );
    const count = async (t: string) => [...(await bus.offsets(t)).values()].reduce((n, o) => n + Number(o.high), 0);
    assert.equal(await count(topics.normalized), 1, "only the IDS alert is published");
    assert.equal(await count(topics.dlq), 4, "nothing is dead-lettered again");
  } finally {
    await bus.close();
  }
});
