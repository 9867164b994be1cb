/**
 * Compact renderings of fuzz inputs for failure reports: long strings with their repeated runs folded
 * (`"{\n"×40000`), buffers by length and content, deep values by their depth. A counterexample of a megabyte
 * stays one readable line.
 */

const MAX_LITERAL = 160;
/** A run is folded when a unit of up to this many characters repeats over at least MIN_FOLD characters. */
const MAX_UNIT = 8;
const MIN_FOLD = 24;

/** A string with its long repeated runs folded, and its length when it is long. */
export function foldString(s: string, budget = MAX_LITERAL): string {
  const parts: string[] = [];
  let literal = "";
  let i = 0;
  let shown = 0;
  const flush = () => {
    if (literal !== "") parts.push(JSON.stringify(literal));
    literal = "";
  };
  while (i < s.length && shown < budget) {
    let folded = false;
    for (let unit = 1; unit <= MAX_UNIT && i + unit * 2 <= s.length; unit++) {
      const u = s.slice(i, i + unit);
      let reps = 1;
      while (s.startsWith(u, i + reps * unit)) reps++;
      if (reps * unit >= MIN_FOLD && reps >= 3) {
        flush();
        parts.push(`${JSON.stringify(u)}×${reps}`);
        i += reps * unit;
        shown += unit + 8;
        folded = true;
        break;
      }
    }
    if (!folded) {
      literal += s[i];
      i++;
      shown++;
    }
  }
  flush();
  const rest = s.length - i;
  const body = parts.length === 0 ? '""' : parts.join(" + ");
  return rest > 0 ? `${body} + …(${rest} more chars; ${s.length} in all)` : body;
}

/** Nesting depth of a value, without recursion (deep values are what we render). */
function depthOf(v: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[v, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop() as [unknown, number];
    if (x === null || typeof x !== "object") continue;
    if (d > max) max = d;
    if (stack.length > 100_000) break;
    for (const c of Object.values(x)) stack.push([c, d + 1]);
  }
  return max;
}

/** A short rendering of any input value. */
export function describeValue(v: unknown, budget = MAX_LITERAL, depth = 0): string {
  if (typeof v === "string") return foldString(v, budget);
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
    const b = Buffer.from(v);
    const valid = Buffer.from(b.toString("utf8"), "utf8").equals(b);
    return `Buffer(${b.length}${valid ? "" : ", invalid UTF-8"}: ${foldString(b.toString("latin1"), budget)})`;
  }
  if (v === null || typeof v !== "object") return String(v);
  if (depth >= 4) return Array.isArray(v) ? `[…${v.length}, depth ${depthOf(v)}]` : `{…depth ${depthOf(v)}}`;
  const share = Math.max(24, Math.floor(budget / 2));
  if (Array.isArray(v)) {
    const shown = v.slice(0, 8).map((x) => describeValue(x, share, depth + 1));
    return `[${shown.join(", ")}${v.length > 8 ? `, …${v.length - 8} more` : ""}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>);
  const shown = entries.slice(0, 12).map(([k, x]) => `${JSON.stringify(k)}: ${describeValue(x, share, depth + 1)}`);
  return `{${shown.join(", ")}${entries.length > 12 ? `, …${entries.length - 12} more` : ""}}`;
}
