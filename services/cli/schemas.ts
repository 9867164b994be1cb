/** `riposte schemas export [DIR]`: JSON Schema from the zod schemas, for other tools. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import {
  ActionRecord,
  Authentication,
  Decision,
  DetectionFinding,
  DlqRecord,
  EmailActivity,
  Incident,
  NormalizedEvent,
  PlaybookFile,
  RuleFile,
} from "../../schemas/index.ts";

export const EXPORTED: Record<string, z.ZodType> = {
  "normalized-event": NormalizedEvent,
  "detection-finding": DetectionFinding,
  authentication: Authentication,
  "email-activity": EmailActivity,
  decision: Decision,
  "action-record": ActionRecord,
  "dlq-record": DlqRecord,
  incident: Incident,
  "rule-file": RuleFile,
  "playbook-file": PlaybookFile,
};

/** The JSON Schema documents, by file name. */
export function jsonSchemas(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(EXPORTED).map(([name, schema]) => [
      `${name}.schema.json`,
      `${JSON.stringify({ $id: `https://riposte.dev/schemas/${name}.schema.json`, ...z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) }, null, 2)}\n`,
    ]),
  );
}

export async function schemasExportCommand(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(jsonSchemas())) await writeFile(join(dir, file), text);
  process.stdout.write(`wrote ${Object.keys(EXPORTED).length} JSON Schema files to ${dir}\n`);
  return 0;
}
