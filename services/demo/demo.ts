/**
 * The demo replay of `npm start`: posts the bundled sample alerts (Riposte's own, written in each vendor's
 * format) through the authenticated ingest API, waits for the pipeline to settle, and prints what happened.
 */
import { readdir, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../shared/log.ts";
import type { Running } from "../runtime.ts";

const ALERTS_DIR = new URL("./alerts/", import.meta.url);

export async function replayDemo(running: Running, log: Logger): Promise<void> {
  const { api, apiToken, metrics } = running;
  if (!api || !apiToken) return;
  const files = (await readdir(ALERTS_DIR)).sort();
  for (const file of files) {
    const source = file.replace(/\..*$/, "");
    const body = await readFile(new URL(file, ALERTS_DIR));
    const res = await api.inject({
      method: "POST",
      url: `/v1/alerts/${source}`,
      payload: body,
      headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/x-ndjson" },
    });
    const r = res.json<{ normalized?: number; dead_lettered?: number }>();
    log.info(
      { file, status: res.statusCode, normalized: r.normalized ?? 0, dead_lettered: r.dead_lettered ?? 0 },
      "demo: replayed sample alerts",
    );
  }
  let last = "";
  for (let i = 0; i < 100; i++) {
    await sleep(200);
    const now = JSON.stringify(metrics.snapshot());
    const settled = metrics.get("correlator_events_total") >= metrics.get("ingest_normalized_total") && now === last;
    if (settled) break;
    last = now;
  }
  const c = metrics.snapshot();
  // A step behind an approval gate waits (cloud-brute-force-block-ip-approval): the demo shows where to see it.
  const waiting = await api.inject({
    method: "GET",
    url: "/v1/approvals",
    headers: { authorization: `Bearer ${apiToken}` },
  });
  const approvals = waiting.statusCode === 200 ? waiting.json<{ approvals: Array<{ id: string }> }>().approvals : [];
  const rows = [
    ["alerts normalized", c["ingest_normalized_total"] ?? 0],
    ["dead-lettered at ingest", c["ingest_dead_lettered_total"] ?? 0],
    ["decisions: respond", c["correlator_decisions_total"] ?? 0],
    ["decisions: duplicate", c["correlator_duplicates_total"] ?? 0],
    ["decisions: suppressed", c["correlator_suppressed_total"] ?? 0],
    ["decisions: no rule matched", c["correlator_no_match_total"] ?? 0],
    ["actions audited", c["executor_actions_total"] ?? 0],
    ["steps waiting for approval", approvals.length],
  ];
  const lines = rows.map(([k, v]) => `  ${String(k).padEnd(28)} ${String(v).padStart(6)}`);
  process.stdout.write(
    `\nRiposte demo: sample alerts replayed\n${lines.join("\n")}\n\n` +
      `API: ${running.url ?? "(not listening)"}  (token in ${process.env["RIPOSTE_API_TOKEN"] ? "RIPOSTE_API_TOKEN" : ".riposte/api-token"})\n` +
      `  curl -H "Authorization: Bearer $(cat .riposte/api-token)" ${running.url ?? ""}/v1/stats\n` +
      (approvals[0]
        ? `  curl -H "Authorization: Bearer $(cat .riposte/api-token)" ${running.url ?? ""}/v1/approvals\n` +
          `  curl -X POST -H "Authorization: Bearer $(cat .riposte/api-token)" ${running.url ?? ""}/v1/approvals/${approvals[0].id}/approve\n`
        : "") +
      `Press Ctrl-C to stop.\n\n`,
  );
}
