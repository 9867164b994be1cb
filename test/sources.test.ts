/**
 * Source mappings as the services load them: rules/sources/*.yaml joins the registry at start, for the HTTP ingest's
 * format hint and for source→format bindings; an invalid file stops the start with file:line:column.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONNECTORS } from "../services/executor/connectors/index.ts";
import { registerSourceMappings } from "../services/ingest/normalizers/index.ts";
import { loadSourceMappings } from "../services/ingest/sources.ts";
import { startServices } from "../services/runtime.ts";
import type { InMessage } from "../services/shared/bus/index.ts";
import { loadConfig } from "../services/shared/config.ts";
import { silentLogger } from "../services/shared/log.ts";
import { eventually } from "./support/env.ts";

const TOKEN = "sources-test-token-0123456789";

const MAPPING = `format: acme_edr
product: { vendor_name: Acme, name: EDR }
detect:
  - { path: acme.alert_id, present: true }
class_uid: 2004
activity_id: 1
severity: { path: acme.level, map: { high: 4 }, default: 1 }
fields:
  finding_info.uid: acme.alert_id
  finding_info.title: acme.name
  device.hostname: acme.host
entity: device.hostname
`;

function rulesDir(t: { after(fn: () => void): void }, mapping: string): string {
  const dir = mkdtempSync(join(tmpdir(), "riposte-sources-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "sources"));
  writeFileSync(join(dir, "sources", "acme.yaml"), mapping);
  return dir;
}

test("a mapping in the rules directory serves the HTTP format hint and a source binding", async (t) => {
  const dir = rulesDir(t, MAPPING);
  // As `riposte run` does: registered before the configuration, whose source bindings name formats.
  await loadSourceMappings(dir);
  t.after(() => registerSourceMappings([]));
  const config = loadConfig(
    {
      RIPOSTE_RULES_DIR: dir,
      RIPOSTE_API_TOKEN: TOKEN,
      RIPOSTE_STATE_DIR: join(dir, "state"),
      RIPOSTE_SOURCE_FORMATS: "edr=acme_edr",
      RIPOSTE_LOG_LEVEL: "silent",
    },
    CONNECTORS,
  );
  const running = await startServices({ config, services: ["ingest"], log: silentLogger, listen: false });
  const seen: InMessage[] = [];
  const sub = await running.bus.subscribe({
    groupId: "sources-test",
    topics: [running.topics.normalized, running.topics.dlq],
    handler: async (b) => void seen.push(...b),
  });
  try {
    const post = (url: string, body: unknown) =>
      running.api?.inject({
        method: "POST",
        url,
        payload: JSON.stringify(body),
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      });
    const alert = (id: string) => ({ acme: { alert_id: id, name: "Beacon", host: "WS-1", level: "high" } });
    const hinted = await post("/v1/alerts/lab?format=acme_edr", alert("a-1"));
    assert.equal(hinted?.statusCode, 202, hinted?.body);
    const bound = await post("/v1/alerts/edr", alert("a-2"));
    assert.equal(bound?.statusCode, 202, bound?.body);
    await eventually(() => seen.length >= 2, "both alerts on the bus", 10_000);
    const normalized = seen.filter((m) => m.topic === running.topics.normalized);
    assert.equal(normalized.length, 2, seen.map((m) => m.value.toString()).join("\n"));
    const e = JSON.parse(normalized[0]?.value.toString() ?? "{}") as {
      riposte: { format: string; entity_key: string };
    };
    assert.equal(e.riposte.format, "acme_edr");
    assert.equal(e.riposte.entity_key, "host:ws-1");
    assert.equal(normalized[0]?.key, "host:ws-1");
  } finally {
    await sub.stop();
    await running.stop();
  }
});

test("an invalid mapping file stops the start, naming file:line:column", async (t) => {
  const dir = rulesDir(t, MAPPING.replace("class_uid: 2004", "class_uid: 1007"));
  const config = loadConfig(
    { RIPOSTE_RULES_DIR: dir, RIPOSTE_API_TOKEN: TOKEN, RIPOSTE_STATE_DIR: join(dir, "state") },
    CONNECTORS,
  );
  await assert.rejects(
    startServices({ config, services: ["ingest"], log: silentLogger, listen: false }),
    (e: { code: string; message: string }) => {
      assert.equal(e.code, "RIPOSTE_RULE_INVALID");
      assert.match(e.message, /acme\.yaml:5:1: class_uid 1007 is not one Riposte emits/);
      return true;
    },
  );
});
