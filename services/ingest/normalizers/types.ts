/** What every normalizer is: a pure function from one vendor event to an OCSF draft. */
import type { NormalizedEvent } from "../../../schemas/index.ts";

/** One input event: a parsed JSON object, or a text line (syslog, CEF, LEEF). */
export type RawEvent =
  | { readonly kind: "json"; readonly value: Readonly<Record<string, unknown>> }
  | { readonly kind: "text"; readonly value: string };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * An OCSF event as a normalizer builds it. `finalize` adds the rest: class and category names, type_uid,
 * severity caption, observables, metadata.version, raw_data and Riposte's own fields.
 */
export type Draft = DistributiveOmit<
  NormalizedEvent,
  "riposte" | "type_uid" | "category_uid" | "category_name" | "class_name" | "severity" | "metadata" | "raw_data"
> & {
  readonly metadata: Omit<NormalizedEvent["metadata"], "version">;
};

/** A normalizer's verdict that the event is understood but is not something Riposte takes (e.g. telemetry). */
export interface Rejection {
  readonly rejected: true;
  readonly code: "RIPOSTE_EVENT_UNSUPPORTED";
  readonly reason: string;
}

export interface NormalizeHints {
  readonly receivedTime: number;
}

export interface Normalizer {
  /** Format name, e.g. `suricata_eve`; what `--format` and `/v1/alerts/{source}` accept. */
  readonly format: string;
  /** Other names a source may use for this format (e.g. `suricata`). */
  readonly aliases?: readonly string[];
  /** Whether this normalizer recognises the event; cheap and side-effect free. */
  detect(event: RawEvent): boolean;
  /**
   * Maps the event to OCSF. Throws (any Error) when the event is malformed for this format. `hints.receivedTime`
   * is the time Riposte received the event, for formats whose events may carry no time of their own.
   */
  normalize(event: RawEvent, hints?: NormalizeHints): Draft | Rejection;
}

export function isRejection(r: Draft | Rejection): r is Rejection {
  return "rejected" in r;
}

export function reject(reason: string): Rejection {
  return { rejected: true, code: "RIPOSTE_EVENT_UNSUPPORTED", reason };
}
