/**
 * The API's OpenAPI 3.1 description, built from zod schemas: the request schemas the handlers validate with and
 * response schemas of what they send. Served at `GET /openapi.json`; `GET /docs` renders it as a page that needs
 * nothing from the network. `test/openapi.test.ts` checks that every route the API registers is described here.
 */
import { z } from "zod";
import { Incident } from "../../schemas/index.ts";
import { IncidentPage, IncidentPatch, IncidentQuery, IncidentTimeline } from "./incident-schemas.ts";
import { ApprovalVerdict, PendingApproval } from "../executor/index.ts";
import type { Role } from "../shared/roles.ts";
import { BatchBody, VerdictBody } from "./approvals.ts";
import { ActionList, ActionQuery, RunPage, RunQuery, RunView } from "./runs.ts";
import { ContainmentQuery, ExtendBody, ReleaseBody } from "./containment.ts";
import { LeaseView } from "../executor/leases.ts";

/** Body of `POST /v1/dlq/replay`; the handler validates with this schema. */
export const ReplayArgs = z.strictObject({
  code: z
    .string()
    .regex(/^[A-Z0-9_]{1,64}$/, "an error code like RIPOSTE_FORMAT_UNKNOWN")
    .optional()
    .describe("Only records with this error code"),
  since: z.string().max(64).optional().describe("Only records written at or after this ISO 8601 time"),
  dry_run: z.boolean().optional().describe("Classify only: nothing is published or taken off the DLQ"),
  from_beginning: z.boolean().optional().describe("Scan the whole DLQ, also records replayed before"),
});

const IncidentId = { id: { schema: z.string().min(1).max(128), description: "The incident's id (32 hex digits)" } };

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe("A RIPOSTE_* code from the error catalogue"),
    message: z.string().describe("What went wrong and what to do"),
  }),
});

const IngestItem = z.object({
  index: z.number().int(),
  status: z.enum(["normalized", "dead_lettered", "failed"]),
  uid: z.string().optional(),
  entity_key: z.string().optional(),
  format: z.string().optional(),
  code: z.string().optional(),
  reason: z.string().optional(),
});

export const IngestResultBody = z.object({
  accepted: z.number().int().describe("Events taken in; each ends normalized or dead-lettered"),
  normalized: z.number().int(),
  dead_lettered: z.number().int(),
  failed: z.record(z.string(), z.number().int()).describe("Events that did not normalize, by error code"),
  trace_id: z.string(),
  items: z.array(IngestItem).describe("Per-event results, the first 500"),
  items_omitted: z.number().int(),
});

export const ReplayReportBody = z.object({
  scanned: z.number().int(),
  replayed: z.number().int(),
  still_failing: z.record(z.string(), z.number().int()),
  skipped_other_stages: z.number().int(),
  unreadable: z.number().int(),
});

const Stats = z.object({ counters: z.record(z.string(), z.number()) });

const ReloadResultBody = z.object({
  at: z.number().int(),
  trigger: z.string(),
  ok: z.boolean(),
  rules: z.number().int().optional(),
  errors: z.array(z.string()).optional(),
});
const RulesStatusBody = z.object({
  loaded_at: z.number().int(),
  last_reload: ReloadResultBody.optional(),
  rules: z.array(
    z.object({
      id: z.string(),
      version: z.number().int(),
      hash: z.string(),
      file: z.string(),
      name: z.string(),
      hits: z.number().int(),
    }),
  ),
});

/** Body of `PUT /v1/guards/kill-switch`. */
export const KillSwitchBody = z.strictObject({
  on: z.boolean().describe("true pauses every containment action in every executor"),
  reason: z.string().max(500).optional(),
});
const KillSwitchState = z.looseObject({ on: z.boolean() });

