/**
 * `riposte lists import NAME FILE --format csv|stix|misp|text [--ttl D] [--column C] [--to-ids]` and
 * `riposte lists show [NAME]`: threat-intel lists imported into Redis, where every correlator reads them.
 */
import { readFile, stat } from "node:fs/promises";
import { parseDuration, DURATION_HINT } from "../../schemas/duration.ts";
import { FEED_FORMATS, parseFeed, type FeedFormat } from "../correlator/feeds.ts";
import { importList, listContents, listNamesKey, listSummaries } from "../correlator/imported.ts";
import { loadLists } from "../correlator/load.ts";
import { typeOf } from "../correlator/lists.ts";
import { CONNECTORS } from "../executor/connectors/index.ts";
import { loadConfig } from "../shared/config.ts";
import { RiposteError, messageOf } from "../shared/errors.ts";
import { RedisState } from "../shared/state/index.ts";

/** The default expiry of entries whose feed gives none. */
const DEFAULT_TTL = "30d";
/** Largest feed file read (the parsers hold it in memory). */
const MAX_FEED_BYTES = 512 * 1024 * 1024;

export interface ListsOptions {
  readonly format?: string | undefined;
  readonly ttl?: string | undefined;
  readonly column?: string | undefined;
  readonly toIds?: boolean | undefined;
}

const iso = (ms: number | undefined) => (ms === undefined ? "-" : new Date(ms).toISOString());

/** Opens the state the distributed mode shares; imported lists live only there. */
async function openState(): Promise<{ state: RedisState; prefix: string; rulesDir: string }> {
  const config = loadConfig(process.env, CONNECTORS);
  if (!config.redisUrl) {
    throw new RiposteError(
      "RIPOSTE_CONFIG_INVALID",
      "imported lists need Redis, where every correlator reads them: set REDIS_URL (lists in rules/lists/*.txt work without it)",
    );
  }
  const state = new RedisState({ url: config.redisUrl, cluster: config.redisCluster });
  try {
    await state.ready();
  } catch (e) {
    await state.close();
    throw e;
  }
  return { state, prefix: config.topics.prefix, rulesDir: config.rulesDir };
}

async function importCommand(name: string | undefined, file: string | undefined, opts: ListsOptions): Promise<number> {
  if (!name || !file)
    throw new RiposteError("RIPOSTE_CONFIG_INVALID", "usage: riposte lists import NAME FILE --format F");
  const format = opts.format as FeedFormat | undefined;
  if (!format || !FEED_FORMATS.includes(format)) {
    throw new RiposteError("RIPOSTE_CONFIG_INVALID", `--format must be one of ${FEED_FORMATS.join(", ")}`);
  }
  const ttlMs = parseDuration(opts.ttl ?? DEFAULT_TTL);
  if (ttlMs === undefined) throw new RiposteError("RIPOSTE_CONFIG_INVALID", `--ttl: expected ${DURATION_HINT}`);
  const { state, prefix } = await openState();
  try {
    if ((await stat(file)).size > MAX_FEED_BYTES) {
      throw new RiposteError("RIPOSTE_BODY_TOO_LARGE", `${file} is larger than ${MAX_FEED_BYTES} bytes`);
    }
    const text = await readFile(file, "utf8");
    const nowMs = Date.now();
    let parsed;
    try {
      parsed = parseFeed(format, text, { nowMs, column: opts.column, toIdsOnly: opts.toIds ?? false });
    } catch (e) {
      throw new RiposteError("RIPOSTE_BODY_INVALID", `${file} (${format}): ${messageOf(e)}`, { cause: e });
    }
    const result = await importList(state, prefix, name, parsed.entries, ttlMs, nowMs);
    const byType: Record<string, number> = {};
    for (const e of parsed.entries) byType[e.type] = (byType[e.type] ?? 0) + 1;
    const report = {
      list: name,
      format,
      records: parsed.records,
      imported: parsed.entries.length,
      by_type: byType,
      skipped: parsed.skippedCount,
      skipped_first: parsed.skipped,
      entries: result.count,
      version: result.version,
    };
    process.stderr.write(
      `${name}: ${parsed.entries.length} entries imported from ${parsed.records} records, ${parsed.skippedCount} skipped; the list holds ${result.count} (version ${result.version})\n`,
    );
    for (const s of parsed.skipped) process.stderr.write(`  skipped ${s.at}: ${s.reason}\n`);
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  } finally {
    await state.close();
  }
}

async function showCommand(name: string | undefined): Promise<number> {
  const { state, prefix, rulesDir } = await openState();
  try {
    const nowMs = Date.now();
    const files = await loadLists(rulesDir);
    if (name === undefined) {
      const rows = [["NAME", "SOURCE", "ENTRIES", "FIRST EXPIRY", "LAST EXPIRY"]];
      for (const s of await listSummaries(state, prefix, nowMs)) {
        rows.push([s.name, "imported", String(s.count), iso(s.firstExpiry), iso(s.lastExpiry)]);
      }
      for (const [n, l] of files) rows.push([n, "file", String(l.size), "-", "-"]);
      const widths = rows[0]?.map((_, k) => Math.max(...rows.map((r) => (r[k] ?? "").length))) ?? [];
      for (const r of rows)
        process.stdout.write(
          `${r
            .map((c, k) => c.padEnd(widths[k] ?? 0))
            .join("  ")
            .trimEnd()}\n`,
        );
      return 0;
    }
    const known = (await state.listNames(listNamesKey(prefix))).includes(name);
    const file = files.get(name);
    if (!known && !file)
      throw new RiposteError("RIPOSTE_NOT_FOUND", `no list named "${name}" (imported or in rules/lists/)`);
    if (file) process.stdout.write(`# also ${file.size} entries in ${rulesDir}/lists/${name}.txt (no expiry)\n`);
    for (const e of known ? await listContents(state, prefix, name, nowMs) : []) {
      process.stdout.write(`${e.value}\t${typeOf(e.value)}\t${iso(e.expires)}\n`);
    }
    return 0;
  } finally {
    await state.close();
  }
}

/** `riposte lists import|show`; undefined for an unknown sub-command. */
export function listsCommand(
  sub: string | undefined,
  args: readonly string[],
  opts: ListsOptions,
): Promise<number> | undefined {
  if (sub === "import") return importCommand(args[0], args[1], opts);
  if (sub === "show") return showCommand(args[0]);
  return undefined;
}
