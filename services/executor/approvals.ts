/**
 * Approval gates in shared state. A step with an approval gate does not run: the executor stores a pending approval
 * (what the step would send and why) and the run stops there. Whoever decides — an approver through the API, or
 * the executors' expiry sweep — first wins a claim on the approval's decision key (`claim` + `complete`, the
 * ledger's once machinery), so an approval is decided exactly once whatever races it. The verdict is then copied
 * into the approval's document and published to `<prefix>.approvals`; the executors consume it and resume the run
 * from the gated step, each step again effectively once through its action claim. The sweep (one executor at a
 * time, under a state lock) expires approvals and resumes any verdict whose record never reached the topic, so a run
 * never waits silently: it survives executor and API restarts.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { AlertRef, Decision, RuleRef, type PlaybookFile } from "../../schemas/index.ts";
import { ROLES, atLeast, type Role } from "../shared/roles.ts";
import type { StateStore } from "../shared/state/index.ts";

/** How long an approval's documents are kept after it expires (the API and a late sweep can still read them). */
const RETAIN_MS = 7 * 86_400_000;
/** TTL of the claim a decider holds while it records a verdict. */
const DECIDE_CLAIM_MS = 10_000;

/** Approvals decided at once by `POST /v1/approvals`, at most. */
export const MAX_BATCH = 100;

/** A step waiting for approval: what it would do, why, and until when. */
export const PendingApproval = z.object({
  id: z.string(),
  decision: Decision,
  /** The playbook as the run started (a run keeps its version): id, version and steps, durations in ms. */
  playbook: z.looseObject({ id: z.string(), version: z.number().int(), steps: z.array(z.looseObject({})) }),
  step_index: z.number().int().min(0),
  step: z.string(),
  connector: z.string(),
  action: z.string(),
  classification: z.string(),
  roles: z.array(z.enum(ROLES)).min(1),
  on_expiry: z.enum(["deny", "proceed"]),
  /** The request the step would send: its rendered params and, where the connector can tell, the vendor requests. */
  plan: z.record(z.string(), z.unknown()),
  why: z.object({ rule: RuleRef.optional(), alert: AlertRef, reason: z.string().optional() }),
  requested_at: z.number().int(),
  expires_at: z.number().int(),
  /** The trace context of the run that asked (W3C headers): the wait's span and the resumed run continue it. */
  trace: z.record(z.string(), z.string()).optional(),
});
export type PendingApproval = z.infer<typeof PendingApproval>;

/** How an approval was decided: by a token's name, or by `expiry`. */
export const ApprovalVerdict = z.object({
  id: z.string(),
  verdict: z.enum(["approved", "denied", "expired"]),
  by: z.string(),
  at: z.number().int(),
  comment: z.string().max(500).optional(),
});
export type ApprovalVerdict = z.infer<typeof ApprovalVerdict>;

/** What an attempt at deciding got. */
export type Decided =
  | { readonly ok: true; readonly verdict: ApprovalVerdict }
  | { readonly ok: false; readonly reason: "unknown" }
  | { readonly ok: false; readonly reason: "forbidden"; readonly roles: readonly Role[] }
  | { readonly ok: false; readonly reason: "expired"; readonly expires_at: number }
  | { readonly ok: false; readonly reason: "busy" }
  | { readonly ok: false; readonly reason: "decided"; readonly verdict: ApprovalVerdict };

export interface ApprovalDoc {
  readonly pending: PendingApproval;
  readonly verdict: ApprovalVerdict | undefined;
  readonly resumed: boolean;
}

/** The playbook a pending approval's run started with. */
export function playbookOf(p: PendingApproval): PlaybookFile {
  // Stored from a parsed PlaybookFile (durations already in ms), so it is not parsed again.
  return p.playbook as unknown as PlaybookFile;
}

export class ApprovalStore {
  private readonly state: StateStore;
  private readonly prefix: string;
  private readonly now: () => number;

  constructor(opts: { state: StateStore; prefix: string; now?: () => number }) {
    this.state = opts.state;
    this.prefix = opts.prefix;
    this.now = opts.now ?? Date.now;
  }

