/** The `riposte` CLI: the entry point of every service and tool. */
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { isRiposteError, messageOf } from "../shared/errors.ts";
import { runCommand } from "./run.ts";
import { normalizeCommand } from "./normalize.ts";
import { rulesValidateCommand } from "./rules.ts";
import { rulesTestCommand } from "./rules-test.ts";
import { playbooksTestCommand } from "./playbooks-test.ts";
import { loadSourceMappings } from "../ingest/sources.ts";
import { schemasExportCommand } from "./schemas.ts";
import { dlqReplayCommand } from "./dlq.ts";
import { listsCommand } from "./lists.ts";
import { replayCommand } from "./replay.ts";

const HELP = `riposte — response orchestration for security alerts

Usage:
  riposte run all [--demo]            the whole pipeline in one process (embedded bus and state unless
                                      KAFKA_BROKERS / REDIS_URL are set); --demo replays the bundled alerts
  riposte run <service>               one service of the distributed mode: ingest, correlator, executor, api
  riposte normalize [--format F] [--mapping FILE]... [--unwrap] FILE...
                                      print each input event as normalized OCSF or as a DLQ record (NDJSON);
                                      --mapping adds a source mapping file (rules/sources/*.yaml) to try it;
                                      --unwrap normalizes the vendor event of Panther test records ({..., log})
  riposte dlq replay [--code C] [--since ISO] [--dry-run] [--from-beginning]
                                      send dead-lettered events back through normalization (Kafka + Redis);
                                      records this command replayed before are skipped unless --from-beginning
  riposte rules validate [DIR]        validate rule files, playbooks, lists and source mappings (default ./rules);
                                      every problem as file:line:column, exit 1 on any (alias: rules check)
  riposte rules test [DIR]            run the rule tests of DIR/tests/*.yaml (default ./rules): events in, the
                                      decisions expected; each failure as file:line:column, exit 1 on any
  riposte playbooks test [DIR]        run the playbook tests of DIR/playbooks/tests/*.yaml (default ./rules): a
                                      decision in, each step's connector answer mocked, the steps and the run's
                                      end expected; each failure as file:line:column, exit 1 on any
  riposte replay --rules DIR [--against DIR2] [--plan] [--respond-only] [--unwrap] FILE...
                                      backtest a rule set over recorded alerts (raw or normalized), in event time
                                      on fresh in-memory state: each decision as a JSON line, a summary on stderr;
                                      --against prints what DIR changes from DIR2 (added, removed, changed);
                                      --plan adds the steps each response would run (dry run, guards applied);
                                      --topic T --from ISO --to ISO reads those records from Kafka instead
  riposte lists import NAME FILE --format csv|stix|misp|text [--ttl 30d] [--column C] [--to-ids]
                                      import a threat-intel feed into the named list in Redis (REDIS_URL),
                                      where every correlator's inList sees it; --ttl for entries without expiry
  riposte lists show [NAME]           the imported lists with counts and expiries, or the entries of one
  riposte schemas export [DIR]        write JSON Schema for every Riposte schema (default ./schemas/json)
  riposte --version | --help

Configuration is read from environment variables; see README.md.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
      demo: { type: "boolean" },
      format: { type: "string" },
      source: { type: "string" },
      code: { type: "string" },
      since: { type: "string" },
      "dry-run": { type: "boolean" },
      "from-beginning": { type: "boolean" },
      mapping: { type: "string", multiple: true },
      unwrap: { type: "boolean" },
      ttl: { type: "string" },
      column: { type: "string" },
      "to-ids": { type: "boolean" },
      rules: { type: "string" },
      against: { type: "string" },
      plan: { type: "boolean" },
      "respond-only": { type: "boolean" },
      topic: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
    },
  });
  const [command, sub, ...rest] = positionals;
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    process.stdout.write(`riposte ${pkg.version} (node ${process.version})\n`);
    return 0;
  }
  if (values.help || !command) {
    process.stdout.write(`${HELP}\n`);
    return values.help ? 0 : 2;
  }
  switch (command) {
    case "run":
      // Before the configuration is read: source bindings (RIPOSTE_SOURCE_FORMATS) may name a mapping's format.
      await loadSourceMappings(process.env["RIPOSTE_RULES_DIR"] ?? "rules");
      await runCommand(sub, { demo: values.demo ?? false });
      return -1;
    case "normalize":
      return normalizeCommand(
        [sub, ...rest].filter((f): f is string => f !== undefined),
        {
          format: values.format,
          source: values.source,
          mappings: values.mapping,
          unwrap: values.unwrap ?? false,
          rulesDir: process.env["RIPOSTE_RULES_DIR"],
        },
      );
    case "rules":
      if (sub === "test") return rulesTestCommand(rest[0] ?? "rules");
      if (sub !== "validate" && sub !== "check") break;
      return rulesValidateCommand(rest[0] ?? "rules");
    case "playbooks":
      if (sub !== "test") break;
      return playbooksTestCommand(rest[0] ?? "rules");
    case "dlq":
      if (sub !== "replay") break;
      // Replayed events go through the same registry as ingest, source mappings included.
      await loadSourceMappings(process.env["RIPOSTE_RULES_DIR"] ?? "rules");
      return dlqReplayCommand({
        code: values.code,
        since: values.since,
        dryRun: values["dry-run"] ?? false,
        fromBeginning: values["from-beginning"] ?? false,
      });
    case "replay":
      return replayCommand(
        [sub, ...rest].filter((f): f is string => f !== undefined),
        {
          rulesDir: values.rules ?? process.env["RIPOSTE_RULES_DIR"] ?? "rules",
          against: values.against,
          format: values.format,
          source: values.source,
          unwrap: values.unwrap ?? false,
          respondOnly: values["respond-only"] ?? false,
          plan: values.plan ?? false,
          topic: values.topic,
          from: values.from,
          to: values.to,
        },
      );
    case "lists": {
      const run = listsCommand(sub, rest, {
        format: values.format,
        ttl: values.ttl,
        column: values.column,
        toIds: values["to-ids"],
      });
      if (run) return run;
      break;
    }
    case "schemas":
      if (sub !== "export") break;
      return schemasExportCommand(rest[0] ?? "schemas/json");
  }
  process.stderr.write(`riposte: unknown command "${[command, sub].filter(Boolean).join(" ")}"\n\n${HELP}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`riposte: ${isRiposteError(e) ? `${e.code}: ` : ""}${messageOf(e)}\n`);
    process.exitCode = 1;
  },
);