const GuardsBody = z.object({
  budgets: z.array(
    z.object({
      budget: z.string().describe("As configured (RIPOSTE_BUDGETS)"),
      what: z.string(),
      scope: z.string().describe("global, or rule:<id> (a rule's own budget, or its place in a rule:* budget)"),
      limit: z.number().int(),
      window: z.string(),
      used: z.number().int().describe("Actions admitted within the window now"),
    }),
  ),
  kill_switch: z.object({
    on: z.boolean(),
    config: z.boolean().describe("RIPOSTE_KILL_SWITCH=on (only a configuration change lifts it)"),
    api: z.object({
      on: z.boolean(),
      reason: z.string().optional(),
      by: z.string().optional().describe("The token that set it"),
      since: z.number().int().optional(),
    }),
  }),
  rate_limits: z.array(z.object({ connector: z.string(), requests: z.number().int(), per: z.string() })),
  breakers: z.array(
    z.object({
      connector: z.string(),
      failures: z.number().int(),
      open_for: z.string(),
      state: z
        .record(z.string(), z.enum(["closed", "open", "half_open"]))
        .describe("Each connector's breaker as this process sees it (breakers are per process)"),
    }),
  ),
  max_decision_age: z.string(),
});
const LeaseId = { id: { schema: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/), description: "The lease's id" } };

const TrailEntry = z.looseObject({
  stage: z.enum(["received", "decision", "action"]),
  time: z.number().int(),
  trace_id: z.string().optional(),
});
const TrailView = z.object({
  alert_id: z.string(),
  received: z.array(TrailEntry).describe("Each time the alert was received: source, format, OCSF class, entity"),
  decisions: z
    .array(TrailEntry.extend({ actions: z.array(TrailEntry) }))
    .describe("What the correlator decided (rule id, version, hash; outcome), with the actions taken for each"),
  other_actions: z.array(TrailEntry),
  trace_ids: z.array(z.string()).describe("The traces that tell this alert's story"),
});
const Health = z.looseObject({ status: z.literal("ok") });

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** One documented operation. `path` is in OpenAPI form (`/v1/alerts/{source}`). */
export interface RouteDoc {
  readonly method: Method;
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly auth?: boolean;
  /** The least role a token needs (default: viewer for GET, admin for anything else). */
  readonly role?: Role;
  /** The action an audit record on `<prefix>.audit` names for this write (every write has one). */
  readonly audit?: string;
  readonly params?: Record<string, { schema: z.ZodType; description: string }>;
  readonly query?: Record<string, { schema: z.ZodType; description: string }>;
  readonly body?: { schema?: z.ZodType; contentTypes: readonly string[]; description: string };
  readonly responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
}

const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [s, { description: ERROR_TEXT[s] ?? "Error", schema: ErrorBody }]),
  ) as RouteDoc["responses"];

/**
 * The query parameters of a handler's query schema, each described by `describe`, else by its schema's own
 * description, else by its name.
 */
const queryOf = (
  schema: z.ZodObject,
  describe: Readonly<Record<string, string>> = {},
): NonNullable<RouteDoc["query"]> =>
  Object.fromEntries(
    Object.entries(schema.shape).map(([name, s]) => [
      name,
      { schema: s as z.ZodType, description: describe[name] ?? (s as z.ZodType).description ?? name },
    ]),
  );

const ERROR_TEXT: Record<number, string> = {
  400: "Malformed request (RIPOSTE_BODY_INVALID, RIPOSTE_QUERY_INVALID, RIPOSTE_SOURCE_INVALID, RIPOSTE_URL_INVALID)",
  401: "Missing or invalid token or signature (RIPOSTE_AUTH_*, RIPOSTE_SIGNATURE_*)",
  403: "The token's role may not do this (RIPOSTE_ROLE_FORBIDDEN)",
  404: "Unknown route or object",
  409: "Conflict (RIPOSTE_REPLAY_BUSY: another replay is running; RIPOSTE_INCIDENT_MERGED: change the incident it was merged into; RIPOSTE_APPROVAL_CLOSED: the approval expired or was already decided; RIPOSTE_LEASE_ENDED: the lease has ended and its reverse action is due or running)",
  413: "Body too large (RIPOSTE_BODY_TOO_LARGE, RIPOSTE_TOO_MANY_EVENTS)",
  414: "URL too long",
  415: "Unsupported Content-Encoding",
  422: "Nothing in the body normalized; the reasons are in items",
  503: "Kafka or Redis unavailable, or the write could not be audited (RIPOSTE_AUDIT_UNAVAILABLE); retry after Retry-After",
};

