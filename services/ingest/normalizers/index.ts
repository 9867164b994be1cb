/**
 * The normalizer registry: format detection, normalization and finalization of one raw event.
 * Pure: no I/O, no clock (the received time is passed in).
 */
import type { NormalizedEvent } from "../../../schemas/index.ts";
import { finalize } from "./finalize.ts";
import { cef } from "./cef.ts";
import { crowdstrikeFalcon } from "./crowdstrike-falcon.ts";
import { elasticSecurity } from "./elastic-security.ts";
import { entraSignin } from "./entra-signin.ts";
import { googleWorkspaceAlert } from "./google-workspace.ts";
import { guardduty } from "./guardduty.ts";
import { leef } from "./leef.ts";
import { m365AzureAdAudit } from "./m365-azure-ad-audit.ts";
import { microsoftGraphAlert } from "./microsoft-graph-alert.ts";
import { microsoftSentinelAlert } from "./microsoft-sentinel-alert.ts";
import { oktaSystemLog } from "./okta-system-log.ts";
import { proofpointTap } from "./proofpoint-tap.ts";
import { securityhub } from "./securityhub.ts";
import { splunkNotable } from "./splunk-notable.ts";
import { suricata } from "./suricata.ts";
import { wazuh } from "./wazuh.ts";
import { zeekNotice } from "./zeek.ts";
import type { Normalizer, RawEvent } from "./types.ts";
import { isRejection } from "./types.ts";
import { messageOf } from "../../shared/errors.ts";

export type { Normalizer, RawEvent, Draft } from "./types.ts";
export { entityKeyOf } from "./finalize.ts";

/**
 * Registered normalizers, in detection order: vendor-specific first; Elastic before Wazuh (both ECS; Elastic alerts
 * may carry another vendor's ECS fields); Okta's looser detection and Splunk's catch-all for search results last
 * among JSON formats; CEF and LEEF take text lines only.
 */
export const NORMALIZERS: readonly Normalizer[] = [
  suricata,
  zeekNotice,
  crowdstrikeFalcon,
  microsoftGraphAlert,
  microsoftSentinelAlert,
  elasticSecurity,
  wazuh,
  guardduty,
  securityhub,
  googleWorkspaceAlert,
  proofpointTap,
  entraSignin,
  m365AzureAdAudit,
  oktaSystemLog,
  splunkNotable,
  cef,
  leef,
];

const byName = new Map<string, Normalizer>();
for (const n of NORMALIZERS) for (const name of [n.format, ...(n.aliases ?? [])]) byName.set(name, n);

/** The normalizer registered for a format name or alias. */
export function normalizerFor(format: string): Normalizer | undefined {
  return byName.get(format.toLowerCase());
}

/** Names of every known format. */
export function knownFormats(): string[] {
  return NORMALIZERS.map((n) => n.format);
}

/** The first normalizer that recognises the event. */
export function detectFormat(event: RawEvent): Normalizer | undefined {
  return NORMALIZERS.find((n) => {
    try {
      return n.detect(event);
    } catch {
      return false;
    }
  });
}

export type NormalizeOutcome =
  | { readonly ok: true; readonly event: NormalizedEvent; readonly format: string }
  | {
      readonly ok: false;
      readonly code: "RIPOSTE_FORMAT_UNKNOWN" | "RIPOSTE_SCHEMA_INVALID" | "RIPOSTE_EVENT_UNSUPPORTED";
      readonly reason: string;
      readonly format?: string;
    };

export interface NormalizeContext {
  /** Source name from the ingest path. */
  readonly source: string;
  /** A format the caller names; when absent (or the source is not a format name) the format is detected. */
  readonly format?: string | undefined;
  readonly receivedTime: number;
}

/** Normalizes one raw event; never throws. */
export function normalizeEvent(event: RawEvent, rawText: string, ctx: NormalizeContext): NormalizeOutcome {
  const named = ctx.format !== undefined ? normalizerFor(ctx.format) : normalizerFor(ctx.source);
  if (ctx.format !== undefined && !named) {
    return {
      ok: false,
      code: "RIPOSTE_FORMAT_UNKNOWN",
      reason: `unknown format "${ctx.format}"; known: ${knownFormats().join(", ")}`,
    };
  }
  const n = named ?? detectFormat(event);
  if (!n) {
    return {
      ok: false,
      code: "RIPOSTE_FORMAT_UNKNOWN",
      reason: `no normalizer recognises this event (known formats: ${knownFormats().join(", ")}); name the format with ?format= or --format`,
    };
  }
  let draft;
  try {
    draft = n.normalize(event, { receivedTime: ctx.receivedTime });
  } catch (e) {
    return { ok: false, code: "RIPOSTE_SCHEMA_INVALID", format: n.format, reason: `${n.format}: ${messageOf(e)}` };
  }
  if (isRejection(draft)) return { ok: false, code: draft.code, format: n.format, reason: draft.reason };
  let done: ReturnType<typeof finalize>;
  try {
    done = finalize(draft, event, rawText, {
      source: ctx.source,
      format: n.format,
      receivedTime: ctx.receivedTime,
    });
  } catch (e) {
    // Never throws: an event that breaks finalization (say, nested too deep to serialize) fails alone.
    return { ok: false, code: "RIPOSTE_SCHEMA_INVALID", format: n.format, reason: `${n.format}: ${messageOf(e)}` };
  }
  return done.ok
    ? { ok: true, event: done.event, format: n.format }
    : { ok: false, code: "RIPOSTE_SCHEMA_INVALID", format: n.format, reason: `${n.format}: ${done.reason}` };
}
