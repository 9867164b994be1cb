/**
 * The containment and guards API: `GET /v1/containment` (leases in force and ending, with their reverse action's
 * progress), `POST /v1/containment/{id}/extend` and `/release` (analyst), and `GET /v1/guards` (every budget with
 * its use, the kill switch, rate limits, breakers). Leases live in shared state (services/executor/leases.ts); a
 * release makes the lease due at once, and the executors' lease scheduler runs its reverse action once.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { parseDuration } from "../../schemas/duration.ts";
import type { GuardsView } from "../executor/guards.ts";
import { MAX_LEASE_PAGE, type Leases } from "../executor/leases.ts";
import { RiposteError, messageOf } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { principalOf } from "./principal.ts";

/** The longest a lease may be extended by at once. */
const MAX_EXTEND_MS = 30 * 86_400_000;

/** Body of `POST /v1/containment/{id}/extend`. */
export const ExtendBody = z.strictObject({
  ttl: z
    .string()
    .max(16)
    .refine((s) => {
      const ms = parseDuration(s);
      return ms !== undefined && ms <= MAX_EXTEND_MS;
    }, "a duration from 1ms to 30d, like 2h")
    .describe("The lease is in force this long from now (500ms, 30s, 5m, 2h, 7d; at most 30d)"),
});

/** Body of `POST /v1/containment/{id}/release`. */
export const ReleaseBody = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional().describe("Why, for the audit record"),
});

/** Query of `GET /v1/containment`. */
export const ContainmentQuery = z.strictObject({
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_LEASE_PAGE).default(100),
});

export interface ContainmentApi {
  readonly leases: Leases;
  /** The guards in force, with their use (the executor's Guards). */
  readonly guards: () => Promise<GuardsView>;
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown, usage: string): T {
  const text = Buffer.isBuffer(body) ? body.toString("utf8") : "";
  let parsed: unknown;
  try {
    parsed = text.trim() === "" ? {} : JSON.parse(text);
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

const LEASE_ID = /^[A-Za-z0-9_-]{1,128}$/;

function leaseId(id: string): string {
  if (!LEASE_ID.test(id))
    throw new RiposteError("RIPOSTE_QUERY_INVALID", "a lease id is 1-128 letters, digits, '_' or '-'");
  return id;
}

export function containmentRoutes(
  app: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>,
  opts: { containment: ContainmentApi; log: Logger },
): void {
  const { leases } = opts.containment;
  app.get("/v1/containment", async (req) => {
    const q = ContainmentQuery.safeParse(req.query ?? {});
    if (!q.success)
      throw new RiposteError(
        "RIPOSTE_QUERY_INVALID",
        `expected ?offset=N&limit=1-${MAX_LEASE_PAGE}: ${q.error.message}`,
      );
    const page = await leases.list(q.data.offset, q.data.limit);
    return {
      leases: page,
      ...(page.length === q.data.limit ? { next_offset: q.data.offset + page.length } : {}),
    };
  });
  app.post<{ Params: { id: string }; Body: Buffer }>("/v1/containment/:id/extend", async (req) => {
    const body = parseBody(ExtendBody, req.body, 'expected {"ttl": a duration like "2h"}');
    const lease = await leases.extend(leaseId(req.params.id), parseDuration(body.ttl) as number);
    opts.log.warn({ lease_id: lease.id, expires: lease.expires, by: principalOf(req)?.name }, "lease extended");
    return lease;
  });
  app.post<{ Params: { id: string }; Body: Buffer }>("/v1/containment/:id/release", async (req) => {
    const body = parseBody(ReleaseBody, req.body, 'expected an empty body or {"reason": string}');
    const by = principalOf(req)?.name ?? "api";
    const lease = await leases.release(leaseId(req.params.id), by);
    opts.log.warn({ lease_id: lease.id, by, reason: body.reason }, "lease released: its reverse action runs now");
    return lease;
  });
  app.get("/v1/guards", async () => opts.containment.guards());
}
