import { test } from "node:test";
import assert from "node:assert/strict";
import { CONNECTORS } from "../executor/connectors/index.ts";
import { knownFormats } from "../ingest/normalizers/index.ts";
import { CONFIG_VARIABLES, loadConfig } from "./config.ts";
import { isRiposteError } from "./errors.ts";

const TOKEN = "0123456789abcdef-token";
const CS = {
  RIPOSTE_CONNECTOR_CROWDSTRIKE_CLIENT_ID: "client-id",
  RIPOSTE_CONNECTOR_CROWDSTRIKE_CLIENT_SECRET: "client-secret-0123456789",
};

/** The problems loadConfig lists for an environment (empty if it passes). */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, CONNECTORS);
    return [];
  } catch (e) {
    assert.ok(isRiposteError(e) && e.code === "RIPOSTE_CONFIG_INVALID", "a coded configuration error");
    return e.message.split("\n  - ").slice(1);
  }
}

test("zero and negative durations are refused with the variable named", () => {
  assert.deepEqual(problems({ RIPOSTE_DEDUP_WINDOW: "0s" }), [
    'RIPOSTE_DEDUP_WINDOW: must be positive: "0s" is zero (use at least 1ms)',
  ]);
  assert.deepEqual(problems({ RIPOSTE_INGEST_REPLAY_WINDOW: "-5m" }), [
    'RIPOSTE_INGEST_REPLAY_WINDOW: must be positive: "-5m" is negative',
  ]);
  assert.match(problems({ RIPOSTE_DEDUP_WINDOW: "5 minutes" })[0] ?? "", /^RIPOSTE_DEDUP_WINDOW: expected a duration/);
  assert.equal(loadConfig({ RIPOSTE_DEDUP_WINDOW: " 1ms " }).dedupWindowMs, 1);
  assert.equal(loadConfig({}).dedupWindowMs, 86_400_000);
});

test("incident window and retention: positive durations, 24h and 30d by default", () => {
  const d = loadConfig({});
  assert.equal(d.incidentWindowMs, 86_400_000);
  assert.equal(d.incidentRetentionMs, 30 * 86_400_000);
  assert.equal(loadConfig({ RIPOSTE_INCIDENT_WINDOW: "2h" }).incidentWindowMs, 7_200_000);
  assert.deepEqual(problems({ RIPOSTE_INCIDENT_WINDOW: "0s", RIPOSTE_INCIDENT_RETENTION: "-1d" }), [
    'RIPOSTE_INCIDENT_WINDOW: must be positive: "0s" is zero (use at least 1ms)',
    'RIPOSTE_INCIDENT_RETENTION: must be positive: "-1d" is negative',
  ]);
});

test("new ingest and syslog limits: defaults, values and bounds", () => {
  const d = loadConfig({});
  assert.equal(d.api.maxEvents, 50_000);
  assert.equal(d.api.maxDepth, 64);
  assert.equal(d.syslog.maxLineBytes, 65_536);
  assert.deepEqual(d.api.traceTrustedSources, []);
  const c = loadConfig({
    RIPOSTE_INGEST_MAX_EVENTS: "10",
    RIPOSTE_INGEST_MAX_DEPTH: "8",
    RIPOSTE_SYSLOG_MAX_LINE: "2048",
  });
  assert.deepEqual([c.api.maxEvents, c.api.maxDepth, c.syslog.maxLineBytes], [10, 8, 2048]);
  const bad = problems({
    RIPOSTE_INGEST_MAX_EVENTS: "0",
    RIPOSTE_INGEST_MAX_DEPTH: "x",
    RIPOSTE_SYSLOG_MAX_LINE: "1.5",
  });
  assert.deepEqual(
    bad.map((p) => p.split(":")[0]),
    ["RIPOSTE_INGEST_MAX_EVENTS", "RIPOSTE_INGEST_MAX_DEPTH", "RIPOSTE_SYSLOG_MAX_LINE"],
    bad.join("\n"),
  );
});

test("trusted trace sources: a list, * alone, or none", () => {
  assert.deepEqual(loadConfig({ RIPOSTE_TRACE_TRUSTED_SOURCES: " edr, siem ,edr" }).api.traceTrustedSources, [
    "edr",
    "siem",
  ]);
  assert.deepEqual(loadConfig({ RIPOSTE_TRACE_TRUSTED_SOURCES: "*" }).api.traceTrustedSources, ["*"]);
  assert.deepEqual(loadConfig({ RIPOSTE_TRACE_TRUSTED_SOURCES: "" }).api.traceTrustedSources, []);
  assert.deepEqual(problems({ RIPOSTE_TRACE_TRUSTED_SOURCES: "*,edr" }), [
    'RIPOSTE_TRACE_TRUSTED_SOURCES: "*" means every source, so it stands alone',
  ]);
  assert.match(problems({ RIPOSTE_TRACE_TRUSTED_SOURCES: "edr,bad source" })[0] ?? "", /source "bad source"/);
});

