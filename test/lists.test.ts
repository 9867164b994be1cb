/**
 * Threat-intel lists end to end on real Redis: `riposte lists import` and `lists show`, and a running correlator
 * whose `inList` rule starts matching once an indicator is imported, without a restart.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { NormalizedEvent } from "../schemas/index.ts";
import { CONNECTORS } from "../services/executor/connectors/index.ts";
import { normalizeEvent } from "../services/ingest/normalizers/index.ts";
import { startServices } from "../services/runtime.ts";
import { MemoryBus } from "../services/shared/bus/index.ts";
import { loadConfig, topicNames } from "../services/shared/config.ts";
import { silentLogger } from "../services/shared/log.ts";
import { RedisState } from "../services/shared/state/index.ts";
import { eventually, requireRedis, uniquePrefix } from "./support/env.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "riposte-lists-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function riposte(env: Record<string, string | undefined>, ...args: string[]) {
  try {
    const r = await run(process.execPath, ["bin/riposte.js", ...args], { env, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** An indicator built field by field from STIX Version 2.1 §4.7 (OASIS Standard, 10 June 2021). */
const stixBundle = (pattern: string) =>
  JSON.stringify({
    type: "bundle",
    id: "bundle--0f6e1a55-3c5b-4a8e-9d21-6a1f0c9b7e11",
    objects: [
      {
        type: "indicator",
        spec_version: "2.1",
        id: "indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f",
        created: "2026-11-01T00:00:00.000Z",
        modified: "2026-11-01T00:00:00.000Z",
        pattern,
        pattern_type: "stix",
        valid_from: "2026-11-01T00:00:00Z",
      },
    ],
  });

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

function suricata(dest: string, flow: number): NormalizedEvent {
  const raw = {
    timestamp: "2026-11-20T09:14:02.118402+0000",
    flow_id: flow,
    event_type: "alert",
    src_ip: "10.1.2.3",
    dest_ip: dest,
    proto: "TCP",
    alert: { signature_id: flow, rev: 1, signature: `Sig ${flow}`, category: "Trojan", severity: 3 },
  };
  const out = normalizeEvent({ kind: "json", value: raw }, JSON.stringify(raw), { source: "ids", receivedTime: 1 });
  assert.ok(out.ok);
  return out.event;
}

test("lists import/show need Redis: without REDIS_URL they say so and exit 1", async () => {
  const { KAFKA_BROKERS: _k, REDIS_URL: _r, ...env } = process.env;
  const f = write("none.txt", "10.0.0.1\n");
  for (const args of [
    ["lists", "import", "x", f, "--format", "text"],
    ["lists", "show"],
  ]) {
    const r = await riposte(env, ...args);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /imported lists need Redis/);
  }
});

