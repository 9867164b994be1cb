/**
 * `riposte normalize [--format F] [--mapping FILE]... FILE...`: one NDJSON line per input event, the normalized event
 * or a DLQ record with its reason. The source mappings of the rules directory (RIPOSTE_RULES_DIR, default ./rules)
 * are registered as the services register them; a `--mapping` file is added to them, and replaces the directory's
 * mapping of the same format (trying a change before committing it). Exit 0 when every event was accounted for
 * (either way), 1 on unreadable input or an invalid mapping file.
 */
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { basename } from "node:path";
import { normalizePiece, splitBody, type Piece } from "../ingest/body.ts";
import { registerSourceMappings, type Normalizer } from "../ingest/normalizers/index.ts";
import { checkMappingFiles, mappingFiles } from "../ingest/sources.ts";
import { dlqRecord } from "../shared/dlq.ts";
import { formatProblem } from "../shared/yaml-positions.ts";

/** The vendor event of a Panther test record (`{panther_log_type, ..., log: {...}}`), if the piece is one. */
function pantherLog(piece: Piece): Readonly<Record<string, unknown>> | undefined {
  if (!piece.ok || piece.event.kind !== "json") return undefined;
  const v = piece.event.value;
  const log = v["log"];
  return typeof v["panther_log_type"] === "string" && log !== null && typeof log === "object" && !Array.isArray(log)
    ? (log as Record<string, unknown>)
    : undefined;
}

/** Registers the directory's mappings and the named ones; false (problems written to stderr) when one is invalid. */
async function registerMappings(rulesDir: string, extra: readonly string[]): Promise<boolean> {
  const dir = await checkMappingFiles(await mappingFiles(rulesDir));
  const named = await checkMappingFiles(extra);
  const problems = [...dir.problems, ...named.problems];
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
  if (problems.length > 0) return false;
  const replaced = new Set(named.normalizers.map((n) => n.format));
  const kept: Normalizer[] = dir.normalizers.filter((n) => !replaced.has(n.format));
  registerSourceMappings([...kept, ...named.normalizers]);
  named.normalizers.forEach((n, i) => {
    const note = dir.normalizers.some((d) => d.format === n.format) ? `, in place of ${rulesDir}/sources' one` : "";
    process.stderr.write(`riposte normalize: mapping ${extra[i]} registered as format ${n.format}${note}\n`);
  });
  return true;
}

export async function normalizeCommand(
  files: readonly string[],
  opts: {
    format?: string | undefined;
    source?: string | undefined;
    mappings?: readonly string[] | undefined;
    rulesDir?: string | undefined;
    /** Panther's test records `{panther_log_type, ..., log}`: normalize the vendor event in `log`. */
    unwrap?: boolean | undefined;
  },
): Promise<number> {
  if (files.length === 0) {
    process.stderr.write("riposte normalize: name one or more files (JSON, NDJSON or syslog lines; .gz is inflated)\n");
    return 2;
  }
  if (!(await registerMappings(opts.rulesDir ?? "rules", opts.mappings ?? []))) return 1;
  let normalized = 0;
  let dead = 0;
  let wrapped = 0;
  const byFormat = new Map<string, number>();
  for (const file of files) {
    let bytes = await readFile(file);
    if (file.endsWith(".gz")) bytes = gunzipSync(bytes);
    const source = opts.source ?? basename(file).replace(/\..*$/, "");
    const now = Date.now();
    const lines: string[] = [];
    for (const raw of splitBody(bytes.toString("utf8"))) {
      const log = pantherLog(raw);
      if (log) wrapped++;
      const piece: Piece =
        log && opts.unwrap ? { ok: true, event: { kind: "json", value: log }, text: JSON.stringify(log) } : raw;
      const out = normalizePiece(piece, { source, format: opts.format, receivedTime: now });
      if (out.ok) {
        normalized++;
        byFormat.set(out.format, (byFormat.get(out.format) ?? 0) + 1);
        lines.push(JSON.stringify(out.event));
      } else {
        dead++;
        const format = "format" in out ? out.format : undefined;
        lines.push(
          JSON.stringify({
            dlq: dlqRecord({
              stage: piece.ok ? "normalize" : "ingest",
              code: out.code,
              reason: out.reason,
              source,
              format,
              original: piece.text,
              time: now,
            }),
          }),
        );
      }
    }
    process.stdout.write(lines.length ? `${lines.join("\n")}\n` : "");
  }
  const formats = [...byFormat].map(([f, n]) => `${f} ${n}`).join(", ");
  process.stderr.write(
    `riposte normalize: ${normalized} normalized${formats ? ` (${formats})` : ""}, ${dead} dead-lettered\n`,
  );
  if (wrapped > 0 && !opts.unwrap) {
    process.stderr.write(
      `riposte normalize: ${wrapped} records are Panther test records ({panther_log_type, ..., log}): add --unwrap to normalize the vendor event each carries\n`,
    );
  } else if (wrapped > 0) process.stderr.write(`riposte normalize: ${wrapped} Panther test records unwrapped\n`);
  return 0;
}
