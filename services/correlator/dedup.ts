/**
 * Alert dedup, pure: an exact re-send (same fingerprint, same content) is a duplicate; the same alert with a new
 * severity, status or content (Graph and Sentinel update alerts in place under the same id) is an update and is
 * evaluated again; a redelivery of the same Kafka message decides as it did the first time.
 *
 * State is one field per alert in a hash per entity and event-time bucket of the dedup window: the field is 16 hex
 * characters of the fingerprint, the value 8 of the content digest and 8 of the delivery, then (when traced) the
 * span that first decided it in 32 base64url characters, so that a duplicate's span can link to the original's
 * trace; an alert costs a few dozen bytes instead of a key of its own.
 */
import type { NormalizedEvent } from "../../schemas/index.ts";
import { canonicalJson, stableId } from "../shared/ids.ts";
import { stateKey } from "../shared/state/index.ts";

export type DedupVerdict = "new" | "redelivery" | "duplicate" | "update";

/**
 * The content an exact re-send repeats: everything normalized except what differs between two receptions of the
 * same alert (received time, the raw bytes, and the time itself when it was the received time).
 */
export function contentDigest(event: NormalizedEvent): string {
  const { raw_data: _raw, riposte, metadata, ...rest } = event;
  const { processed_time: _processed, ...meta } = metadata;
  const stable: Record<string, unknown> = { ...rest, metadata: meta, riposte: { ...riposte, received_time: 0 } };
  if (riposte.time_fallback) stable["time"] = 0;
  return stableId(canonicalJson(stable)).slice(0, 8);
}

/** Where an alert's dedup record lives: the entity's hash for the bucket of `time`. */
export function dedupSlot(prefix: string, event: NormalizedEvent, time: number, windowMs: number) {
  const bucket = Math.floor(time / windowMs);
  return {
    key: stateKey(prefix, event.riposte.entity_key, "seen", String(bucket)),
    field: event.riposte.fingerprint.slice(0, 16),
  };
}

/**
 * The two slots an alert is looked up in: its own bucket and the one before, so a re-send whose time moved (an
 * update stamped with its update time, an event timed at reception) is still found within the window.
 */
export function dedupSlots(prefix: string, event: NormalizedEvent, windowMs: number) {
  return [dedupSlot(prefix, event, event.time, windowMs), dedupSlot(prefix, event, event.time - windowMs, windowMs)];
}

/** A span's context (W3C ids, hex). */
export interface SpanRef {
  readonly traceId: string;
  readonly spanId: string;
}

const SPAN_REF = /^[\da-f]{32}$/;
const SPAN_ID = /^[\da-f]{16}$/;

/**
 * The value recorded for an alert: its content digest, a digest of the delivery that carried it, and the span that
 * decided it (trace id and span id as 24 bytes of base64url), when there is a valid one.
 */
export function dedupValue(digest: string, delivery: string, span?: SpanRef): string {
  return `${digest}${stableId(delivery).slice(0, 8)}${encodeSpanRef(span)}`;
}

/** A span reference in 32 characters (base64url of trace id + span id), or "" for none or an invalid one. */
export function encodeSpanRef(span: SpanRef | undefined): string {
  return span && SPAN_REF.test(span.traceId) && SPAN_ID.test(span.spanId) && !/^0+$/.test(span.traceId)
    ? Buffer.from(span.traceId + span.spanId, "hex").toString("base64url")
    : "";
}

/** The span reference encodeSpanRef made, or undefined. */
export function decodeSpanRef(ref: string | undefined): SpanRef | undefined {
  if (!ref || ref.length !== 32) return undefined;
  const hex = Buffer.from(ref, "base64url").toString("hex");
  return hex.length === 48 ? { traceId: hex.slice(0, 32), spanId: hex.slice(32) } : undefined;
}

/** The span that first decided the alert, from its recorded value. */
export function recordedSpan(recorded: string | undefined): SpanRef | undefined {
  return decodeSpanRef(recorded?.slice(16));
}

/** Compares an alert with what was recorded for its fingerprint (the first slot that has one). */
export function verdictOf(recorded: string | undefined, digest: string, delivery: string): DedupVerdict {
  if (recorded === undefined) return "new";
  if (recorded.slice(0, 16) === dedupValue(digest, delivery)) return "redelivery";
  return recorded.slice(0, 8) === digest ? "duplicate" : "update";
}
