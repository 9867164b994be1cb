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
import { isMappingNormalizer } from "./mapping.ts";
import { microsoftGraphAlert } from "./microsoft-graph-alert.ts";
import { microsoftSentinelAlert } from "./microsoft-sentinel-alert.ts";
import { ocsfPassthrough } from "./ocsf-passthrough.ts";
import { oktaSystemLog } from "./okta-system-log.ts";
import { proofpointTap } from "./proofpoint-tap.ts";
import { securityhub } from "./securityhub.ts";
import { splunkNotable } from "./splunk-notable.ts";
import { suricata } from "./suricata.ts";
import { wazuh } from "./wazuh.ts";
import { zeekNotice } from "./zeek.ts";
import type { Normalizer, RawEvent } from "./types.ts";
import { isRejection } from "./types.ts";
import { RiposteError, messageOf } from "../../shared/errors.ts";

export type { Normalizer, RawEvent, Draft } from "./types.ts";
export { entityKeyOf } from "./finalize.ts";

/**
 * The built-in normalizers, in detection order: events already in OCSF first (their required attributes are
 * unmistakable); vendor-specific ones next; Elastic before Wazuh (both ECS; Elastic alerts may carry another vendor's
 * ECS fields); Okta's looser detection last among vendor formats. Source mappings (rules/sources/) go between these
 * and the catch-alls.
 */
const VENDORS: readonly Normalizer[] = [
  ocsfPassthrough,
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
];

/** Catch-alls, tried last: Splunk's for search results among JSON formats; CEF and LEEF take text lines only. */
const CATCH_ALLS: readonly Normalizer[] = [splunkNotable, cef, leef];

/** Every built-in normalizer, in detection order. */
export const NORMALIZERS: readonly Normalizer[] = [...VENDORS, ...CATCH_ALLS];

const namesOf = (n: Normalizer) => [n.format, ...(n.aliases ?? [])];

/** Format names and aliases of the built-in normalizers. */
export const BUILTIN_FORMATS: ReadonlySet<string> = new Set(NORMALIZERS.flatMap(namesOf));

function index(list: readonly Normalizer[]): Map<string, Normalizer> {
  const out = new Map<string, Normalizer>();
  for (const n of list) for (const name of namesOf(n)) out.set(name, n);
  return out;
}

let registered: readonly Normalizer[] = NORMALIZERS;
let byName = index(registered);

/**
 * Registers the normalizers built from source mapping files (rules/sources/), replacing any registered before: they
 * are tried after the built-in vendor normalizers and before the catch-alls, and their names are formats like any
 * other (`?format=`, `--format`, RIPOSTE_SOURCE_FORMATS). Throws RIPOSTE_CONFIG_INVALID when a name is taken.
 */
export function registerSourceMappings(mappings: readonly Normalizer[]): void {
  const seen = new Set(BUILTIN_FORMATS);
  for (const m of mappings) {
    for (const name of namesOf(m)) {
      if (seen.has(name))
        throw new RiposteError(
          "RIPOSTE_CONFIG_INVALID",
          `source mapping "${m.format}": format name "${name}" is taken`,
        );
      seen.add(name);
    }
  }
  registered = [...VENDORS, ...mappings, ...CATCH_ALLS];
  byName = index(registered);
}

/** The normalizer registered for a format name or alias. */
export function normalizerFor(format: string): Normalizer | undefined {
  return byName.get(format.toLowerCase());
}

/** Names of every known format. */
export function knownFormats(): string[] {
  return registered.map((n) => n.format);
}

/** The first normalizer that recognises the event. */
export function detectFormat(event: RawEvent): Normalizer | undefined {
  return registered.find((n) => {
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
  if (!done.ok)
    return { ok: false, code: "RIPOSTE_SCHEMA_INVALID", format: n.format, reason: `${n.format}: ${done.reason}` };
  // A mapping file names the field that gives the entity; the built-ins use finalize's order.
  const entity = isMappingNormalizer(n) ? n.entityOf(done.event) : undefined;
  const out = entity ? { ...done.event, riposte: { ...done.event.riposte, entity_key: entity } } : done.event;
  return { ok: true, event: out, format: n.format };
}
