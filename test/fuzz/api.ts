/**
 * Fuzz target for the ingest API, built by `startServices` in the embedded mode (in-process bus and state, no
 * socket: `inject`): hostile bodies plain and gzipped, gzip bombs, wrong and mismatched Content-Encoding, odd
 * Content-Types, repeated and malformed query parameters, odd source names, bad tokens and signatures. Every answer (see requests.ts for what is sent)
 * must be 202 or a 4xx in the catalogue's shape, come within the bound, not dwarf the body, and account for every
 * piece: what the answer counts is what landed on the normalized and DLQ topics.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { CONNECTORS } from "../../services/executor/connectors/index.ts";
import { splitBody } from "../../services/ingest/body.ts";
import { startServices, type Running } from "../../services/runtime.ts";
import type { Subscription } from "../../services/shared/bus/index.ts";
import { loadConfig } from "../../services/shared/config.ts";
import { silentLogger } from "../../services/shared/log.ts";
import { foldString } from "./describe.ts";
import { expect, FuzzFailure, type Checker, type Target } from "./harness.ts";
import {
  apiInputArb,
  gzipBombs,
  headersOf,
  materialize,
  MAX_BODY,
  renderRequest,
  SECRET,
  SOURCE_TOKEN,
  TOKEN,
  type ApiInput,
} from "./requests.ts";

/**
 * Longest the event loop may be blocked at once while one request is handled. The API splits and normalizes in
 * chunks with yields in between, so that a big body never stalls the other requests; a 10 MiB NDJSON body of
 * corpus events takes about 1.4 s in all on this machine, and never blocks for long.
 */
const MAX_STALL_MS = 2_000;

/** Measures the longest gap between ticks of a 10 ms interval: how long the event loop was blocked at once. */
function stallMeter(): { maxMs: number; stop(): Promise<void> } {
  let last = performance.now();
  const meter = {
    maxMs: 0,
    async stop() {
      // One more tick, so a block that ended just now is counted.
      await new Promise((r) => setTimeout(r, 15));
      tick();
      clearInterval(timer);
    },
  };
  const tick = () => {
    const now = performance.now();
    meter.maxMs = Math.max(meter.maxMs, now - last);
    last = now;
  };
  const timer = setInterval(tick, 10);
  return meter;
}

/** Answers may list results, but not dwarf the body: this much plus a small multiple of the body. */
const ANSWER_SLACK = 1024 * 1024;
const ANSWER_FACTOR = 4;

/** Pieces a body splits into, by the splitter the API uses; undefined when it refuses the whole body. */
function pieceCount(bytes: Buffer): number | undefined {
  try {
    return splitBody(bytes.toString("utf8")).length;
  } catch {
    return undefined;
  }
}

/** Candidate decodings of what was sent: as is, and inflated (when it inflates within the limit). */
function decodings(sent: Buffer): Buffer[] {
  const out = [sent];
  try {
    out.push(gunzipSync(sent, { maxOutputLength: MAX_BODY }));
  } catch {
    // not gzip, or over the limit
  }
  return out;
}

async function topicCount(running: Running, topic: string): Promise<number> {
  let n = 0;
  for (const { high } of (await running.bus.offsets(topic)).values()) n += Number(high);
  return n;
}

interface Answer {
  readonly error?: { readonly code?: unknown; readonly message?: unknown };
  readonly accepted?: unknown;
  readonly normalized?: unknown;
  readonly dead_lettered?: unknown;
  readonly failed?: unknown;
  readonly items?: unknown;
  readonly items_omitted?: unknown;
}

const num = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : undefined);

class ApiChecker implements Checker<ApiInput> {
  private readonly running: Running;
  private readonly drain: Subscription;
  private readonly dir: string;
  private readonly used = new Map<string, string>();

  constructor(running: Running, drain: Subscription, dir: string) {
    this.running = running;
    this.drain = drain;
    this.dir = dir;
  }