  private readonly index = () => `${this.prefix}:{approvals}:index`;
  private readonly version = () => `${this.prefix}:{approvals}:version`;
  private readonly doc = (id: string) => `${this.prefix}:{approval:${id}}:doc`;
  private readonly decideKey = (id: string) => `${this.prefix}:{approval:${id}}:decide`;
  /** The lock the expiry sweep runs under (one executor at a time). */
  readonly sweepLock = () => `${this.prefix}:{approvals}:sweep`;

  /** Stores a pending approval (again: the same id keeps its first document) and lists it. */
  async request(p: PendingApproval): Promise<void> {
    const ttl = Math.max(1, p.expires_at - this.now()) + RETAIN_MS;
    if ((await this.state.lookup(this.doc(p.id), "pending")) === undefined)
      await this.state.record(this.doc(p.id), "pending", JSON.stringify(p), ttl);
    await this.state.listAdd(this.index(), [{ value: p.id, expires: p.expires_at + RETAIN_MS }], this.now());
  }

  async get(id: string): Promise<ApprovalDoc | undefined> {
    const key = this.doc(id);
    const [pending, verdict, resumed] = await Promise.all([
      this.state.lookup(key, "pending"),
      this.state.lookup(key, "verdict"),
      this.state.lookup(key, "resumed"),
    ]);
    if (pending === undefined) return undefined;
    return {
      pending: PendingApproval.parse(JSON.parse(pending)),
      verdict: verdict === undefined ? undefined : ApprovalVerdict.parse(JSON.parse(verdict)),
      resumed: resumed !== undefined,
    };
  }

  /** Every listed approval whose run has not resumed yet (decided or not), oldest request first. */
  async open(): Promise<ApprovalDoc[]> {
    const { entries } = await this.state.listRead(this.index(), this.version(), this.now());
    const docs = await Promise.all(entries.map((e) => this.get(e.value)));
    return docs
      .filter((d): d is ApprovalDoc => d !== undefined && !d.resumed)
      .sort((a, b) => a.pending.requested_at - b.pending.requested_at || a.pending.id.localeCompare(b.pending.id));
  }

  /** The approvals waiting for a verdict. */
  async pending(): Promise<PendingApproval[]> {
    return (await this.open()).filter((d) => d.verdict === undefined).map((d) => d.pending);
  }

  /**
   * Decides an approval once: the first decider to claim its decision key records the verdict; anyone after gets
   * `decided` with the verdict in force. An approver cannot decide an approval past its expiry (the sweep records
   * it as expired) or one whose gate names higher roles than theirs.
   */
  async decide(
    id: string,
    verdict: Omit<ApprovalVerdict, "id" | "at">,
    role: Role | undefined = undefined,
  ): Promise<Decided> {
    const doc = await this.get(id);
    if (!doc) return { ok: false, reason: "unknown" };
    if (doc.verdict) return { ok: false, reason: "decided", verdict: doc.verdict };
    const least = doc.pending.roles.reduce((a, b) => (atLeast(a, b) ? b : a));
    if (role !== undefined && !atLeast(role, least))
      return { ok: false, reason: "forbidden", roles: doc.pending.roles };
    const at = this.now();
    if (verdict.verdict !== "expired" && at >= doc.pending.expires_at)
      return { ok: false, reason: "expired", expires_at: doc.pending.expires_at };
    const key = this.decideKey(id);
    const owner = randomUUID();
    const claimed = await this.state.claim(key, owner, DECIDE_CLAIM_MS);
    if (claimed.state === "held") return { ok: false, reason: "busy" };
    if (claimed.state === "done") {
      // Decided by another whose copy into the document did not happen: copy it now.
      const earlier = ApprovalVerdict.parse(JSON.parse(claimed.result));
      await this.state.record(this.doc(id), "verdict", claimed.result, RETAIN_MS);
      return { ok: false, reason: "decided", verdict: earlier };
    }
    const full: ApprovalVerdict = { id, at, ...verdict };
    const text = JSON.stringify(full);
    const ttl = Math.max(1, doc.pending.expires_at - at) + RETAIN_MS;
    if (!(await this.state.complete(key, owner, text, ttl))) return { ok: false, reason: "busy" };
    await this.state.record(this.doc(id), "verdict", text, RETAIN_MS);
    return { ok: true, verdict: full };
  }

  /** Marks an approval's run as resumed after its verdict (the sweep leaves it alone from then on). */
  async markResumed(id: string): Promise<void> {
    await this.state.record(this.doc(id), "resumed", String(this.now()), RETAIN_MS);
  }
}
