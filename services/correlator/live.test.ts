import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MemoryBus, type InMessage } from "../shared/bus/index.ts";
import { topicNames } from "../shared/config.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { MemoryState } from "../shared/state/index.ts";
import { buildApi } from "../api/app.ts";
import { Correlator } from "./correlator.ts";
import { LiveRules, sharedRulesControl } from "./live.ts";
import { loadLists, loadRules } from "./load.ts";
import { RuleSet } from "./ruleset.ts";

const RULES = new URL("../../rules/", import.meta.url).pathname;
const EDR_RULE = "edr-high-severity-detection-isolate.yaml";

async function copyRules(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "riposte-live-"));
  await cp(RULES, dir, { recursive: true });
  return dir;
}

const loader = (dir: string) => async () => {
  const lists = await loadLists(dir);
  return new RuleSet(await loadRules(dir, lists), lists);
};

test("a valid change swaps the set; a broken one is refused with its errors and the running set stays", async () => {
  const dir = await copyRules();
  const live = new LiveRules(await loader(dir)(), { dir, load: loader(dir), log: silentLogger, prefix: "live" });
  const before = live.current();
  const file = join(dir, EDR_RULE);
  const text = await readFile(file, "utf8");
  await writeFile(file, text.replace(/^version: \d+/m, "version: 99"));
  const ok = await live.reload("test");
  assert.equal(ok.ok, true);
  assert.notEqual(live.current(), before, "a new set");
  const edr = (await live.status()).rules.find((r) => r.id === "edr-high-severity-detection-isolate");
  assert.equal(edr?.version, 99);
  const good = live.current();
  await writeFile(file, text.replace("operator: greaterThanInclusive", "operator: noSuchOperator"));
  const bad = await live.reload("test");
  assert.equal(bad.ok, false);
  assert.match((bad.errors ?? []).join("\n"), /edr-high-severity-detection-isolate\.yaml/);
  assert.equal(live.current(), good, "the running set stays");
  assert.equal((await live.status()).last_reload?.ok, false);
  await rm(dir, { recursive: true });
});

test("a change in the watched directory reloads by itself; a batch in flight keeps its set", async () => {
  const dir = await copyRules();
  const live = new LiveRules(await loader(dir)(), { dir, load: loader(dir), log: silentLogger, prefix: "live" });
  live.start(60_000);
  const first = live.current();
  const file = join(dir, EDR_RULE);
  await writeFile(file, (await readFile(file, "utf8")).replace(/^version: \d+/m, "version: 7"));
  for (let i = 0; i < 50 && live.current() === first; i++) await sleep(100);
  live.stop();
  assert.notEqual(live.current(), first, "reloaded after the file changed");
  assert.equal((await live.status()).last_reload?.trigger, "watch");
  await rm(dir, { recursive: true });
});