  async check(input: ApiInput): Promise<void> {
    const { running } = this;
    const api = running.api!;
    const url = `/v1/alerts/${input.source}${input.query}`;
    const { sent, plain } = materialize(input);
    let headers = headersOf(input, url, sent, Date.now());
    // A reused signature is the one an earlier request with the same URL and body carried.
    const key = `${url}\u0000${sent.length}`;
    if (input.signature === "reused" && this.used.has(key))
      headers = { ...headers, "x-riposte-signature": this.used.get(key)! };
    if (headers["x-riposte-signature"] !== undefined) this.used.set(key, headers["x-riposte-signature"]);
    if (this.used.size > 1_000) this.used.clear();

    const before = [
      await topicCount(running, running.topics.normalized),
      await topicCount(running, running.topics.dlq),
    ];
    const stall = stallMeter();
    let res;
    try {
      res = await api.inject({ method: "POST", url, payload: sent, headers });
    } catch (e) {
      throw new FuzzFailure("crash", `inject threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, {
        cause: e,
      });
    } finally {
      await stall.stop();
    }
    expect(
      stall.maxMs <= MAX_STALL_MS,
      () =>
        `the request blocked the event loop for ${stall.maxMs.toFixed(0)} ms at once (bound ${MAX_STALL_MS} ms): other requests would stall (status ${res?.statusCode ?? "none"})`,
    );
    const normalized = (await topicCount(running, running.topics.normalized)) - before[0]!;
    const dlq = (await topicCount(running, running.topics.dlq)) - before[1]!;
    const status = res.statusCode;
    const text = res.payload;
    const head = () => `status ${status}: ${foldString(text, 300)}`;

    expect(status === 202 || (status >= 400 && status < 500), () => `answer is not 202 or 4xx: ${head()}`);
    let answer: Answer;
    try {
      answer = JSON.parse(text) as Answer;
    } catch {
      throw new FuzzFailure("property", `answer is not JSON: ${head()}`);
    }
    expect(answer !== null && typeof answer === "object", () => `answer is not an object: ${head()}`);
    if (status !== 202) {
      const e = answer.error;
      expect(
        e !== undefined &&
          typeof e.code === "string" &&
          /^RIPOSTE_[A-Z0-9_]+$/.test(e.code) &&
          typeof e.message === "string",
        () => `4xx answer not in the catalogue's shape {error: {code: "RIPOSTE_…", message}}: ${head()}`,
      );
    }
    const decoded = plain ?? sent;
    const bound = ANSWER_SLACK + ANSWER_FACTOR * Math.max(sent.length, decoded.length);
    expect(
      text.length <= bound,
      () => `answer of ${text.length} bytes for a body of ${decoded.length} (bound ${bound})`,
    );

    const nNormalized = num(answer.normalized) ?? 0;
    const nDead = num(answer.dead_lettered) ?? 0;
    expect(
      normalized === nNormalized && dlq === nDead,
      () =>
        `the answer counts ${nNormalized} normalized and ${nDead} dead-lettered, the bus got ${normalized} and ${dlq}: ${head()}`,
    );
    const accepted = num(answer.accepted);
    if (status === 202) {
      expect(nNormalized >= 1, () => `202 with nothing normalized: ${head()}`);
      expect(
        accepted !== undefined && accepted === nNormalized + nDead,
        () => `accepted ≠ normalized + dead_lettered: ${head()}`,
      );
      const counts = decodings(sent).map(pieceCount);
      expect(
        counts.includes(accepted),
        () => `accepted ${accepted} pieces, the body splits into ${counts.join(" or ")}`,
      );
    }
    if (accepted !== undefined) {
      const items = Array.isArray(answer.items) ? answer.items.length : 0;
      const omitted = num(answer.items_omitted) ?? 0;
      expect(items + omitted === accepted, () => `${items} items + ${omitted} omitted for ${accepted} accepted`);
      if (answer.failed !== null && typeof answer.failed === "object") {
        const failed = Object.values(answer.failed as Record<string, unknown>).reduce<number>(
          (s, v) => s + (num(v) ?? 0),
          0,
        );
        expect(
          failed === accepted - nNormalized,
          () => `failed counts ${failed} for ${accepted - nNormalized} not normalized`,
        );
      }
    }
  }

  async close(): Promise<void> {
    await this.drain.stop();
    await this.running.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const ingestApi: Target<ApiInput> = {
  name: "api",
  description: "POST /v1/alerts/:source via inject on the embedded runtime (MemoryBus, MemoryState)",
  weight: 15,
  timeBoundMs: 10_000,
  arbitrary: apiInputArb,
  async open() {
    const dir = mkdtempSync(join(tmpdir(), "riposte-fuzz-"));
    const config = loadConfig(
      {
        RIPOSTE_API_TOKEN: TOKEN,
        RIPOSTE_TOPIC_PREFIX: "fuzz",
        RIPOSTE_TOPIC_PARTITIONS: "1",
        RIPOSTE_LOG_LEVEL: "silent",
        RIPOSTE_STATE_DIR: dir,
        RIPOSTE_INGEST_MAX_BODY: String(MAX_BODY),
        RIPOSTE_INGEST_TOKENS: `suricata=${SOURCE_TOKEN}`,
        RIPOSTE_SOURCE_FORMATS: "suricata=suricata_eve,edr=crowdstrike_falcon",
        RIPOSTE_INGEST_HMAC_SECRETS: `signed=${SECRET}`,
      },
      CONNECTORS,
    );
    const running = await startServices({ config, services: ["ingest", "api"], log: silentLogger, listen: false });
    // A consumer, so the in-process bus trims what it has handed out instead of keeping it for nobody.
    const drain = await running.bus.subscribe({
      groupId: "fuzz-drain",
      topics: [running.topics.normalized, running.topics.dlq],
      handler: async () => {},
    });
    gzipBombs();
    return new ApiChecker(running, drain, dir);
  },
  render: renderRequest,
};
