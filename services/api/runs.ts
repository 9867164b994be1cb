/**
 * The runs API: `GET /v1/runs` (by decision, by status, paged), `GET /v1/runs/{id}` (each step's state, attempts,
 * result, latency and trace id) and `GET /v1/actions?decision_id=` (the audit records of a decision's actions).
 * Read from the run documents the executors keep in shared state (services/executor/runs.ts), so the API service
 * answers alone as well as in the embedded `run all`. Reads: the viewer role.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ActionRecord } from "../../schemas/index.ts";
import { RunDoc, RunStatus, type RunStore } from "../executor/index.ts";
import { RiposteError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";

const DecisionId = z.string().min(1).max(256);

/** Query of `GET /v1/runs`. */
export const RunQuery = z.strictObject({
  decision_id: DecisionId.optional().describe("Only the run of this decision"),
  status: RunStatus.optional().describe("Only runs in this status"),
  limit: z.coerce.number().int().min(1).max(200).default(50).describe("Page size, at most 200 (default 50)"),
  cursor: z.string().min(1).max(200).optional().describe("next_cursor of the previous page"),
});

/** Query of `GET /v1/actions`. */
export const ActionQuery = z.strictObject({
  decision_id: DecisionId.describe("The decision whose actions to list"),
});

/** A run as the API shows it (the document in state, without its audit records: GET /v1/actions has them). */
export const RunView = RunDoc.omit({ actions: true });
export const RunPage = z.object({
  runs: z.array(RunView).describe("Latest first"),
  next_cursor: z.string().optional().describe("Absent on the last page"),
});
export const ActionList = z.object({
  decision_id: z.string(),
  run_id: z.string().optional(),
  actions: z.array(ActionRecord).describe("In the order the actions ended"),
});

const issues = (e: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }) =>
  e.issues.map((i) => `${i.path.map(String).join(".") || "query"}: ${i.message}`).join("; ");

const view = ({ actions: _actions, ...run }: RunDoc) => run;

export function runRoutes(
  app: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>,
  opts: { runs: RunStore },
): void {
  const { runs } = opts;
  app.get("/v1/runs", async (req) => {
    const q = RunQuery.safeParse(req.query ?? {});
    if (!q.success) throw new RiposteError("RIPOSTE_QUERY_INVALID", issues(q.error));
    const page = await runs.list(q.data);
    return { runs: page.runs.map(view), ...(page.next_cursor ? { next_cursor: page.next_cursor } : {}) };
  });
  app.get<{ Params: { id: string } }>("/v1/runs/:id", async (req, reply) => {
    const id = req.params.id;
    if (!/^[0-9a-f]{32}$/.test(id))
      throw new RiposteError("RIPOSTE_QUERY_INVALID", "a run id is 32 hex characters (GET /v1/runs lists them)");
    const run = await runs.get(id);
    if (run) return view(run);
    return reply.code(404).send({
      error: {
        code: "RIPOSTE_NOT_FOUND",
        message: `no run ${id}: unknown, or older than the runs' retention (7 days)`,
      },
    });
  });
  app.get("/v1/actions", async (req) => {
    const q = ActionQuery.safeParse(req.query ?? {});
    if (!q.success)
      throw new RiposteError("RIPOSTE_QUERY_INVALID", `${issues(q.error)} (GET /v1/actions?decision_id=<id>)`);
    const [run] = (await runs.list({ decision_id: q.data.decision_id, limit: 1 })).runs;
    return { decision_id: q.data.decision_id, ...(run ? { run_id: run.id } : {}), actions: run?.actions ?? [] };
  });
}