test("a source with an ingest token but no format binding is refused, saying how to bind it", () => {
  assert.deepEqual(problems({ RIPOSTE_INGEST_TOKENS: `okta=${TOKEN},edr=${TOKEN}` }), [
    'RIPOSTE_SOURCE_FORMATS: source "okta" has an ingest token but no format binding: add okta=okta_system_log (or okta=* to allow any format)',
    'RIPOSTE_SOURCE_FORMATS: source "edr" has an ingest token but no format binding: add edr=<format> (or edr=* to allow any format)',
  ]);
  const c = loadConfig({
    RIPOSTE_INGEST_TOKENS: `okta=${TOKEN},edr=${TOKEN}`,
    RIPOSTE_SOURCE_FORMATS: "okta=okta_system_log,edr=*",
  });
  assert.deepEqual(c.sourceFormats, { okta: ["okta_system_log"], edr: ["*"] });
});

test("format bindings: names and aliases are checked against the normalizers and stored canonically", () => {
  const c = loadConfig({ RIPOSTE_SOURCE_FORMATS: "ids = suricata|CEF|suricata_eve, edr=crowdstrike, fw=*" });
  assert.deepEqual(c.sourceFormats, { ids: ["suricata_eve", "cef"], edr: ["crowdstrike_falcon"], fw: ["*"] });
  const typo = problems({ RIPOSTE_SOURCE_FORMATS: "edr=crowdstrke_falcon" });
  assert.equal(typo.length, 1);
  assert.match(typo[0] ?? "", /^RIPOSTE_SOURCE_FORMATS: source "edr" binds unknown format "crowdstrke_falcon"; known/);
  for (const f of knownFormats()) assert.ok(typo[0]?.includes(f), `lists ${f}`);
  assert.deepEqual(problems({ RIPOSTE_SOURCE_FORMATS: "fw=*|cef" }), [
    'RIPOSTE_SOURCE_FORMATS: source "fw": "*" allows any format, so it stands alone',
  ]);
  assert.match(problems({ RIPOSTE_SOURCE_FORMATS: "edr" })[0] ?? "", /^RIPOSTE_SOURCE_FORMATS: expected source=format/);
  assert.match(problems({ RIPOSTE_SOURCE_FORMATS: "a=cef,a=leef" })[0] ?? "", /source "a" is bound twice/);
});

test("every problem is listed with its variable, the binding check too", () => {
  const p = problems({
    RIPOSTE_API_PORT: "99999",
    RIPOSTE_DEDUP_WINDOW: "0ms",
    RIPOSTE_INGEST_TOKENS: `okta=${TOKEN}`,
    RIPOSTE_SOURCE_FORMATS: "ids=nope",
  });
  assert.deepEqual(
    p.map((x) => x.split(":")[0]).sort(),
    ["RIPOSTE_API_PORT", "RIPOSTE_DEDUP_WINDOW", "RIPOSTE_SOURCE_FORMATS", "RIPOSTE_SOURCE_FORMATS"],
    p.join("\n"),
  );
});

test("a connector URL with user info is refused at start, without echoing it", () => {
  for (const url of ["https://admin:hunter2@api.crowdstrike.com", "https://hunter2@api.crowdstrike.com"]) {
    const p = problems({ RIPOSTE_CONNECTOR_CROWDSTRIKE_URL: url, ...CS });
    assert.equal(p.length, 1, p.join("\n"));
    assert.match(p[0] ?? "", /^RIPOSTE_CONNECTOR_CROWDSTRIKE_URL: must not contain user info/);
    assert.ok(!p.join("\n").includes("hunter2"), "the secret is not in the message");
  }
  const q = problems({ RIPOSTE_CONNECTOR_CROWDSTRIKE_URL: "https://api.crowdstrike.com/?api_key=hunter2", ...CS });
  assert.match(q[0] ?? "", /^RIPOSTE_CONNECTOR_CROWDSTRIKE_URL: must be a base URL without a query string/);
  assert.ok(!q.join("\n").includes("hunter2"));
  assert.match(
    problems({ RIPOSTE_CONNECTOR_CROWDSTRIKE_URL: "ftp://api.crowdstrike.com", ...CS })[0] ?? "",
    /must be an http\(s\) URL/,
  );
  const ok = loadConfig({ RIPOSTE_CONNECTOR_CROWDSTRIKE_URL: "https://api.crowdstrike.com", ...CS }, CONNECTORS);
  assert.equal(ok.connectors["crowdstrike"]?.dryRun, false);
});

