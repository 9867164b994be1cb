/**
 * `riposte normalize [--format F] FILE...`: one NDJSON line per input event, the normalized event or a DLQ
 * record with its reason. Exit 0 when every event was accounted for (either way), 1 on unreadable input.
 */
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { basename } from "node:path";
import { normalizePiece, splitBody } from "../ingest/body.ts";
import { dlqRecord } from "../shared/dlq.ts";

export async function normalizeCommand(
  files: readonly string[],
  opts: { format?: string | undefined; source?: string | undefined },
): Promise<number> {
  if (files.length === 0) {
    process.stderr.write("riposte normalize: name one or more files (JSON, NDJSON or syslog lines; .gz is inflated)\n");
    return 2;
  }
  let normalized = 0;
  let dead = 0;
  for (const file of files) {
    let bytes = await readFile(file);
    if (file.endsWith(".gz")) bytes = gunzipSync(bytes);
    const source = opts.source ?? basename(file).replace(/\..*$/, "");
    const now = Date.now();
    const lines: string[] = [];
    for (const piece of splitBody(bytes.toString("utf8"))) {
      const out = normalizePiece(piece, { source, format: opts.format, receivedTime: now });
      if (out.ok) {
        normalized++;
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
  process.stderr.write(`riposte normalize: ${normalized} normalized, ${dead} dead-lettered\n`);
  return 0;
}
