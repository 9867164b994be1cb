/**
 * `purge_message`: remove every copy find_message returned, each moved to Recoverable Items (`POST .../move`
 * `{"destinationId": "recoverableitemsdeletions"}`, 201 with the new id) or permanently deleted (`POST
 * .../permanentDelete`, 204). Idempotent: a copy already gone answers 404. Every copy is tried before a failure is
 * reported, so one refused mailbox does not leave the others' copies in place.
 */
import { RiposteError, isRiposteError, messageOf } from "../../../shared/errors.ts";
import { action } from "../types.ts";
import { PurgeInput } from "./mail.ts";
import { GRAPH_REQUESTS, type GraphClient } from "./transport.ts";

/** Failures that would fail every other copy too (throttled, unreachable, a refused token). */
const STOP = new Set(["RIPOSTE_CONNECTOR_RATE_LIMITED", "RIPOSTE_CONNECTOR_TIMEOUT", "RIPOSTE_CONNECTOR_UNAVAILABLE"]);

export const purgeMessage = action({
  classification: "containment",
  idempotent: true,
  // Recoverable mode only, with the new ids this action returns; a permanent delete has no way back.
  reverse: "restore_message",
  description: "Remove every copy of a message (to Recoverable Items, or permanently)",
  input: PurgeInput,
  verify: async (client: GraphClient, { input, signal }) => {
    const left = [];
    for (const c of input.copies) if (await client.present(c, signal)) left.push(c);
    return { done: left.length === 0, response: { remaining: left, verified: true } };
  },
  run: async (client: GraphClient, { input, signal }) => {
    const results = [];
    const failures: Array<{ mailbox: string; error: RiposteError }> = [];
    for (const copy of input.copies) {
      try {
        results.push(await client.purge(copy, input.mode, signal));
      } catch (e) {
        if (signal.aborted) throw e;
        const error = isRiposteError(e) ? e : new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", messageOf(e));
        failures.push({ mailbox: copy.mailbox, error });
        // Not worth trying the other copies now: the retry (or the operator) takes them up.
        if (STOP.has(error.code) || (error.code === "RIPOSTE_CONNECTOR_AUTH" && /token/i.test(error.message))) break;
      }
    }
    if (failures.length > 0) {
      // A retriable failure wins: the retry purges what is left, and finds the rest already gone.
      const first = failures.find((f) => f.error.retriable) ?? failures[0];
      const err = first?.error as RiposteError;
      throw new RiposteError(
        err.code,
        `Graph purge_message: ${failures.length} of ${input.copies.length} copies not removed (${results.length} done): ${failures
          .slice(0, 5)
          .map((f) => `${f.mailbox}: ${f.error.message}`)
          .join("; ")}`,
        err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs },
      );
    }
    return {
      mode: input.mode,
      copies: results,
      removed: results.filter((r) => r.result !== "already_gone").length,
      already_gone: results.filter((r) => r.result === "already_gone").length,
    };
  },
  preview: (input) =>
    input.copies.map((c) =>
      input.mode === "permanent"
        ? GRAPH_REQUESTS.permanentDelete(c.mailbox, c.message_id)
        : GRAPH_REQUESTS.moveToRecoverable(c.mailbox, c.message_id),
    ),
});
