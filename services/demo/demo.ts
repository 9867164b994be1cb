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
  const seeds = await seedScenarios(running);
  process.stdout.write(
    `\nRiposte demo: sample alerts replayed\n${lines.join("\n")}\n\n` +
      (seeds.length
        ? `Seed scenarios (dry run: no connector configured; GET /v1/actions?decision_id= shows each request):\n${seeds.join("\n")}\n\n`
        : "") +
      `API: ${running.url ?? "(not listening)"}  (token in ${process.env["RIPOSTE_API_TOKEN"] ? "RIPOSTE_API_TOKEN" : ".riposte/api-token"})\n` +
      `  curl -H "Authorization: Bearer $(cat .riposte/api-token)" ${running.url ?? ""}/v1/stats\n` +
      (approvals[0]
        ? `  curl -H "Authorization: Bearer $(cat .riposte/api-token)" ${running.url ?? ""}/v1/approvals\n` +
          `  curl -X POST -H "Authorization: Bearer $(cat .riposte/api-token)" ${running.url ?? ""}/v1/approvals/${approvals[0].id}/approve\n`
        : "") +
      `Press Ctrl-C to stop.\n\n`,
  );
}

/** The starter playbooks the demo shows, as the SOC names what they do. */
const SCENARIOS: ReadonlyArray<readonly [string, string]> = [
  ["phishing purge and notify", "purge-phishing"],
  ["IP block", "block-ip"],
  ["session revocation", "revoke-user-sessions"],
  ["host isolation", "isolate-host"],
  ["suspension (approval)", "suspend-user"],
];

/**
 * One line per seed scenario: its runs, and how many of its steps ran dry, wait for an approval or were skipped by
 * their condition, from the runs the executor kept (GET /v1/runs, every page).
 */
async function seedScenarios(running: Running): Promise<string[]> {
  const { api, apiToken } = running;
  if (!api || !apiToken) return [];
  const runs: Array<{ playbook: { id: string }; steps: Record<string, { status?: string }> }> = [];
  let cursor: string | undefined;
  for (let page = 0; page < 50; page++) {
    const res = await api.inject({
      method: "GET",
      url: `/v1/runs?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      headers: { authorization: `Bearer ${apiToken}` },
    });
    if (res.statusCode !== 200) return [];
    const body = res.json<{ runs: typeof runs; next_cursor?: string }>();
    runs.push(...body.runs);
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return SCENARIOS.map(([label, playbook]) => {
    const mine = runs.filter((r) => r.playbook.id === playbook);
    const steps = new Map<string, number>();
    for (const r of mine)
      for (const [id, st] of Object.entries(r.steps))
        if (st.status === "dry_run" || st.status === "awaiting_approval") {
          const key = st.status === "dry_run" ? id : `${id} (awaiting approval)`;
          steps.set(key, (steps.get(key) ?? 0) + 1);
        }
    const shown = [...steps].map(([id, n]) => `${id} ${n}`).join(", ");
    return `  ${label.padEnd(28)} ${String(mine.length).padStart(6)} run(s) of ${playbook}${shown ? `: ${shown}` : ""}`;
  });
}
