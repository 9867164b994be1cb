/** docker-compose.yml stays consistent with the configuration schema. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { CONFIG_VARIABLES, connectorVariables, loadConfig } from "../services/shared/config.ts";
import { CONNECTORS } from "../services/executor/connectors/index.ts";
import { SERVICES } from "../services/runtime.ts";

interface Compose {
  services: Record<string, { command?: string[]; environment?: Record<string, string | number> }>;
}

const compose = parse(readFileSync(new URL("../docker-compose.yml", import.meta.url), "utf8"), {
  merge: true,
}) as Compose;
const known = new Set<string>([...Object.keys(CONFIG_VARIABLES), ...CONNECTORS.flatMap((c) => connectorVariables(c))]);

const REQUIRED: Record<string, string> = { RIPOSTE_API_TOKEN: "compose-token-0123456789" };

/** Resolves `${VAR:-default}` / `${VAR:?msg}` as compose would, with `shell` as the deployer's environment. */
function resolve(value: string | number, shell: Record<string, string> = REQUIRED): string {
  return String(value).replace(
    /\$\{(\w+)(:-([^}]*)|:\?[^}]*)?\}/g,
    (_m, name: string, _op, def: string | undefined) => shell[name] ?? def ?? "",
  );
}

/** Each Riposte service's environment as compose would pass it with `shell` set. */
function serviceEnvs(shell: Record<string, string> = REQUIRED): Array<[string, Record<string, string>]> {
  return Object.entries(compose.services)
    .filter(([, s]) => s.command?.[0] === "run")
    .map(([name, svc]) => [
      name,
      Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, resolve(v, shell)])),
    ]);
}

test("every Riposte service in docker-compose.yml runs one service with variables the config schema knows", () => {
  const riposte = Object.entries(compose.services).filter(([, s]) => s.command?.[0] === "run");
  assert.deepEqual(riposte.map(([, s]) => s.command?.[1]).sort(), [...SERVICES].sort());
  for (const [name, env] of serviceEnvs()) {
    for (const key of Object.keys(env)) assert.ok(known.has(key), `${name}: ${key} is not a Riposte variable`);
    assert.ok(
      env["KAFKA_BROKERS"] && env["REDIS_URL"],
      `${name} runs distributed: KAFKA_BROKERS and REDIS_URL are set`,
    );
    assert.doesNotThrow(() => loadConfig(env, CONNECTORS), `${name}: environment passes the config schema`);
  }
});

test("a deployer who sets ingest tokens can bind their formats through compose", () => {
  const shell = {
    ...REQUIRED,
    RIPOSTE_INGEST_TOKENS: "edr=edr-token-0123456789,ids=ids-token-0123456789",
    RIPOSTE_SOURCE_FORMATS: "edr=crowdstrike_falcon,ids=*",
    RIPOSTE_TRACE_TRUSTED_SOURCES: "edr",
  };
  const ingest = serviceEnvs(shell).find(([, env]) => env["RIPOSTE_INGEST_TOKENS"] !== undefined);
  assert.ok(ingest, "a service takes ingest tokens");
  const config = loadConfig(ingest[1], CONNECTORS);
  assert.deepEqual(config.sourceFormats, { edr: ["crowdstrike_falcon"], ids: ["*"] });
  assert.deepEqual(config.api.traceTrustedSources, ["edr"]);
  const unbound = { ...shell, RIPOSTE_SOURCE_FORMATS: "edr=crowdstrike_falcon" };
  const env = serviceEnvs(unbound).find(([n]) => n === ingest[0])?.[1] ?? {};
  assert.throws(() => loadConfig(env, CONNECTORS), /source "ids" has an ingest token but no format binding/);
});

test("the configuration rejects bad values with the variable named", () => {
  assert.throws(() => loadConfig({ RIPOSTE_API_PORT: "99999" }, CONNECTORS), /RIPOSTE_API_PORT/);
  assert.throws(() => loadConfig({ REDIS_URL: "localhost:6379" }, CONNECTORS), /REDIS_URL: must start with redis:\/\//);
  assert.throws(
    () => loadConfig({ RIPOSTE_CONNECTOR_CROWDSTRIKE_URL: "https://api.crowdstrike.com" }, CONNECTORS),
    /RIPOSTE_CONNECTOR_CROWDSTRIKE_CLIENT_ID/,
  );
  assert.throws(() => loadConfig({ RIPOSTE_INGEST_TOKENS: "suricata=short" }, CONNECTORS), /RIPOSTE_INGEST_TOKENS/);
  assert.throws(() => loadConfig({ RIPOSTE_DEDUP_WINDOW: "0s" }, CONNECTORS), /RIPOSTE_DEDUP_WINDOW: must be positive/);
  assert.throws(
    () =>
      loadConfig(
        {
          RIPOSTE_CONNECTOR_CROWDSTRIKE_URL: "https://svc:pw@api.crowdstrike.com",
          RIPOSTE_CONNECTOR_CROWDSTRIKE_CLIENT_ID: "id",
          RIPOSTE_CONNECTOR_CROWDSTRIKE_CLIENT_SECRET: "secret-0123456789",
        },
        CONNECTORS,
      ),
    /RIPOSTE_CONNECTOR_CROWDSTRIKE_URL: must not contain user info/,
  );
  const ok = loadConfig({}, CONNECTORS);
  assert.equal(ok.connectors["crowdstrike"]?.dryRun, true, "connectors without URL run dry");
  assert.ok(Object.isFrozen(ok) && Object.isFrozen(ok.api), "config is frozen");
});
