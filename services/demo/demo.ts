/**
 * The demo replay of `npm start`: posts the bundled sample alerts (Riposte's own, written in each vendor's
 * format) through the authenticated ingest API, waits for the pipeline to settle, and prints what happened.
 */
import { readdir, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../shared/log.ts";
import type { Running } from "../runtime.ts";

const ALERTS_DIR = new URL("./alerts/", import.meta.url);

export async function replayDemo(
  running: Running,
  log: Logger,
  out: { write(text: string): unknown } = process.stdout,
): Promise<void> {
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
  const approvals = waiting.statusCode === 200 ? waiting.json<{ approvals: Approval[] }>().approvals : [];
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
  const seeds = await seedScenarios(running, approvals);
  out.write(
    `\nRiposte demo: sample alerts replayed\n${lines.join("\n")}\n\n` +
      (seeds.length
        ? `Seed scenarios (dry run: no connector configured; paths without their query; GET /v1/actions?decision_id= shows each request in full):\n${seeds.join("\n")}\n\n`
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

type Planned = { method: string; path: string };
type StepView = {
  status?: string;
  approval_id?: string;
  output?: { would_send?: Planned[]; items?: Array<{ output?: { would_send?: Planned[] } }> };
};
type RunView = { playbook: { id: string }; status: string; steps: Record<string, StepView> };
/** A pending approval as GET /v1/approvals lists it: what the step would send is its plan. */
type Approval = { id: string; plan?: { would_send?: Planned[] } };

/** A step's planned requests as `METHOD path` (query left out), one text per action (a for_each: one per item). */
function plannedOf(st: StepView): string[] {
  const text = (reqs: Planned[] | undefined) =>
    [...new Set((reqs ?? []).map((r) => `${r.method} ${r.path.split("?")[0] ?? ""}`))].join(", ");
  const items = st.output?.items;
  const texts = items ? items.map((i) => text(i.output?.would_send)) : [text(st.output?.would_send)];
  return texts.filter((t) => t !== "");
}

/**
 * Each seed scenario: how many runs its playbook had (how many wait for an approval), and for one of them (the first
 * not waiting, when there is one) each step that ran dry or waits for an approval, with what it would send (`would
 * send METHOD path`), from the runs the executor kept (GET /v1/runs, every page) and the pending approvals' plans.
 */
export async function seedScenarios(running: Running, approvals: readonly Approval[] = []): Promise<string[]> {
  const { api, apiToken } = running;
  if (!api || !apiToken) return [];
  const runs: RunView[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 50; page++) {
    const res = await api.inject({
      method: "GET",
      url: `/v1/runs?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      headers: { authorization: `Bearer ${apiToken}` },
    });
    if (res.statusCode !== 200) return [];
    const body = res.json<{ runs: RunView[]; next_cursor?: string }>();
    runs.push(...body.runs);
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return SCENARIOS.flatMap(([label, playbook]) => {
    // Latest first: the earliest run is the last.
    const mine = runs.filter((r) => r.playbook.id === playbook).reverse();
    const held = mine.filter((r) => r.status === "waiting_approval").length;
    const first = mine.find((r) => r.status !== "waiting_approval") ?? mine[0];
    const notes = [
      held > 0 && held < mine.length ? `${held} waiting for approval` : "",
      mine.length > 1 ? `one shown` : "",
    ].filter(Boolean);
    const head = `  ${label}: ${mine.length} run${mine.length === 1 ? "" : "s"} of ${playbook}${notes.length ? ` (${notes.join("; ")})` : ""}`;
    if (!first) return [head];
    const steps: string[] = [];
    for (const [id, st] of Object.entries(first.steps)) {
      if (st.status !== "dry_run" && st.status !== "awaiting_approval") continue;
      const waits = st.status === "awaiting_approval" ? "awaiting approval, then " : "";
      const approval = st.approval_id === undefined ? undefined : approvals.find((a) => a.id === st.approval_id);
      const planned = approval ? plannedOf({ output: approval.plan ?? {} }) : plannedOf(st);
      if (planned.length === 0) steps.push(`    ${id.padEnd(22)} ${waits}would run (no request to show)`);
      for (const p of planned) steps.push(`    ${id.padEnd(22)} ${waits}would send ${p}`);
    }
    return [head, ...steps];
  });
}
