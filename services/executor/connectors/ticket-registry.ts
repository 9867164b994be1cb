/**
 * One ticket per dedup key across every executor, kept in Riposte's shared state: a claim while the ticket is being
 * opened, then the ticket's reference (the claim's result, kept 30 days). It covers what a search at the vendor
 * cannot: two decisions about one incident at the same moment (two executors would both find nothing and both
 * create), and a search index that lags behind a ticket just created (Jira's JQL search).
 */
import { randomUUID } from "node:crypto";
import { RiposteError } from "../../shared/errors.ts";
import { stateKey } from "../../shared/state/index.ts";
import type { ConnectorEnv } from "./types.ts";

/** How long a ticket's reference is remembered (the incident retention's default). */
export const TICKET_MEMORY_MS = 30 * 86_400_000;
/** How long a claim holds while its owner opens the ticket (longer than any step timeout). */
const CLAIM_MS = 120_000;

export type TicketRef = Readonly<Record<string, string>>;

export type Claimed =
  | { readonly state: "recorded"; readonly ref: TicketRef }
  | {
      readonly state: "mine";
      readonly finish: (ref: TicketRef) => Promise<void>;
      readonly abandon: () => Promise<void>;
    };

export class TicketRegistry {
  private readonly env: ConnectorEnv;
  private readonly vendor: string;

  constructor(env: ConnectorEnv, vendor: string) {
    this.env = env;
    this.vendor = vendor;
  }

  private key(dedupKey: string): string {
    return stateKey(this.env.statePrefix, `ticket:${this.vendor}:${dedupKey}`, "ticket", "v1");
  }

  /**
   * The recorded ticket, or the right to open it (`finish` records it, `abandon` lets the next one try). While
   * another executor holds the claim, a rate-limited error: nothing was sent, so the step waits and asks again.
   */
  async claim(dedupKey: string): Promise<Claimed> {
    const key = this.key(dedupKey);
    const owner = randomUUID();
    const c = await this.env.state.claim(key, owner, CLAIM_MS);
    if (c.state === "done") return { state: "recorded", ref: parse(c.result) };
    if (c.state === "held")
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_RATE_LIMITED",
        `another executor is opening the ${this.vendor} ticket for ${dedupKey}; not sent, asking again`,
        { retryAfterMs: 1_000 },
      );
    const { state } = this.env;
    return {
      state: "mine",
      finish: async (ref) => void (await state.complete(key, owner, JSON.stringify(ref), TICKET_MEMORY_MS)),
      abandon: async () => void (await state.release(key, owner).catch(() => false)),
    };
  }

  /**
   * The recorded ticket, undefined when none is recorded (read by claiming and releasing at once), or an error
   * while another executor is opening it (the answer is not known yet).
   */
  async recorded(dedupKey: string): Promise<TicketRef | undefined> {
    const c = await this.claim(dedupKey);
    if (c.state === "recorded") return c.ref;
    await c.abandon();
    return undefined;
  }
}

function parse(result: string): TicketRef {
  try {
    const v = JSON.parse(result) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v))
      return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"));
  } catch {
    // fall through
  }
  throw new RiposteError("RIPOSTE_STATE_SCRIPT", "a recorded ticket reference is not readable");
}
