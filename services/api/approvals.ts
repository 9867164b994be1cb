/**
 * The approvals API: `GET /v1/approvals` (pending: what each step would send and why), `POST
 * /v1/approvals/{id}/approve|deny` and `POST /v1/approvals` for many at once. The verdict is decided once in state
 * (approvals.ts) under the caller's token name, then published to `<prefix>.approvals`, which the executors consume
 * to resume the run. An already decided approval answers 409 and its verdict is published again (a publish that
 * failed before is healed by the retry; the executors run each step once whatever they see twice).
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { MAX_BATCH, type ApprovalStore, type ApprovalVerdict, type Decided } from "../executor/index.ts";
import { RiposteError, messageOf } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { principalOf } from "./principal.ts";

/** Body of `POST /v1/approvals/{id}/approve` and `/deny`. */
export const VerdictBody = z.strictObject({
  comment: z.string().trim().min(1).max(500).optional().describe("Why, for the audit record"),
});

/** Body of `POST /v1/approvals`. */
export const BatchBody = z.strictObject({
  ids: z
    .array(z.string().min(1).max(128))
    .min(1)
    .max(MAX_BATCH)
    .refine((ids) => new Set(ids).size === ids.length, "each id once")
    .describe(`The approvals to decide, 1-${MAX_BATCH}`),
  decision: z.enum(["approve", "deny"]),
  comment: z.string().trim().min(1).max(500).optional(),
});

export interface ApprovalsApi {
  readonly store: ApprovalStore;
  /** Publishes a verdict to `<prefix>.approvals` (acknowledged by the bus before the answer). */
  publish(verdict: ApprovalVerdict): Promise<void>;
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown, usage: string, empty: boolean): T {
  const text = Buffer.isBuffer(body) ? body.toString("utf8") : "";
  let parsed: unknown;
  try {
    parsed = empty && text.trim() === "" ? {} : JSON.parse(text);
  } catch (e) {
    throw new RiposteError("RIPOSTE_BODY_INVALID", `${usage}: ${messageOf(e)}`);
  }
  const r = schema.safeParse(parsed);
  if (!r.success)
    throw new RiposteError(
      "RIPOSTE_BODY_INVALID",
      `${usage}: ${r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`,
    );
  return r.data;
}

/** An attempt's answer: status and body. */
function answer(id: string, d: Decided): { status: number; body: Record<string, unknown> } {
  if (d.ok) return { status: 200, body: d.verdict };
  const err = (code: string, message: string, extra: Record<string, unknown> = {}) => ({
    error: { code, message },
    id,
    ...extra,
  });
  switch (d.reason) {
    case "unknown":
      return { status: 404, body: err("RIPOSTE_NOT_FOUND", `no approval ${id}: unknown, or resumed and forgotten`) };
    case "forbidden":
      return {
        status: 403,
        body: err("RIPOSTE_ROLE_FORBIDDEN", `this approval needs the role ${d.roles.join(" or ")} (or higher)`),
      };
    case "expired":
      return {
        status: 409,
        body: err("RIPOSTE_APPROVAL_CLOSED", `the approval expired at ${new Date(d.expires_at).toISOString()}`),
      };
    case "busy":
      return { status: 409, body: err("RIPOSTE_APPROVAL_CLOSED", "the approval is being decided right now") };
    case "decided":
      return {
        status: 409,
        body: err("RIPOSTE_APPROVAL_CLOSED", `the approval was already ${d.verdict.verdict} by ${d.verdict.by}`, {
          verdict: d.verdict,
        }),
      };
  }
}

export function approvalRoutes(
  app: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>,
  opts: { approvals: ApprovalsApi; log: Logger },
): void {
  const { store } = opts.approvals;
  const publish = (v: ApprovalVerdict) => opts.approvals.publish(v);
  const decideOne = async (req: FastifyRequest, id: string, approve: boolean, comment: string | undefined) => {
    const who = principalOf(req);
    if (!who) throw new RiposteError("RIPOSTE_AUTH_INVALID", "an API token is needed to decide approvals");
    const d = await store.decide(
      id,
      { verdict: approve ? "approved" : "denied", by: who.name, ...(comment !== undefined ? { comment } : {}) },
      who.role,
    );
    if (d.ok || d.reason === "decided") await publish(d.verdict);
    if (d.ok) opts.log.warn({ approval_id: id, verdict: d.verdict.verdict, by: who.name }, "approval decided");
    return answer(id, d);
  };
  app.get("/v1/approvals", async () => ({ approvals: await store.pending() }));
  for (const [verb, approve] of [
    ["approve", true],
    ["deny", false],
  ] as const) {
    app.post<{ Params: { id: string }; Body: Buffer }>(`/v1/approvals/:id/${verb}`, async (req, reply) => {
      const body = parseBody(VerdictBody, req.body, 'expected an empty body or {"comment": string}', true);
      const r = await decideOne(req, req.params.id, approve, body.comment);
      return reply.code(r.status).send(r.body);
    });
  }
  app.post<{ Body: Buffer }>("/v1/approvals", async (req) => {
    const body = parseBody(
      BatchBody,
      req.body,
      `expected {"ids": [1-${MAX_BATCH} approval ids], "decision": "approve"|"deny", "comment"?: string}`,
      false,
    );
    const results = [];
    for (const id of body.ids) {
      const r = await decideOne(req, id, body.decision === "approve", body.comment);
      results.push({ id, status: r.status, ...r.body });
    }
    return { results };
  });
}
