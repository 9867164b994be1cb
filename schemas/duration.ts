/** Durations as `500ms`, `30s`, `5m`, `1h`, `7d`: a positive whole number and a unit. */

const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const FORMAT = /^(\d+)(ms|s|m|h|d)$/;

/** What a valid duration looks like, for error messages. */
export const DURATION_HINT = "a duration like 500ms, 30s, 5m, 1h or 7d";

/**
 * Why `s` is not a usable duration, or undefined if it is. Zero is refused: as a TTL it would make Redis refuse
 * the write (`SET PX 0`) or the in-memory store forget the key at once.
 */
export function durationProblem(s: string): string | undefined {
  const m = FORMAT.exec(s.trim());
  if (!m && /^-\s*\d+(ms|s|m|h|d)$/.test(s.trim())) return `must be positive: "${s}" is negative`;
  if (!m) return `expected ${DURATION_HINT}, got "${s}"`;
  const ms = Number(m[1]) * UNITS[m[2] as keyof typeof UNITS];
  if (ms === 0) return `must be positive: "${s}" is zero (use at least 1ms)`;
  if (!Number.isSafeInteger(ms)) return `"${s}" is too long`;
  return undefined;
}

/** Parses a duration into milliseconds; undefined if it is malformed, zero or too long (see durationProblem). */
export function parseDuration(s: string): number | undefined {
  if (durationProblem(s) !== undefined) return undefined;
  const m = FORMAT.exec(s.trim()) as RegExpExecArray;
  return Number(m[1]) * UNITS[m[2] as keyof typeof UNITS];
}
