import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryBus } from "../shared/bus/index.ts";
import { sampleLag } from "../shared/lag.ts";
import { silentLogger } from "../shared/log.ts";
import { Metrics } from "../shared/metrics.ts";
import { startMetricsServer } from "../shared/metrics-server.ts";
import { buildApi } from "./app.ts";

const TOKEN = "metrics-token-0123456789abcdef";

function api(metrics: Metrics) {
  return buildApi({
    log: silentLogger,
    metrics,
    apiToken: TOKEN,
    sourceTokens: {},
    maxBodyBytes: 1024,
    hmacSecrets: {},
    replayWindowMs: 300_000,
  });
}

test("GET /metrics serves Prometheus text: counters, labelled series, histograms with counts, lag", async () => {
  const metrics = new Metrics();
  metrics.inc("correlator_events_total", 3);
  metrics.count("riposte_rule_hits_total", { rule: "edr-high" }, 2);
  metrics.observe("riposte_mttd_seconds", 42, { rule: "edr-high", playbook: "isolate-host" });
  metrics.observe("riposte_mttr_seconds", -1, { rule: "edr-high", playbook: "isolate-host" });
  const bus = new MemoryBus();
  await bus.ensureTopics([{ name: "t", partitions: 2 }]);
  await bus.publish("t", [
    { key: "a", value: "1" },
    { key: "b", value: "2" },
    { key: "c", value: "3" },
  ]);
  await sampleLag(bus, metrics, [{ groupId: "g", topic: "t" }]);
  const app = api(metrics);
  const res = await app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers["content-type"] ?? "", /^text\/plain/);
  const text = res.body;
  assert.match(text, /^riposte_correlator_events_total 3$/m);
  assert.match(text, /^riposte_rule_hits_total\{rule="edr-high"\} 2$/m);
  assert.match(text, /^riposte_mttd_seconds_count\{rule="edr-high",playbook="isolate-host"\} 1$/m);
  assert.match(text, /^riposte_mttd_seconds_bucket\{rule="edr-high",playbook="isolate-host",le="60"\} 1$/m);
  assert.match(text, /^riposte_mttr_seconds_sum\{rule="edr-high",playbook="isolate-host"\} 0$/m, "skew recorded as 0");
  const lag = [...text.matchAll(/^riposte_consumer_lag_messages\{group="g",topic="t",partition="\d"\} (\d+)$/gm)];
  assert.equal(lag.length, 2, "one series per partition");
  assert.equal(
    lag.reduce((s, m) => s + Number(m[1]), 0),
    3,
    "nothing committed: every message is lag",
  );
  await app.close();
  await bus.close();
  await metrics.close();
});

test("GET /metrics needs a token like every reader", async () => {
  const app = api(new Metrics());
  const res = await app.inject({ method: "GET", url: "/metrics" });
  assert.equal(res.statusCode, 401);
  await app.close();
});

test("RIPOSTE_METRICS_PORT's listener serves /metrics with the token, 401 without, 404 elsewhere", async () => {
  const metrics = new Metrics();
  metrics.inc("executor_actions_total", 2);
  const server = await startMetricsServer({ host: "127.0.0.1", port: 0, token: TOKEN, metrics });
  const url = `http://127.0.0.1:${server.port}`;
  const ok = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /^riposte_executor_actions_total 2$/m);
  assert.equal((await fetch(`${url}/metrics`)).status, 401);
  assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: "Bearer wrong" } })).status, 401);
  assert.equal((await fetch(`${url}/v1/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);
  await server.close();
  await metrics.close();
});
