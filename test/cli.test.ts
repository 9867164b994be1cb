/** The `riposte` CLI as a detection engineer uses it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { splitBody } from "../services/ingest/body.ts";
import { CORPUS } from "../services/ingest/normalizers/testing.ts";

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