test("the correlator counts hits per rule and takes a reloaded set from the next batch on", async () => {
  const dir = await copyRules();
  const initial = await loader(dir)();
  const live = new LiveRules(initial, { dir, load: loader(dir), log: silentLogger, prefix: "live" });
  const bus = new MemoryBus();
  const topics = topicNames("live");
  await bus.ensureTopics([topics.decisions, topics.dlq].map((name) => ({ name, partitions: 1 })));
  const c = new Correlator({
    bus,
    state: new MemoryState(),
    topics,
    rules: initial,
    live,
    log: silentLogger,
    metrics: new Metrics(),
    statePrefix: "live",
    dedupWindowMs: 60_000,
  });
  const detection = {
    class_uid: 2004,
    class_name: "Detection Finding",
    category_uid: 2,
    category_name: "Findings",
    activity_id: 1,
    type_uid: 200401,
    time: Date.now(),
    severity_id: 5,
    severity: "Critical",
    metadata: { version: "1.5.0", product: { vendor_name: "CrowdStrike", name: "Falcon" }, uid: "det-1" },
    finding_info: { uid: "det-1", title: "Ransomware" },
    device: { hostname: "fin-ws-042" },
    riposte: {
      source: "edr",
      format: "crowdstrike_falcon",
      received_time: Date.now(),
      entity_key: "host:fin-ws-042",
      fingerprint: "fp-live-1",
    },
  };
  const msg = (offset: number, uid: string): InMessage => ({
    topic: topics.normalized,
    partition: 0,
    offset: String(offset),
    key: "host:fin-ws-042",
    value: Buffer.from(
      JSON.stringify({
        ...detection,
        finding_info: { uid, title: "Ransomware" },
        riposte: { ...detection.riposte, fingerprint: `fp-${uid}` },
      }),
    ),
    headers: {},
    timestamp: 0,
  });
  await c.handle([msg(0, "a")]);
  const hits = (await live.status()).rules.find((r) => r.id === "edr-high-severity-detection-isolate")?.hits;
  assert.equal(hits, 1);
  await writeFile(
    join(dir, EDR_RULE),
    (await readFile(join(dir, EDR_RULE), "utf8"))
      .replace("enabled: true", "enabled: false")
      .replace(/^priority:/m, "enabled: false\npriority:"),
  );
  assert.equal((await live.reload("test")).ok, true);
  assert.equal(
    live.current().rules.some((r) => r.rule.id === "edr-high-severity-detection-isolate"),
    false,
    "disabled by the reload",
  );
  await c.handle([msg(1, "b")]);
  assert.equal(
    (await live.status()).rules.some((r) => r.id === "edr-high-severity-detection-isolate"),
    false,
  );
  await bus.close();
  await rm(dir, { recursive: true });
});

test("GET /v1/rules and POST /v1/rules/reload: direct in the embedded mode, through shared state when distributed", async () => {
  const dir = await copyRules();
  const state = new MemoryState();
  const live = new LiveRules(await loader(dir)(), { dir, load: loader(dir), log: silentLogger, state, prefix: "p" });
  const api = (rules: Parameters<typeof buildApi>[0]["rules"]) =>
    buildApi({
      log: silentLogger,
      metrics: new Metrics(),
      apiToken: "rules-api-token-0123456789",
      sourceTokens: {},
      maxBodyBytes: 1024,
      hmacSecrets: {},
      replayWindowMs: 300_000,
      ...(rules ? { rules } : {}),
    });
  const auth = { authorization: "Bearer rules-api-token-0123456789" };
  const embedded = api(live);
  const list = await embedded.inject({ method: "GET", url: "/v1/rules", headers: auth });
  assert.equal(list.statusCode, 200);
  const body = list.json<{ rules: Array<{ id: string; hash: string; file: string }> }>();
  assert.ok(body.rules.some((r) => r.id === "edr-high-severity-detection-isolate" && /^[0-9a-f]{64}$/.test(r.hash)));
  const reload = await embedded.inject({ method: "POST", url: "/v1/rules/reload", headers: auth });
  assert.equal(reload.statusCode, 200);
  assert.equal(reload.json<{ ok: boolean }>().ok, true);
  await writeFile(join(dir, EDR_RULE), "id: [broken");
  const refused = await embedded.inject({ method: "POST", url: "/v1/rules/reload", headers: auth });
  assert.equal(refused.statusCode, 422);
  assert.equal(refused.json<{ error: { code: string } }>().error.code, "RIPOSTE_RULE_INVALID");

  // Distributed: the API service reads the status correlators publish and requests a reload through state.
  const shared = api(sharedRulesControl(state, "p"));
  await live.publish();
  assert.equal((await shared.inject({ method: "GET", url: "/v1/rules", headers: auth })).statusCode, 200);
  const requested = await shared.inject({ method: "POST", url: "/v1/rules/reload", headers: auth });
  assert.equal(requested.statusCode, 202);
  live.start(50);
  for (let i = 0; i < 50 && (await live.status()).last_reload?.trigger !== "api"; i++) await sleep(50);
  live.stop();
  assert.equal((await live.status()).last_reload?.trigger, "api", "the correlator saw the request");
  const none = api(sharedRulesControl(new MemoryState(), "p"));
  assert.equal((await none.inject({ method: "GET", url: "/v1/rules", headers: auth })).statusCode, 404);
  await rm(dir, { recursive: true });
});
