/**
 * The catalogue of Riposte's coded errors. Each code has an HTTP status and says whether a retry can help.
 */
export const ERRORS = {
  RIPOSTE_CONFIG_INVALID: { status: 500, retriable: false },
  RIPOSTE_INTERNAL: { status: 500, retriable: true },
  RIPOSTE_NOT_FOUND: { status: 404, retriable: false },
  RIPOSTE_AUTH_MISSING: { status: 401, retriable: false },
  RIPOSTE_AUTH_INVALID: { status: 401, retriable: false },
  RIPOSTE_ROLE_FORBIDDEN: { status: 403, retriable: false },
  RIPOSTE_APPROVAL_CLOSED: { status: 409, retriable: false },
  RIPOSTE_LEASE_ENDED: { status: 409, retriable: false },
  RIPOSTE_AUDIT_UNAVAILABLE: { status: 503, retriable: true },
  RIPOSTE_BODY_INVALID: { status: 400, retriable: false },
  RIPOSTE_BODY_TOO_LARGE: { status: 413, retriable: false },
  RIPOSTE_SIGNATURE_INVALID: { status: 401, retriable: false },
  RIPOSTE_FORMAT_UNKNOWN: { status: 422, retriable: false },
  RIPOSTE_FORMAT_NOT_ALLOWED: { status: 422, retriable: false },
  RIPOSTE_SCHEMA_INVALID: { status: 422, retriable: false },
  RIPOSTE_SOURCE_UNKNOWN: { status: 404, retriable: false },
  RIPOSTE_SOURCE_INVALID: { status: 400, retriable: false },
  RIPOSTE_QUERY_INVALID: { status: 400, retriable: false },
  RIPOSTE_URL_TOO_LONG: { status: 414, retriable: false },
  RIPOSTE_URL_INVALID: { status: 400, retriable: false },
  RIPOSTE_MEDIA_UNSUPPORTED: { status: 415, retriable: false },
  RIPOSTE_TOO_MANY_EVENTS: { status: 413, retriable: false },
  RIPOSTE_NESTING_TOO_DEEP: { status: 422, retriable: false },
  RIPOSTE_LINE_TOO_LONG: { status: 413, retriable: false },
  RIPOSTE_SIGNATURE_REPLAYED: { status: 401, retriable: false },
  RIPOSTE_REPLAY_BUSY: { status: 409, retriable: true },
  RIPOSTE_INCIDENT_MERGED: { status: 409, retriable: false },
  RIPOSTE_STATE_SCRIPT: { status: 500, retriable: false },
  RIPOSTE_BUS_REJECTED: { status: 500, retriable: false },
  RIPOSTE_NORMALIZER_FAILED: { status: 422, retriable: false },
  RIPOSTE_BUS_UNAVAILABLE: { status: 503, retriable: true },
  RIPOSTE_STATE_UNAVAILABLE: { status: 503, retriable: true },
  RIPOSTE_RULE_INVALID: { status: 500, retriable: false },
  RIPOSTE_PLAYBOOK_UNKNOWN: { status: 500, retriable: false },
  RIPOSTE_CONNECTOR_UNKNOWN: { status: 500, retriable: false },
  RIPOSTE_CONNECTOR_AUTH: { status: 502, retriable: false },
  RIPOSTE_CONNECTOR_NOT_FOUND: { status: 502, retriable: false },
  RIPOSTE_CONNECTOR_RATE_LIMITED: { status: 502, retriable: true },
  RIPOSTE_CONNECTOR_UNAVAILABLE: { status: 502, retriable: true },
  RIPOSTE_CONNECTOR_TIMEOUT: { status: 504, retriable: true },
  RIPOSTE_CONNECTOR_REJECTED: { status: 502, retriable: false },
  RIPOSTE_TEMPLATE_MISSING: { status: 500, retriable: false },
  RIPOSTE_FOR_EACH_TOO_LONG: { status: 500, retriable: false },
  RIPOSTE_CORRELATION_FAILED: { status: 500, retriable: false },
  RIPOSTE_EXECUTION_FAILED: { status: 500, retriable: false },
} as const satisfies Record<string, { status: number; retriable: boolean }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error with a catalogue code; `retryAfterMs` carries a server's Retry-After when it gave one. */
export class RiposteError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "RiposteError";
    this.code = code;
    this.status = ERRORS[code].status;
    this.retriable = ERRORS[code].retriable;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export function isRiposteError(e: unknown): e is RiposteError {
  return e instanceof RiposteError;
}

/** A message for any thrown value, for logs and records. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
