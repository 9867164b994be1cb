/**
 * Containment leases. A containment step with `lease: {ttl}` holds its target (per connector action) before its
 * call, and when the call succeeds opens a lease: what was contained, by which rule and decision, and the reverse
 * action with its input. While the lease is in force no other decision contains that target with that action
 * (`skipped_lease`). When it ends (its expiry, or a release through the API) the lease scheduler runs the reverse
 * action once across every executor (lease-scheduler.ts). Everything is in shared state (`{leases}` keys), so a
 * restarted or different executor sees the same leases.
 */
import { z } from "zod";
import { Target, targetKey } from "../../schemas/index.ts";
import { RiposteError } from "../shared/errors.ts";
import { stableId } from "../shared/ids.ts";
import { leaseKeys, type LeaseKeys, type LeaseRow, type StateStore } from "../shared/state/index.ts";

/** What a lease holds, written once when it opens. */
export const LeaseDoc = z.object({
  id: z.string(),
  /** The target field it holds: `<target key>|<connector>.<action>`. */
  field: z.string(),
  target: Target,
  connector: z.string(),
  action: z.string(),
  /** The action that undoes it and its input; absent when the action declares none (the lease only expires). */
  reverse: z.object({ action: z.string(), input: z.record(z.string(), z.unknown()) }).optional(),
  rule_id: z.string().optional(),
  decision_id: z.string(),
  playbook: z.string(),
  step: z.string(),
  alert_uid: z.string(),
  /** The action id of the containment it records. */
  action_id: z.string(),
  since: z.number().int(),
  ttl_ms: z.number().int(),
});
export type LeaseDoc = z.infer<typeof LeaseDoc>;

/** How a lease ended, and how its reverse action has fared so far. */
export const LeaseEnd = z.object({
  why: z.enum(["expired", "released"]),
  at: z.number(),
  by: z.string().optional(),
  attempts: z.number().int().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** When the reverse action is tried again; absent once parked (it needs a person: release it again to retry). */
  retry_at: z.number().int().optional(),
  parked: z.boolean().optional(),
});
export type LeaseEnd = z.infer<typeof LeaseEnd>;

/** A lease as the API shows it. */
export const LeaseView = z.object({
  id: z.string(),
  status: z
    .enum(["active", "releasing", "retrying", "failed"])
    .describe(
      "active: in force; releasing: its reverse action is due or running; retrying: the reverse failed and is tried again at retry_at; failed: the reverse failed in a way a retry cannot fix (release it again once fixed)",
    ),
  target: Target,
  connector: z.string(),
  action: z.string(),
  reverse: z.string().optional().describe("The action run when the lease ends"),
  rule_id: z.string().optional(),
  decision_id: z.string(),
  playbook: z.string(),
  since: z.string().describe("ISO 8601"),
  expires: z.string().optional().describe("ISO 8601, while active"),
  ended: LeaseEnd.optional(),
});
export type LeaseView = z.infer<typeof LeaseView>;

/** Most leases one listing page returns. */
export const MAX_LEASE_PAGE = 500;

export class Leases {
  readonly keys: LeaseKeys;
  /** The clock leases are taken, extended and found due by. */
  readonly now: () => number;
  private readonly state: StateStore;

  constructor(opts: { state: StateStore; prefix: string; now?: () => number }) {
    this.state = opts.state;
    this.keys = leaseKeys(opts.prefix);
    this.now = opts.now ?? Date.now;
  }

  /** The field a lease holds: one per target and connector action. */
  static field(target: Target, connector: string, action: string): string {
    // One flat string (kept as long as the lease is), not a rope of its pieces.
    return [targetKey(target), "|", connector, ".", action].join("");
  }

  /** A lease's id: one per containment action. */
  static idOf(actionId: string): string {
    return stableId(actionId, "lease");
  }

  hold(field: string, owner: string, holdMs: number) {
    return this.state.leaseHold(this.keys, field, owner, this.now(), holdMs);
  }