test("an imported indicator makes a running correlator's inList rule match, without a restart", async () => {
  const redisUrl = await requireRedis();
  const prefix = uniquePrefix("lists");
  const rulesDir = join(dir, "rules");
  mkdirSync(join(rulesDir, "lists"), { recursive: true });
  writeFileSync(join(rulesDir, "lists", "ti-ips.txt"), "# from the file\n192.0.2.200\n");
  writeFileSync(
    join(rulesDir, "threat-intel-dest.yaml"),
    [
      "id: threat-intel-dest",
      "version: 1",
      "name: Traffic to a threat-intel address",
      "match:",
      "  all:",
      "    - fact: dst_endpoint",
      "      path: $.ip",
      "      operator: inList",
      "      value: ti-ips",
      "decision:",
      "  playbook: notify",
      "  target:",
      "    type: ip",
      '    value: "{{dst_endpoint.ip}}"',
      "",
    ].join("\n"),
  );
  const env = { ...process.env, REDIS_URL: redisUrl, RIPOSTE_TOPIC_PREFIX: prefix, RIPOSTE_RULES_DIR: rulesDir };

  // A first import before the correlator starts: the STIX form, with a valid_until far ahead.
  const stix = write(
    "feed.json",
    stixBundle("[ipv4-addr:value = '203.0.113.250' OR domain-name:value = 'C2.Example.']"),
  );
  const first = await riposte(env, "lists", "import", "ti-ips", stix, "--format", "stix");
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(JSON.parse(first.stdout), {
    list: "ti-ips",
    format: "stix",
    records: 1,
    imported: 2,
    by_type: { ip: 1, domain: 1 },
    skipped: 0,
    skipped_first: [],
    entries: 2,
    version: 1,
  });

  const config = loadConfig({ ...env, RIPOSTE_LOG_LEVEL: "warn" }, CONNECTORS);
  const bus = new MemoryBus();
  const state = new RedisState(redisUrl);
  await state.ready();
  const topics = topicNames(prefix);
  const running = await startServices({
    config,
    services: ["correlator"],
    log: silentLogger,
    listen: false,
    bus,
    state,
    listRefreshMs: 100,
  });
  const decisions: Array<Record<string, unknown>> = [];
  const sub = await bus.subscribe({
    groupId: `${prefix}.observer`,
    topics: [topics.decisions],
    handler: async (batch) => {
      // Every event yields a decision record; the ones that matter here are the rule's.
      for (const m of batch) {
        const d = JSON.parse(m.value.toString("utf8")) as Record<string, unknown>;
        if ((d["rule"] as { id?: string } | undefined)?.id === "threat-intel-dest") decisions.push(d);
      }
    },
  });
  const send = (e: NormalizedEvent) => bus.publish(topics.normalized, [{ key: null, value: JSON.stringify(e) }]);
  try {
    await send(suricata("203.0.113.250", 1));
    await eventually(() => decisions.length === 1, "a decision for the address imported before the start");
    await send(suricata("192.0.2.200", 2));
    await eventually(() => decisions.length === 2, "a decision for the address in rules/lists/ti-ips.txt");
    await send(suricata("198.51.100.77", 3));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(decisions.length, 2, "not in the list yet");

    // A CSV import while the correlator runs: an IPv4-mapped IPv6 form of a block, in a quoted field.
    const csv = write(
      "feed.csv",
      'indicator,comment,expires\r\n"::ffff:198.51.100.0/120","seen, twice",2099-01-01T00:00:00Z\r\nnot valid!,x,\r\n',
    );
    const second = await riposte(env, "lists", "import", "ti-ips", csv, "--format", "csv", "--ttl", "7d");
    assert.equal(second.code, 0, second.stderr);
    const report = JSON.parse(second.stdout) as Record<string, unknown>;
    assert.equal(report["imported"], 1);
    assert.equal(report["skipped"], 1);
    assert.equal(report["entries"], 3);
    assert.match(second.stderr, /skipped line 3: "not valid!" is not/);

    // A new event each time (a repeated one would be a duplicate of the first, decided before the refresh).
    let flow = 100;
    await eventually(async () => {
      await send(suricata("198.51.100.77", flow++));
      await new Promise((r) => setTimeout(r, 150));
      return decisions.length >= 3;
    }, "a decision once the imported block is seen");
    assert.equal((decisions[2]?.["target"] as Record<string, unknown> | undefined)?.["value"], "198.51.100.77");

    const show = await riposte(env, "lists", "show");
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^NAME +SOURCE +ENTRIES/);
    assert.match(show.stdout, /\nti-ips +imported +3 +\d{4}-\d\d-\d\dT[\d:.]+Z +2099-01-01T00:00:00.000Z\n/);
    assert.match(show.stdout, /\nti-ips +file +1\b/);
    const one = await riposte(env, "lists", "show", "ti-ips");
    assert.equal(one.code, 0, one.stderr);
    const lines = one.stdout.trim().split("\n");
    assert.match(lines[0] ?? "", /^# also 1 entries in .*ti-ips\.txt/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split("\t").slice(0, 2)),
      [
        ["198.51.100.0/24", "cidr"],
        ["203.0.113.250", "ip"],
        ["c2.example", "domain"],
      ],
    );
    assert.match(lines[1] ?? "", /\t2099-01-01T00:00:00.000Z$/);
    const missing = await riposte(env, "lists", "show", "nope");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /RIPOSTE_NOT_FOUND/);
  } finally {
    await sub.stop();
    await running.stop();
    await state.close();
    await bus.close();
  }
});
