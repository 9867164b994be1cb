/** Parses `500ms`, `30s`, `5m`, `1h`, `7d` into milliseconds; undefined if malformed. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(s.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms" | "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}
