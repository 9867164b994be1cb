/**
 * Faults aimed at one route of a vendor fake (the isolate call, not the token request before it): the next request
 * whose path matches gets the reply instead of the handler's, or, with `acted`, the handler's own answer (its
 * effect happens) held back past the client's timeout.
 */
import type { Recorded, Reply } from "./http.ts";

export interface RouteFault {
  readonly path: RegExp;
  /** The answer instead of the handler's. */
  readonly reply?: Reply;
  /** The handler runs (the vendor acts) and its answer is held this long. */
  readonly actedThenDelayMs?: number;
}

export class RouteFaults {
  readonly queue: RouteFault[] = [];

  /** Adds a fault for the next matching request. */
  add(fault: RouteFault): void {
    this.queue.push(fault);
  }

  clear(): void {
    this.queue.length = 0;
  }

  /** The reply for `req`: a queued fault's, or the handler's. */
  answer(req: Recorded, handler: (req: Recorded) => Reply): Reply {
    const i = this.queue.findIndex((f) => f.path.test(req.path));
    if (i < 0) return handler(req);
    const [fault] = this.queue.splice(i, 1);
    if (fault?.actedThenDelayMs !== undefined) return { ...handler(req), delayMs: fault.actedThenDelayMs };
    return fault?.reply ?? handler(req);
  }
}

/** A 200 whose body is not JSON (a proxy's maintenance page). */
export const malformed: Reply = {
  status: 200,
  body: "<html>maintenance</html>",
  headers: { "content-type": "text/html" },
};
