/**
 * Entity coverage over the shared corpus: runs every corpus file through format detection and normalization, as
 * ingest would, and prints per format the share of normalized events whose entity key comes from the event itself
 * (host, user, IP, cloud resource) rather than the `source:` fallback.
 *
 *   node test/tools/entity-coverage.ts [--json] [CORPUS_DIR]
 *
 * Panther's JSONL test wrappers are unwrapped to the vendor event they carry (`log`), as the corpus README says.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { splitBody } from "../../services/ingest/body.ts";
import { normalizeEvent, type RawEvent } from "../../services/ingest/normalizers/index.ts";

interface Row {
  normalized: number;
  fromEvent: number;
  byKind: Record<string, number>;
  timeFallback: number;
}

const args = process.argv.slice(2);
const asJson = args.includes("--json");
const dir = args.find((a) => !a.startsWith("--")) ?? fileURLToPath(new URL("../../../shared/corpus/", import.meta.url));

function files(root: string): string[] {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.(md)$/i.test(name) ? [] : [path];
  });
}

/** Panther's `{panther_log_type, ..., log}` wrapper → the vendor event. */
function unwrap(event: RawEvent, text: string): { event: RawEvent; text: string } {
  if (event.kind !== "json") return { event, text };
  const log = event.value["log"];
  if ("panther_log_type" in event.value && log !== null && typeof log === "object" && !Array.isArray(log)) {
    return { event: { kind: "json", value: log as Record<string, unknown> }, text: JSON.stringify(log) };
  }
  return { event, text };
}

const rows = new Map<string, Row>();
const dead = new Map<string, number>();
const receivedTime = Date.now();
for (const file of files(dir)) {
  for (const piece of splitBody(readFileSync(file, "utf8"))) {
    if (!piece.ok) {
      dead.set("RIPOSTE_BODY_INVALID", (dead.get("RIPOSTE_BODY_INVALID") ?? 0) + 1);
      continue;
    }
    const { event, text } = unwrap(piece.event, piece.text);
    const out = normalizeEvent(event, text, { source: "corpus", receivedTime });
    if (!out.ok) {
      dead.set(out.code, (dead.get(out.code) ?? 0) + 1);
      continue;
    }
    const row = rows.get(out.format) ?? { normalized: 0, fromEvent: 0, byKind: {}, timeFallback: 0 };
    const kind = out.event.riposte.entity_key.split(":")[0] ?? "";
    row.normalized++;
    if (kind !== "source") row.fromEvent++;
    row.byKind[kind] = (row.byKind[kind] ?? 0) + 1;
    if ((out.event.riposte as { time_fallback?: boolean }).time_fallback) row.timeFallback++;
    rows.set(out.format, row);
  }
}

const pct = (n: number, d: number) => (d === 0 ? "-" : `${((100 * n) / d).toFixed(1)} %`);
const sorted = [...rows.entries()].sort(([a], [b]) => a.localeCompare(b));
const total = sorted.reduce((t, [, r]) => ({ n: t.n + r.normalized, e: t.e + r.fromEvent }), { n: 0, e: 0 });
if (asJson) {
  process.stdout.write(
    `${JSON.stringify({ corpus: dir, formats: Object.fromEntries(sorted), total, dead_lettered: Object.fromEntries(dead) }, null, 2)}\n`,
  );
} else {
  process.stdout.write(`entity coverage over ${relative(process.cwd(), dir) || dir}\n`);
  process.stdout.write(
    `${"format".padEnd(26)}${"normalized".padStart(11)}${"from event".padStart(12)}  share    kinds\n`,
  );
  for (const [format, r] of sorted) {
    const kinds = Object.entries(r.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    const fb = r.timeFallback ? `  (time fallback ${r.timeFallback})` : "";
    process.stdout.write(
      `${format.padEnd(26)}${String(r.normalized).padStart(11)}${String(r.fromEvent).padStart(12)}  ${pct(r.fromEvent, r.normalized).padEnd(8)} ${kinds}${fb}\n`,
    );
  }
  process.stdout.write(
    `${"all formats".padEnd(26)}${String(total.n).padStart(11)}${String(total.e).padStart(12)}  ${pct(total.e, total.n)}\n`,
  );
  const dl = [...dead.entries()].map(([c, n]) => `${c} ${n}`).join(", ");
  process.stdout.write(`dead-lettered: ${dl || "none"}\n`);
}
