/** The `riposte` CLI as a detection engineer uses it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { splitBody } from "../services/ingest/body.ts";
import { CLASS_SCHEMAS } from "../services/ingest/normalizers/mapping.ts";
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
      assert.ok(CLASS_SCHEMAS.has(o.class_uid ?? -1), `class ${o.class_uid} is one Riposte emits`);
      normalized++;
    }
  }
  // Panther's files wrap each event in {log: ...}, which the CLI (rightly) does not know: those are dead-lettered.
  assert.ok(normalized >= 100, `${normalized} of ${lines.length} normalized`);
  assert.match(stderr, /normalized( \([^)]*\))?, \d+ dead-lettered/);
});

test("riposte normalize --unwrap: the corpus dead-letters only unknown or unparseable events, each with its reason", async () => {
  const all = [
    ...corpusFiles,
    ...readdirSync(join(CORPUS, "ocsf"))
      .filter((f) => f.endsWith(".jsonl"))
      .map((f) => join(CORPUS, "ocsf", f)),
  ];
  const plain = await riposte("normalize", ...all);
  assert.match(plain.stderr, /Panther test records .*add --unwrap/, "says how to read Panther's wrapped records");
  const { stdout, stderr } = await riposte("normalize", "--unwrap", ...all);
  assert.match(stderr, /\d+ Panther test records unwrapped/);
  const codes = new Map<string, number>();
  let normalized = 0;
  for (const line of stdout.trim().split("\n")) {
    const o = JSON.parse(line) as { dlq?: { code: string; reason: string } };
    if (!o.dlq) normalized++;
    else {
      assert.ok(o.dlq.reason.length > 10, "every dead letter says why");
      codes.set(o.dlq.code, (codes.get(o.dlq.code) ?? 0) + 1);
    }
  }
  assert.ok(normalized >= 400, `${normalized} normalized`);
  // Unknown (no normalizer claims it) or unparseable (not an event of its format); nothing understood is refused.
  for (const code of codes.keys())
    assert.ok(["RIPOSTE_FORMAT_UNKNOWN", "RIPOSTE_SCHEMA_INVALID", "RIPOSTE_BODY_INVALID"].includes(code), code);
  assert.equal(codes.get("RIPOSTE_EVENT_UNSUPPORTED"), undefined);
});

test("riposte normalize --format forces a format and explains a mismatch", async () => {
  const file = join(CORPUS, "suricata/elastic-integrations__suricata_eve__test-eve-small.log");
  const { stdout } = await riposte("normalize", "--format", "okta", file);
  const first = JSON.parse(stdout.split("\n")[0] ?? "{}") as { dlq?: { format: string; reason: string } };
  assert.equal(first.dlq?.format, "okta_system_log");
});

test("riposte rules check validates the shipped rules; bad input is a clear error with exit 1", async () => {
  const ok = await riposte("rules", "check");
  assert.match(ok.stdout, /rules, \d+ playbooks, \d+ lists, \d+ source mappings: ok/);
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

/** A rules directory of its own for a test, removed after it. */
function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "riposte-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const ACME_MAPPING = `format: acme_edr
product: { vendor_name: Acme, name: EDR }
detect:
  - { path: acme.alert_id, present: true }
class_uid: 2004
activity_id: 1
severity: { path: acme.level, map: { high: 4 }, default: 1 }
time: { path: acme.at, format: epoch_ms }
fields:
  finding_info.uid: acme.alert_id
  finding_info.title: acme.name
  device.hostname: acme.host
entity: device.hostname
`;

test("riposte normalize --mapping tries a mapping file on events and says what it registered", async (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, "acme.yaml"), ACME_MAPPING);
  const events = join(dir, "acme.ndjson");
  writeFileSync(
    events,
    `${JSON.stringify({ acme: { alert_id: "a-1", name: "Beacon", host: "WS-1", level: "high", at: 1_772_600_000_000 } })}\n{"unrelated":true}\n`,
  );
  const { stdout, stderr } = await riposte("normalize", "--mapping", join(dir, "acme.yaml"), events);
  const [first, second] = stdout
    .trim()
    .split("\n")
    .map(
      (l) => JSON.parse(l) as { riposte?: Record<string, unknown>; dlq?: { code: string } } & Record<string, unknown>,
    );
  assert.equal(first?.riposte?.["format"], "acme_edr");
  assert.equal(first?.riposte?.["entity_key"], "host:ws-1");
  assert.equal(first?.severity_id, 4);
  assert.equal(first?.time, 1_772_600_000_000);
  assert.equal(second?.dlq?.code, "RIPOSTE_FORMAT_UNKNOWN");
  assert.match(stderr, /mapping .*acme\.yaml registered as format acme_edr/);
  assert.match(stderr, /1 normalized \(acme_edr 1\), 1 dead-lettered/);

  writeFileSync(
    join(dir, "broken.yaml"),
    ACME_MAPPING.replace("device.hostname: acme.host", "device.hostnme: acme.host"),
  );
  await assert.rejects(
    riposte("normalize", "--mapping", join(dir, "broken.yaml"), events),
    (e: { stderr: string; code: number }) => {
      assert.equal(e.code, 1);
      assert.match(
        e.stderr,
        /broken\.yaml:12:3: not an OCSF field Riposte emits: class 2004: no field "device\.hostnme"/,
      );
      return true;
    },
  );
});

test("riposte rules validate names every problem as file:line:column and exits 1; a clean directory is ok", async (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, "playbooks"));
  mkdirSync(join(dir, "sources"));
  writeFileSync(join(dir, "playbooks", "isolate-host.yaml"), readFileSync("rules/playbooks/isolate-host.yaml"));
  writeFileSync(join(dir, "sources", "acme.yaml"), ACME_MAPPING);
  for (const f of readdirSync("rules/sources"))
    writeFileSync(join(dir, "sources", f), readFileSync(join("rules/sources", f)));
  writeFileSync(
    join(dir, "acme-high.yaml"),
    `id: acme-high
