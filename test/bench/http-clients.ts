/**
 * The fetch clients of the ingest.http row (http-ingest.ts) in a child process of their own, so that their HTTP and
 * JSON work runs on another core than the ingest server being measured, as real senders would, and the server
 * process's CPU figure is the server's alone. The parent sends the plan over IPC; the child warms up, says so, waits
 * for "go", sends the measured requests and replies with its totals and latencies.
 */
import { performance } from "node:perf_hooks";

/** What the parent asks for. */
export interface ClientPlan {
  readonly url: string;
  readonly token: string;
  /** NDJSON bodies, sent in turn. */
  readonly bodies: readonly string[];
  readonly clients: number;
  readonly requests: number;
  readonly warmupRequests: number;
  readonly timeLimitMs: number;
}

/** What the child reports once the measured requests are done. */
export interface ClientResult {
  readonly requests: number;
  readonly accepted: number;
  readonly normalized: number;
  readonly dead: number;
  /** Per-request latency in ms, in completion order. */
  readonly latencies: readonly number[];
  readonly errors: readonly string[];
  /** Wall time of the measured phase, first request sent to last reply read. */
  readonly seconds: number;
}

/** Messages from the child: warm-up done (or refused), progress, the result, or a failure of the child itself. */
export type ClientMessage =
  | { readonly kind: "warm"; readonly error?: string }
  | { readonly kind: "progress"; readonly requests: number; readonly accepted: number }
  | { readonly kind: "done"; readonly result: ClientResult }
  | { readonly kind: "failed"; readonly error: string };

interface IngestReply {
  accepted?: number;
  normalized?: number;
  dead_lettered?: number;
  error?: { code?: string; message?: string };
}

/** Runs a plan: warm-up, then (after `go` resolves) the measured requests from `plan.clients` concurrent clients. */
export async function runClients(
  plan: ClientPlan,
  go: () => Promise<void>,
  send: (m: ClientMessage) => void,
): Promise<void> {
  const errors: string[] = [];
  const latencies: number[] = [];
  const totals = { accepted: 0, normalized: 0, dead: 0, requests: 0 };
  const post = async (k: number, record: boolean): Promise<void> => {
    const body = plan.bodies[k % plan.bodies.length] as string;
    const t = performance.now();
    const res = await fetch(plan.url, {
      method: "POST",
      headers: { authorization: `Bearer ${plan.token}`, "content-type": "application/x-ndjson" },
      body,
    });
    const reply = (await res.json()) as IngestReply;
    const ms = performance.now() - t;
    if (res.status !== 202) {
      errors.push(`${res.status} ${reply.error?.code ?? ""} ${reply.error?.message ?? ""}`);
      return;
    }
    if (!record) return;
    latencies.push(ms);
    totals.requests++;
    totals.accepted += reply.accepted ?? 0;
    totals.normalized += reply.normalized ?? 0;
    totals.dead += reply.dead_lettered ?? 0;
  };

  for (let k = 0; k < plan.warmupRequests && errors.length === 0; k++) await post(k, false);
  send(errors.length > 0 ? { kind: "warm", error: errors[0] as string } : { kind: "warm" });
  if (errors.length > 0) return;
  await go();

  const ticker = setInterval(
    () => send({ kind: "progress", requests: totals.requests, accepted: totals.accepted }),
    2000,
  );
  const start = performance.now();
  const deadline = start + plan.timeLimitMs;
  let next = 0;
  const client = async () => {
    while (next < plan.requests && performance.now() < deadline && errors.length === 0) await post(next++, true);
  };
  try {
    await Promise.all(Array.from({ length: plan.clients }, client));
  } finally {
    clearInterval(ticker);
  }
  const seconds = (performance.now() - start) / 1000;
  send({ kind: "done", result: { ...totals, latencies, errors, seconds } });
}

if (process.send && process.argv[2] === "--bench-http-clients") {
  const reply = (m: ClientMessage) => process.send?.(m);
  process.once("message", (plan: ClientPlan) => {
    const go = () => new Promise<void>((resolve) => process.once("message", () => resolve()));
    runClients(plan, go, reply).then(
      () => process.disconnect(),
      (e: unknown) => {
        reply({ kind: "failed", error: e instanceof Error ? e.message : String(e) });
        process.disconnect();
      },
    );
  });
}