/** Every operation the API serves. */
export const ROUTES: readonly RouteDoc[] = [
  {
    method: "GET",
    path: "/healthz",
    summary: "Liveness",
    tag: "operations",
    auth: false,
    responses: { 200: { description: "The service is up", schema: Health } },
  },
  {
    method: "GET",
    path: "/v1/stats",
    summary: "Counters of this process",
    tag: "operations",
    responses: { 200: { description: "Counters by name", schema: Stats }, ...errors(401) },
  },
  {
    method: "GET",
    path: "/metrics",
    summary: "Prometheus metrics",
    description: "Counters, labelled series, MTTD/MTTR and latency histograms, consumer lag (Prometheus text format).",
    tag: "operations",
    responses: {
      200: { description: "Prometheus text exposition", contentType: "text/plain; version=0.0.4" },
      ...errors(401),
    },
  },
  {
    method: "POST",
    path: "/v1/alerts/{source}",
    summary: "Ingest alerts",
    description:
      "A JSON object, a JSON array, NDJSON or text lines (syslog, CEF, LEEF), optionally gzip. Answers 202 once every event is durable (published or dead-lettered).",
    tag: "ingest",
    role: "analyst",
    params: {
      source: {
        schema: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
        description: "Source name: 1-64 letters, digits, '.', '_' or '-' (bound to formats by RIPOSTE_SOURCE_FORMATS)",
      },
    },
    query: {
      format: {
        schema: z.string().max(64),
        description: "The format to apply instead of detection, e.g. suricata_eve",
      },
    },
    body: {
      contentTypes: ["application/json", "application/x-ndjson", "text/plain"],
      description: "Vendor alerts; an `X-Riposte-Signature: t=...,v1=...` HMAC header when the source is signed",
    },
    responses: {
      202: { description: "Accepted: every event is durable", schema: IngestResultBody },
      ...errors(400, 401, 413, 414, 415, 422, 503),
    },
  },
  {
    method: "POST",
    path: "/v1/dlq/replay",
    summary: "Replay dead-lettered alerts",
    description: "Normalizes DLQ records again (after a normalizer or binding fix); one replay at a time.",
    tag: "dlq",
    role: "analyst",
    audit: "dlq.replay",
    body: { schema: ReplayArgs, contentTypes: ["application/json"], description: "What to replay" },
    responses: {
      200: { description: "What the replay did", schema: ReplayReportBody },
      ...errors(400, 401, 403, 409, 503),
    },
  },
  {
    method: "GET",
    path: "/v1/alerts/{id}/trail",
    summary: "What happened to an alert",
    description:
      "Received (format, class, entity), decisions (rules matched with versions, outcome), and each action (result, latency, trace id). Kept for RIPOSTE_TRAIL_RETENTION.",
    tag: "alerts",
    params: { id: { schema: z.string().min(1).max(512), description: "The alert's id (finding uid, vendor uid)" } },
    responses: { 200: { description: "The alert's trail", schema: TrailView }, ...errors(401, 404, 503) },
  },
  {
    method: "GET",
    path: "/v1/incidents",
    summary: "Incidents, latest activity first",
    description:
      "Alerts and decisions about linked entities within RIPOSTE_INCIDENT_WINDOW, grouped by the correlator. Filters combine; a page scans at most 2,000 incidents, so a page may come back short with a next_cursor.",
    tag: "incidents",
    query: queryOf(IncidentQuery),
    responses: { 200: { description: "A page of incidents", schema: IncidentPage }, ...errors(400, 401, 503) },
  },
  {
    method: "GET",
    path: "/v1/incidents/{id}",
    summary: "One incident",
    tag: "incidents",
    params: IncidentId,
    responses: { 200: { description: "The incident", schema: Incident }, ...errors(400, 401, 404, 503) },
  },
  {
    method: "PATCH",
    path: "/v1/incidents/{id}",
    summary: "Change an incident's status or assignee, or add a note",
    description:
      "Who (the token's name) and when are recorded in the incident's history (status, assignee) or notes; the change is published to <prefix>.incidents.",
    tag: "incidents",
    role: "analyst",
    audit: "incident.update",
    params: IncidentId,
    body: { schema: IncidentPatch, contentTypes: ["application/json"], description: "status, assignee, note" },
    responses: {
      200: { description: "The incident changed", schema: Incident },
      ...errors(400, 401, 403, 404, 409, 503),
    },
  },
  {
    method: "GET",
    path: "/v1/incidents/{id}/timeline",
    summary: "What happened in an incident, in time order",
    description:
      "Its alerts as received and the actions of its playbook runs (from the alert trails, RIPOSTE_TRAIL_RETENTION), its decisions, status and assignee changes, merges and notes.",
    tag: "incidents",
    params: IncidentId,
    responses: { 200: { description: "The timeline", schema: IncidentTimeline }, ...errors(400, 401, 404, 503) },
  },
  {
    method: "GET",
    path: "/v1/runs",
    summary: "Playbook runs, latest first",
    description:
      "Each run of a decision's playbook: the playbook id, version and hash it started with, its status (running, waiting_approval, paused; succeeded, failed, denied, aborted, rolled_back, rollback_failed, held) and each step's state. A page scans at most 2,000 runs, so a page may come back short with a next_cursor.",
    tag: "runs",
    query: queryOf(RunQuery),
    responses: { 200: { description: "A page of runs", schema: RunPage }, ...errors(400, 401, 503) },
  },
  {
    method: "GET",
    path: "/v1/runs/{id}",
    summary: "One playbook run",
    description:
      "The run with each step's state and status, attempts, result (output), error, latency, trace id and for_each items; the approval it waits for or passed; its rollback.",
    tag: "runs",
    params: { id: { schema: z.string().regex(/^[0-9a-f]{32}$/), description: "The run's id (GET /v1/runs)" } },
    responses: { 200: { description: "The run", schema: RunView }, ...errors(400, 401, 404, 503) },
  },
  {
    method: "GET",
    path: "/v1/actions",
    summary: "The audit records of a decision's actions",
    description:
      "What each action of the decision's run did (also those held back by a guard, waiting for or denied approval), in the order they ended, each naming the playbook id, version and hash.",
    tag: "runs",
    query: {
      decision_id: { schema: ActionQuery.shape.decision_id, description: "The decision whose actions to list" },
    },
    responses: { 200: { description: "The decision's audit records", schema: ActionList }, ...errors(400, 401, 503) },
  },
  {
    method: "GET",
    path: "/v1/rules",
    summary: "The loaded rule set",
    description:
      "Each rule's id, version, content hash, file and hit count; when the set was loaded; the last reload and its result.",
    tag: "rules",
    responses: { 200: { description: "The rule set in force", schema: RulesStatusBody }, ...errors(401, 404) },
  },
  {
    method: "POST",
    path: "/v1/rules/reload",
    summary: "Reload the rules directory",
    description:
      "Swaps the whole set between batches when it is valid; a broken set is refused (422, with its errors) and the running set stays. On the distributed API service the reload is requested from every correlator (202).",
    tag: "rules",
    role: "admin",
    audit: "rules.reload",
    responses: {
      200: { description: "Reloaded", schema: ReloadResultBody },
      202: { description: "Requested from the correlators", schema: z.object({ requested_at: z.number().int() }) },
      ...errors(401, 403, 422),
    },
  },
  {
    method: "GET",
    path: "/v1/guards/kill-switch",
    summary: "The containment kill switch",
    tag: "guards",
    responses: { 200: { description: "Whether containment is paused", schema: KillSwitchState }, ...errors(401) },
  },
  {
    method: "PUT",
    path: "/v1/guards/kill-switch",
    summary: "Pause or resume all containment",
    description: "Enrichment, notification and tickets go on while containment is paused.",
    tag: "guards",
    role: "admin",
    audit: "guards.kill_switch",
    body: { schema: KillSwitchBody, contentTypes: ["application/json"], description: "on, and why" },
    responses: { 200: { description: "The new state", schema: KillSwitchState }, ...errors(400, 401, 403, 503) },
  },
  {
    method: "GET",
    path: "/v1/guards",
    summary: "Every guard and its use",
    description:
      "Each budget with its limit, window and current use (per rule for rule:* budgets), the kill switch (reason, who, since), the rate limits and the circuit breakers.",
    tag: "guards",
    responses: { 200: { description: "The guards in force", schema: GuardsBody }, ...errors(401, 503) },
  },
  {
    method: "GET",
    path: "/v1/containment",
    summary: "Containment leases",
    description:
      "Leases in force (target, action, rule, decision, since, expires) and ended ones whose reverse action has not completed yet (releasing, retrying with its error, or failed: parked until released again). Oldest first.",
    tag: "containment",
    query: queryOf(ContainmentQuery, { offset: "Leases to skip", limit: "Page size (at most 500)" }),
    responses: {
      200: {
        description: "A page of leases; next_offset when there may be more",
        schema: z.object({ leases: z.array(LeaseView), next_offset: z.number().int().optional() }),
      },
      ...errors(400, 401, 503),
    },
  },
  {
    method: "POST",
    path: "/v1/containment/{id}/extend",
    summary: "Extend a lease",
    description: "The lease stays in force for ttl from now; its reverse action runs then.",
    tag: "containment",
    role: "analyst",
    audit: "containment.extend",
    params: LeaseId,
    body: { schema: ExtendBody, contentTypes: ["application/json"], description: "ttl" },
    responses: {
      200: { description: "The lease with its new expiry", schema: LeaseView },
      ...errors(400, 401, 403, 404, 409, 503),
    },
  },
  {
    method: "POST",
    path: "/v1/containment/{id}/release",
    summary: "Release a lease now",
    description:
      "Ends the lease: its reverse action (lift containment, unblock, unsuspend) runs at once, once, whichever executor runs it. A lease whose reverse action failed and was parked is tried again.",
    tag: "containment",
    role: "analyst",
    audit: "containment.release",
    params: LeaseId,
    body: { schema: ReleaseBody, contentTypes: ["application/json"], description: "An optional reason" },
    responses: {
      200: { description: "The lease, releasing", schema: LeaseView },
      ...errors(400, 401, 403, 404, 409, 503),
    },
  },
  {
    method: "GET",
    path: "/v1/approvals",
    summary: "Steps waiting for approval",
    description:
      "Each pending approval: the decision and playbook (id, version), the step, what it would send (its rendered request and, where the connector can tell, the vendor requests), why (rule, alert), the roles that may approve it, when it was requested and when it expires (and what happens then: on_expiry).",
    tag: "approvals",
    responses: {
      200: {
        description: "Pending approvals, oldest first",
        schema: z.object({ approvals: z.array(PendingApproval) }),
      },
      ...errors(401, 503),
    },
  },
  ...(["approve", "deny"] as const).map((verb): RouteDoc => ({
    method: "POST",
    path: `/v1/approvals/{id}/${verb}`,
    summary: verb === "approve" ? "Approve a waiting step" : "Deny a waiting step",
    description:
      verb === "approve"
        ? "The step and the rest of the playbook after it run (once, whichever executor resumes it); the token's name is the approver in the step's audit record."
        : "The step is recorded denied and the rest of the playbook is skipped.",
    tag: "approvals",
    role: "approver",
    audit: `approval.${verb}`,
    params: { id: { schema: z.string().min(1).max(128), description: "The approval's id (GET /v1/approvals)" } },
    body: { schema: VerdictBody, contentTypes: ["application/json"], description: "An optional comment" },
    responses: {
      200: { description: "Decided", schema: ApprovalVerdict },
      ...errors(400, 401, 403, 404, 409, 503),
    },
  })),
  {
    method: "POST",
    path: "/v1/approvals",
    summary: "Approve or deny many waiting steps",
    description: "Each id is decided as if on its own route; the answer lists each one's status (200, 403, 404, 409).",
    tag: "approvals",
    role: "approver",
    audit: "approval.batch",
    body: { schema: BatchBody, contentTypes: ["application/json"], description: "ids, decision, comment" },
    responses: {
      200: {
        description: "One result per id",
        schema: z.object({ results: z.array(z.looseObject({ id: z.string(), status: z.number().int() })) }),
      },
      ...errors(400, 401, 403, 503),
    },
  },
  {
    method: "GET",
    path: "/v1/edl/{name}",
    summary: "An external dynamic list for firewalls",
    description:
      "The IP addresses and CIDR blocks the edl connector's block_ip listed and that have not expired or been unblocked: text/plain, one a line (PAN-OS, FortiGate and Check Point poll it). Read with the API token or the list's token (RIPOSTE_EDL_TOKENS), as a bearer token or as the password of HTTP basic auth (any user name). A list nothing was ever listed on is empty.",
    tag: "edl",
    params: {
      name: {
        schema: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/),
        description: "The list's name (the block_ip step's list param; default block)",
      },
    },
    responses: {
      200: { description: "One IP address or CIDR block a line", contentType: "text/plain; charset=utf-8" },
      ...errors(400, 401, 503),
    },
  },
  {
    method: "GET",
    path: "/openapi.json",
    summary: "This description",
    tag: "operations",
    responses: { 200: { description: "OpenAPI 3.1 document" }, ...errors(401) },
  },
  {
    method: "GET",
    path: "/docs",
    summary: "This description as a page",
    tag: "operations",
    responses: { 200: { description: "HTML", contentType: "text/html" }, ...errors(401) },
  },
];

