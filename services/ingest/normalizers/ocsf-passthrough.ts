/**
 * Events a sender already emits as OCSF (Security Lake, an OCSF-native product, a pipeline that maps upstream): taken
 * as they are and validated like every other normalizer's output. Recognised by the attributes OCSF's base event makes
 * required (class_uid, category_uid, activity_id, severity_id, time, metadata.product, metadata.version). What Riposte
 * computes is never taken from the sender: the `riposte` block, the captions and type_uid are recomputed by finalize.
 */
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { reject } from "./types.ts";
import { eventTime } from "./finalize.ts";
import { CLASS_SCHEMAS } from "./mapping.ts";
import { port, type Obj } from "./util.ts";

/** The classes Riposte's union knows. */
const KNOWN_CLASSES: ReadonlySet<number> = new Set(CLASS_SCHEMAS.keys());

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** Attributes Riposte computes: dropped from the sender's event before finalize recomputes them. */
const COMPUTED = ["riposte", "type_uid", "type_name", "category_name", "class_name", "severity", "raw_data"] as const;

/** Which OCSF-required attributes the event lacks (or has with the wrong type); empty when it has them all. */
export function missingOcsf(o: Obj): string[] {
  const missing: string[] = [];
  for (const k of ["class_uid", "category_uid", "activity_id", "severity_id"]) if (!isInt(o[k])) missing.push(k);
  if (o["time"] === undefined || o["time"] === null) missing.push("time");
  const md = o["metadata"];
  if (!isObj(md)) missing.push("metadata");
  else {
    if (!isObj(md["product"])) missing.push("metadata.product");
    if (typeof md["version"] !== "string") missing.push("metadata.version");
  }
  return missing;
}

/** An endpoint with a port sent as a numeric string ("8888") read as the number OCSF defines. */
function endpoint(v: unknown): unknown {
  if (!isObj(v) || typeof v["port"] !== "string") return v;
  const p = port(v["port"]);
  return p === undefined ? v : { ...v, port: p };
}

export const ocsfPassthrough: Normalizer = {
  format: "ocsf",
  aliases: ["ocsf_passthrough"],
  // class_uid first: most events reaching detection lack it, and then the full list is not built.
  detect: (e: RawEvent) => e.kind === "json" && isInt(e.value["class_uid"]) && missingOcsf(e.value).length === 0,
  normalize(e: RawEvent) {
    if (e.kind !== "json") throw new Error("an OCSF event is a JSON object, not a text line");
    const o = e.value;
    const missing = missingOcsf(o);
    if (missing.length > 0) throw new Error(`not an OCSF event: ${missing.join(", ")} missing or not of OCSF's type`);
    const classUid = o["class_uid"] as number;
    if (!KNOWN_CLASSES.has(classUid)) {
      return reject(
        `ocsf: class_uid ${classUid} is not a class Riposte takes (it takes ${[...KNOWN_CLASSES].join(", ")})`,
      );
    }
    const categoryUid = o["category_uid"] as number;
    if (categoryUid !== Math.floor(classUid / 1000))
      throw new Error(`category_uid ${categoryUid} is not the category of class_uid ${classUid}`);
    const activityId = o["activity_id"] as number;
    if (isInt(o["type_uid"]) && o["type_uid"] !== classUid * 100 + activityId)
      throw new Error(
        `type_uid ${o["type_uid"]} is not class_uid × 100 + activity_id (${classUid * 100 + activityId})`,
      );
    const draft: Record<string, unknown> = { ...o };
    for (const k of COMPUTED) delete draft[k];
    const md = o["metadata"] as Obj;
    const { version, ...metadata } = md;
    // The sender's OCSF version is kept as a label: the event is validated against, and labelled as, Riposte's.
    const labels = Array.isArray(md["labels"]) ? md["labels"].filter((l) => typeof l === "string") : [];
    draft["metadata"] = { ...metadata, labels: [...labels, `ocsf_version:${String(version)}`] };
    draft["time"] = eventTime(o["time"]);
    for (const k of ["src_endpoint", "dst_endpoint", "device"]) if (k in draft) draft[k] = endpoint(draft[k]);
    return draft as unknown as Draft;
  },
};