version: 1
name: Acme high detections
match:
  all:
    - fact: class_uid
      operator: equal
      value: 2004
decision:
  playbook: isolate-host
  target: { type: host, value: "{{device.hostname}}" }
`,
  );
  const ok = await riposte("rules", "validate", dir);
  assert.match(ok.stdout, /1 rules, 1 playbooks, 0 lists, 4 source mappings: ok/);

  writeFileSync(
    join(dir, "acme-high.yaml"),
    readFileSync(join(dir, "acme-high.yaml"), "utf8").replace("playbook: isolate-host", "playbook: nope"),
  );
  writeFileSync(
    join(dir, "bad-operator.yaml"),
    "id: bad-op\nversion: 1\nname: x\nmatch:\n  all:\n    - fact: severity_id\n      operator: sometimes\n      value: 1\n",
  );
  writeFileSync(
    join(dir, "sources", "zz-dup.yaml"),
    ACME_MAPPING.replace("severity: {", "aliases: [acme_edr2]\nseverity: {"),
  );
  writeFileSync(join(dir, "sources", "zz-syntax.yaml"), "format: [unclosed\n");
  await assert.rejects(riposte("rules", "validate", dir), (e: { stderr: string; stdout: string; code: number }) => {
    assert.equal(e.code, 1);
    const lines = e.stderr.trim().split("\n");
    for (const l of lines) assert.match(l, /^[^:]+:\d+:\d+: /, l);
    assert.ok(
      lines.some((l) => /acme-high\.yaml:10:3: decision names playbook "nope"/.test(l)),
      e.stderr,
    );
    assert.ok(
      lines.some((l) => /bad-operator\.yaml:7:\d+: .*operator/.test(l)),
      e.stderr,
    );
    assert.ok(
      lines.some((l) => /zz-dup\.yaml:1:1: format name "acme_edr" is also used by .*acme\.yaml/.test(l)),
      e.stderr,
    );
    assert.ok(
      lines.some((l) => /zz-syntax\.yaml:\d+:\d+: not valid YAML/.test(l)),
      e.stderr,
    );
    assert.match(e.stdout, /problems/);
    return true;
  });
  // `rules check` is the same command.
  await assert.rejects(riposte("rules", "check", dir), (e: { code: number }) => e.code === 1);
});

test("riposte run registers the rules directory's mappings before reading RIPOSTE_SOURCE_FORMATS", async (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, "sources"));
  writeFileSync(join(dir, "sources", "acme.yaml"), ACME_MAPPING);
  const env = { ...embeddedEnv, RIPOSTE_RULES_DIR: dir, RIPOSTE_SOURCE_FORMATS: "edr=acme_edr" };
  // The binding is accepted (no "unknown format"); the run stops at the next check, the missing Kafka.
  await assert.rejects(
    run(process.execPath, ["bin/riposte.js", "run", "ingest"], { env, timeout: 60_000 }),
    (e: { stderr: string; code: number }) => {
      assert.equal(e.code, 1);
      assert.doesNotMatch(e.stderr, /unknown format/);
      assert.match(e.stderr, /set KAFKA_BROKERS and REDIS_URL/);
      return true;
    },
  );
  await assert.rejects(
    run(process.execPath, ["bin/riposte.js", "run", "ingest"], {
      env: { ...env, RIPOSTE_RULES_DIR: join(dir, "none") },
      timeout: 60_000,
    }),
    (e: { stderr: string }) => /binds unknown format "acme_edr"/.test(e.stderr),
  );
});