/** Fastify's route form (`/v1/alerts/:source`) of an OpenAPI path. */
export const fastifyPath = (path: string) => path.replace(/\{(\w+)\}/g, ":$1");

const schemaOf = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });

/** The OpenAPI document of `routes` (by default every documented route). */
export function openApiDocument(routes: readonly RouteDoc[] = ROUTES, version = "0.1.0"): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters = [
      ...Object.entries(r.params ?? {}).map(([name, p]) => ({
        name,
        in: "path",
        required: true,
        description: p.description,
        schema: schemaOf(p.schema),
      })),
      ...Object.entries(r.query ?? {}).map(([name, p]) => ({
        name,
        in: "query",
        required: false,
        description: p.description,
        schema: schemaOf(p.schema),
      })),
    ];
    const responses = Object.fromEntries(
      Object.entries(r.responses).map(([status, res]) => [
        status,
        {
          description: res.description,
          ...(res.schema || res.contentType
            ? {
                content: {
                  [res.contentType ?? "application/json"]: res.schema ? { schema: schemaOf(res.schema) } : {},
                },
              }
            : {}),
        },
      ]),
    );
    (paths[r.path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      security: r.auth === false ? [] : [{ bearer: [] }],
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: false,
              description: r.body.description,
              content: Object.fromEntries(
                r.body.contentTypes.map((t) => [t, r.body?.schema ? { schema: schemaOf(r.body.schema) } : {}]),
              ),
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Riposte API",
      version,
      description:
        "Ingest, replay, metrics and the response engine's state. Every route but /healthz needs a bearer token.",
    },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

/** A self-contained page listing every operation (no scripts, nothing loaded from the network). */
export function docsPage(routes: readonly RouteDoc[] = ROUTES): string {
  const rows = routes
    .map(
      (r) =>
        `<section><h2><code>${r.method} ${escapeHtml(r.path)}</code></h2><p><b>${escapeHtml(r.summary)}</b>${
          r.auth === false ? " (no token)" : ""
        }</p>${r.description ? `<p>${escapeHtml(r.description)}</p>` : ""}<ul>${Object.entries(r.responses)
          .map(([s, res]) => `<li><code>${s}</code> ${escapeHtml(res.description)}</li>`)
          .join("")}</ul></section>`,
    )
    .join("\n");
  return `<!doctype html><html><head><meta charset="utf-8"><title>Riposte API</title><style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}code{background:#f4f4f4;padding:0 .2rem}section{border-top:1px solid #ddd}</style></head><body><h1>Riposte API</h1><p>The machine-readable description is <a href="/openapi.json">/openapi.json</a>.</p>\n${rows}\n</body></html>`;
}