  drop(field: string, owner: string): Promise<boolean> {
    return this.state.leaseDrop(this.keys, field, owner);
  }

  open(doc: LeaseDoc, owner: string): Promise<boolean> {
    const body = JSON.stringify(doc);
    return this.state.leaseOpen(this.keys, doc.field, owner, doc.id, body, doc.since, doc.since + doc.ttl_ms);
  }

  /** Pushes a lease's expiry to now + `ttlMs`; 404 unknown, 409 ended. */
  async extend(id: string, ttlMs: number): Promise<LeaseView> {
    const r = await this.state.leaseExtend(this.keys, id, this.now() + ttlMs);
    return this.after(id, r, "extended");
  }

  /** Ends a lease now: its reverse action runs at once (a parked one is tried again); 404 unknown, 409 ended. */
  async release(id: string, by: string): Promise<LeaseView> {
    const end: LeaseEnd = { why: "released", at: this.now(), by };
    const r = await this.state.leaseRelease(this.keys, id, this.now(), JSON.stringify(end));
    return this.after(id, r, "released");
  }

  private async after(id: string, r: "ok" | "unknown" | "ended", what: string): Promise<LeaseView> {
    if (r === "unknown")
      throw new RiposteError("RIPOSTE_NOT_FOUND", `no lease ${id}: unknown, or it ended and its reverse action ran`);
    const view = await this.get(id);
    if (r === "ended" || !view)
      throw new RiposteError(
        "RIPOSTE_LEASE_ENDED",
        `lease ${id} has already ended and its reverse action is due or running: it cannot be ${what}`,
      );
    return view;
  }

  async get(id: string): Promise<LeaseView | undefined> {
    const row = await this.state.leaseGet(this.keys, id);
    return row && viewOf(row);
  }

  /** A page of leases, oldest first: in force, and ended ones whose reverse action has not completed. */
  async list(offset: number, count: number): Promise<LeaseView[]> {
    const rows = await this.state.leaseList(this.keys, offset, Math.min(count, MAX_LEASE_PAGE));
    return rows.map(viewOf).filter((v): v is LeaseView => v !== undefined);
  }

  claimDue(claimMs: number, limit: number): Promise<LeaseRow[]> {
    return this.state.leaseClaim(this.keys, this.now(), claimMs, limit);
  }

  retry(id: string, atMs: number, end: LeaseEnd): Promise<void> {
    return this.state.leaseRetry(this.keys, id, atMs, JSON.stringify(end));
  }

  end(doc: Pick<LeaseDoc, "id" | "field">): Promise<void> {
    return this.state.leaseEnd(this.keys, doc.id, doc.field);
  }
}

/** A stored lease as the API shows it; undefined when its JSON is unreadable (never written by this code). */
export function viewOf(row: LeaseRow): LeaseView | undefined {
  const doc = parse(LeaseDoc, row.doc);
  if (!doc) return undefined;
  const end = row.end === undefined ? undefined : parse(LeaseEnd, row.end);
  const status: LeaseView["status"] = !end
    ? "active"
    : end.parked
      ? row.due === undefined
        ? "failed"
        : "releasing"
      : end.error && end.retry_at !== undefined
        ? "retrying"
        : "releasing";
  return {
    id: doc.id,
    status,
    target: doc.target,
    connector: doc.connector,
    action: doc.action,
    ...(doc.reverse ? { reverse: doc.reverse.action } : {}),
    ...(doc.rule_id !== undefined ? { rule_id: doc.rule_id } : {}),
    decision_id: doc.decision_id,
    playbook: doc.playbook,
    since: new Date(doc.since).toISOString(),
    ...(!end && row.due !== undefined ? { expires: new Date(row.due).toISOString() } : {}),
    ...(end ? { ended: end } : {}),
  };
}

export function parse<T>(schema: z.ZodType<T>, text: string): T | undefined {
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