test("every new variable is documented", () => {
  for (const v of [
    "RIPOSTE_INGEST_MAX_EVENTS",
    "RIPOSTE_INGEST_MAX_DEPTH",
    "RIPOSTE_SYSLOG_MAX_LINE",
    "RIPOSTE_TRACE_TRUSTED_SOURCES",
    "RIPOSTE_INCIDENT_WINDOW",
    "RIPOSTE_INCIDENT_RETENTION",
    "RIPOSTE_API_TOKENS",
  ])
    assert.ok(Object.hasOwn(CONFIG_VARIABLES, v), v);
});

test("RIPOSTE_API_TOKENS: name:role:token entries, roles checked, 16+ character unique tokens, no secret in messages", () => {
  const c = loadConfig({
    RIPOSTE_API_TOKEN: TOKEN,
    RIPOSTE_API_TOKENS: "ann:viewer:viewer-token-0123456789, bo:approver:approver-token-01234567",
  });
  assert.deepEqual(c.api.tokens, [
    { name: "ann", role: "viewer", token: "viewer-token-0123456789" },
    { name: "bo", role: "approver", token: "approver-token-01234567" },
  ]);
  assert.ok(Object.isFrozen(c.api.tokens), "frozen with the rest");
  assert.deepEqual(loadConfig({}).api.tokens, []);
  const bad = problems({
    RIPOSTE_API_TOKEN: TOKEN,
    RIPOSTE_API_TOKENS: [
      "ann:viewer:short-secret",
      "bo:root:root-token-0123456789",
      "ann:analyst:analyst-token-0123456789",
      "cy:analyst:analyst-token-0123456789",
      "justonepart",
    ].join(","),
  });
  assert.deepEqual(bad, [
    'RIPOSTE_API_TOKENS: token "ann": the token must be at least 16 characters',
    'RIPOSTE_API_TOKENS: token "bo": role must be one of viewer, analyst, approver, admin',
    'RIPOSTE_API_TOKENS: token name "ann" is used twice',
    'RIPOSTE_API_TOKENS: token "cy" has the same token as another: each token must be unique',
    "RIPOSTE_API_TOKENS: entry 5: expected name:role:token",
  ]);
  const clash = problems({
    RIPOSTE_API_TOKEN: TOKEN,
    RIPOSTE_API_TOKENS: `admin:admin:other-admin-token-0123,dee:viewer:${TOKEN}`,
  });
  assert.deepEqual(clash, [
    "RIPOSTE_API_TOKENS: the name admin is RIPOSTE_API_TOKEN's: pick another",
    'RIPOSTE_API_TOKENS: token "dee" is the same as RIPOSTE_API_TOKEN',
  ]);
  for (const p of [...bad, ...clash])
    assert.doesNotMatch(p, /short-secret|token-0123456789|other-admin/, "no token in a message");
});

test("Redis Cluster: a list of seed nodes needs RIPOSTE_REDIS_CLUSTER=true; every seed is a redis URL", () => {
  const list = "redis://10.0.0.1:6379,redis://10.0.0.2:6379";
  assert.deepEqual(problems({ REDIS_URL: list }), [
    "REDIS_URL: lists several servers; set RIPOSTE_REDIS_CLUSTER=true if they are a Redis Cluster's nodes",
  ]);
  const c = loadConfig({ REDIS_URL: list, RIPOSTE_REDIS_CLUSTER: "true" }, CONNECTORS);
  assert.equal(c.redisCluster, true);
  assert.equal(c.redisUrl, list);
  assert.equal(loadConfig({ REDIS_URL: "redis://r:6379" }, CONNECTORS).redisCluster, false);
  assert.match(
    problems({ REDIS_URL: "redis://a:1,http://b:2", RIPOSTE_REDIS_CLUSTER: "true" }).join(),
    /REDIS_URL: must start with redis:\/\/ or rediss:\/\//,
  );
  assert.match(problems({ RIPOSTE_REDIS_CLUSTER: "yes" }).join(), /RIPOSTE_REDIS_CLUSTER/);
});
