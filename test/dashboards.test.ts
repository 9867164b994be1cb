/** deploy/: the Grafana dashboards, Prometheus and Collector configs stay consistent with what the services export. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { COUNTERS, GAUGES, HISTOGRAMS, SERIES } from "../services/shared/metrics.ts";

const deploy = new URL("../deploy/", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, deploy), "utf8");

/** Every metric name Riposte exports, as Prometheus sees it (histograms with their series suffixes). */
function exported(): Set<string> {
  const names = new Set<string>([...Object.keys(SERIES), ...Object.keys(GAUGES)]);
  for (const h of Object.keys(HISTOGRAMS)) for (const s of ["_bucket", "_sum", "_count"]) names.add(h + s);
  for (const c of COUNTERS) names.add(`riposte_${c}`);
  return names;
}

interface Panel {
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

const dashboards = readdirSync(new URL("grafana/dashboards/", deploy)).filter((f) => f.endsWith(".json"));

test("every dashboard is valid JSON with a uid, a title and panels that query Prometheus", () => {
  assert.ok(dashboards.length > 0);
  for (const f of dashboards) {
    const d = JSON.parse(read(`grafana/dashboards/${f}`)) as { uid?: string; title?: string; panels?: Panel[] };
    assert.ok(d.uid && d.title, `${f}: uid and title`);
    assert.ok((d.panels ?? []).length > 0, `${f}: panels`);
    for (const p of d.panels ?? []) assert.ok((p.targets ?? []).length > 0, `${f}: "${p.title}" has queries`);
  }
});

test("every metric a dashboard queries is one the services export", () => {
  const known = exported();
  const queried = new Set<string>();
  for (const f of dashboards) {
    const d = JSON.parse(read(`grafana/dashboards/${f}`)) as { panels?: Panel[] };
    const panels = (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        for (const m of (t.expr ?? "").matchAll(/\b(riposte_[a-z0-9_]+)\b/g)) {
          queried.add(m[1] as string);
          assert.ok(known.has(m[1] as string), `${f}: "${p.title}" queries ${m[1]}, which no service exports`);
        }
      }
    }
  }
  for (const must of ["riposte_mttd_seconds_bucket", "riposte_mttr_seconds_bucket", "riposte_consumer_lag_messages"])
    assert.ok(queried.has(must), `a dashboard shows ${must}`);
});

test("Prometheus scrapes every service's /metrics with a token; the Collector pipes traces and metrics", () => {
  const prom = parse(read("prometheus.yml")) as {
    scrape_configs: Array<{ job_name: string; metrics_path?: string; authorization?: { credentials_file?: string } }>;
  };
  const riposte = prom.scrape_configs.find((s) => s.job_name === "riposte");
  assert.equal(riposte?.metrics_path, "/metrics");
  assert.ok(riposte?.authorization?.credentials_file, "scrapes are authenticated");
  const col = parse(read("otel-collector.yaml")) as {
    service: { pipelines: Record<string, { receivers: string[]; exporters: string[] }> };
  };
  assert.deepEqual(Object.keys(col.service.pipelines).sort(), ["metrics", "traces"]);
  for (const p of Object.values(col.service.pipelines)) assert.ok(p.receivers.includes("otlp"));
});
