/**
 * The interpreter of source mapping files (schemas/mapping.ts): compiles one parsed file into a Normalizer. Pure: the
 * loader (../sources.ts) reads the files. Compilation checks every OCSF field path against the schema of each class
 * the mapping can emit, so a mapping that loads builds events of the right shape; what is left to run time is the
 * vendor's values (finalize validates the event as it does for every normalizer).
 */
import type { z } from "zod";
import {
  ENTITY_FIELDS,
  MappingFile,
  NormalizedEvent,
  parseMemberPath,
  SEVERITY,
  type IntSource,
  type PathSegment,
  type ValueSource,
} from "../../../schemas/index.ts";
import { NO_TIME } from "./finalize.ts";
import type { Draft, Normalizer, RawEvent } from "./types.ts";
import { reject } from "./types.ts";
import { get, ip, port, time as readTime } from "./util.ts";

/** A problem of a mapping file, at a path into the document (for file:line:column). */
export interface MappingProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

/** A normalizer built from a mapping file; it also chooses the event's entity. */
export interface MappingNormalizer extends Normalizer {
  /** The entity key the mapping's `entity` choice gives for a finalized event, when one of its fields has a value. */
  entityOf(event: NormalizedEvent): string | undefined;
}

export function isMappingNormalizer(n: Normalizer): n is MappingNormalizer {
  return typeof (n as Partial<MappingNormalizer>).entityOf === "function";
}

/** The kinds of OCSF value a mapping fills; `time` is an OCSF `*_time` (epoch ms), read from ISO 8601 or epoch s/ms. */
type Leaf = "string" | "ip" | "number" | "int" | "port" | "time" | "boolean" | "strings";
type Schema = z.ZodType;
type Def = { type: string } & Record<string, unknown>;

const defOf = (s: Schema): Def => (s as unknown as { def: Def }).def;

function unwrap(s: Schema): Schema {
  let cur = s;
  while (["optional", "nullable", "default"].includes(defOf(cur).type)) cur = defOf(cur)["innerType"] as Schema;
  return cur;
}

/** The OCSF classes Riposte emits (NormalizedEvent's union), by class_uid. */
export const CLASS_SCHEMAS: ReadonlyMap<number, Schema> = new Map<number, Schema>(
  (defOf(NormalizedEvent)["options"] as Schema[]).map((s) => {
    const shape = defOf(s)["shape"] as Record<string, Schema>;
    const values = defOf(shape["class_uid"] as Schema)["values"] as number[];
    return [values[0] as number, s];
  }),
);

/** Fields the interpreter or finalize sets: a mapping names them through its own keys, or not at all. */
const RESERVED = new Set([
  "riposte",
  "class_uid",
  "activity_id",
  "severity_id",
  "time",
  "type_uid",
  "category_uid",
  "category_name",
  "class_name",
  "severity",
  "raw_data",
  "observables",
  "unmapped",
]);

function leafOf(s: Schema, last: PathSegment | undefined): Leaf | undefined {
  const d = defOf(s);
  const isIp = (x: Schema) => defOf(x).type === "string" && ["ipv4", "ipv6"].includes(String(defOf(x)["format"]));
  if (d.type === "union" && (d["options"] as Schema[]).every(isIp)) return "ip";
  if (d.type === "string") return isIp(s) ? "ip" : "string";
  if (d.type === "boolean") return "boolean";
  if (d.type === "number") {
    if (typeof last === "string" && last.endsWith("_time")) return "time";
    if (s.safeParse(0.5).success) return "number";
    return last === "port" ? "port" : "int";
  }
  if (d.type === "array" && defOf(unwrap(d["element"] as Schema)).type === "string") return "strings";
  return undefined;
}

/** The kind of value an OCSF path of a class takes, or why the path is not a field of it. */
function resolveTarget(cls: Schema, segs: readonly PathSegment[]): { leaf: Leaf } | { error: string } {
  const fail = (error: string) => ({ error });
  let cur = unwrap(cls);
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] as PathSegment;
    const d = defOf(cur);
    if (typeof seg === "number") {
      if (d.type !== "array") return fail(`${pathText(segs.slice(0, i))} is not a list`);
      cur = unwrap(d["element"] as Schema);
      continue;
    }
    if (d.type !== "object") return fail(`${pathText(segs.slice(0, i))} has no members`);
    const shape = d["shape"] as Record<string, Schema>;
    if (!Object.hasOwn(shape, seg)) return fail(`no field "${pathText(segs.slice(0, i + 1))}"`);
    cur = unwrap(shape[seg] as Schema);
    if (defOf(cur).type === "array" && typeof segs[i + 1] !== "number" && i + 1 < segs.length)
      return fail(`${pathText(segs.slice(0, i + 1))} is a list: name an element, e.g. ${seg}[0]`);
  }
  const leaf = leafOf(cur, segs[segs.length - 1]);
  return leaf ? { leaf } : fail(`${pathText(segs)} is not a value (an object or list of objects): map its members`);
}

function pathText(segs: readonly PathSegment[]): string {
  return segs.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
}

/** Required fields of a class a mapping must fill (the interpreter and finalize fill the rest). */
function missingRequired(s: Schema, prefix: string, targets: readonly string[]): string[] {
  const d = defOf(unwrap(s));
  if (d.type !== "object") return targets.some((t) => t === prefix) ? [] : [prefix];
  const out: string[] = [];
  const shape = d["shape"] as Record<string, Schema>;
  for (const [key, child] of Object.entries(shape)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (prefix === "" && (RESERVED.has(key) || key === "metadata")) continue;
    if (["optional", "default"].includes(defOf(child).type)) continue;
    const inner = defOf(unwrap(child));
    if (inner.type === "object") {
      const mapped = targets.some((t) => t === path || t.startsWith(`${path}.`));
      if (!mapped) out.push(path);
      else out.push(...missingRequired(child, path, targets));
    } else if (!targets.some((t) => t === path || t.startsWith(`${path}.`))) out.push(path);
  }
  return out;
}

// Values.

/** Latest time accepted as an event's own (year 9999), as finalize's eventTime. */
const MAX_TIME = 253_402_300_799_999;

/** A scalar's text (tables and checks compare as text), else undefined. */
const scalarText = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : undefined;

const isPresent = (v: unknown) => v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0);

/** The value at a member path of a vendor event: own members only (a vendor's `constructor` stays data). */
export function readPath(o: unknown, segs: readonly PathSegment[]): unknown {
  let cur = o;
  for (const seg of segs) {
    if (typeof seg === "number") {
      cur = Array.isArray(cur) ? cur[seg] : undefined;
    } else if (cur !== null && typeof cur === "object" && !Array.isArray(cur) && Object.hasOwn(cur, seg)) {
      cur = (cur as Record<string, unknown>)[seg];
    } else return undefined;
  }
  return cur;
}

function coerce(v: unknown, leaf: Leaf): unknown {
  if (!isPresent(v)) return undefined;
  switch (leaf) {
    case "string":
      return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : undefined;
    case "ip":
      return ip(v);
    case "port":
      return port(v);
    case "time": {
      const t = readTime(v);
      return t !== undefined && t > 0 && t <= MAX_TIME ? t : undefined;
    }
    case "number":
    case "int": {
      const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
      return Number.isFinite(n) && (leaf === "number" || Number.isInteger(n)) ? n : undefined;
    }
    case "boolean":
      return typeof v === "boolean" ? v : v === "true" ? true : v === "false" ? false : undefined;
    case "strings": {
      const items = (Array.isArray(v) ? v : [v]).filter((x) => typeof x === "string" || typeof x === "number");
      return items.length > 0 ? items.map(String) : undefined;
    }
  }
}

interface Source {
  readonly paths: ReadonlyArray<readonly PathSegment[]>;
  readonly constant?: unknown;
  readonly map?: ReadonlyMap<string, unknown>;
  readonly fallback?: unknown;
}

const segsOf = (p: string) => parseMemberPath(p) as PathSegment[];
const pathsOf = (p: string | readonly string[]) => (typeof p === "string" ? [p] : p).map(segsOf);

function compileSource(src: ValueSource | IntSource): Source {
  if (typeof src === "string" || Array.isArray(src)) return { paths: pathsOf(src) };
  if (typeof src === "number") return { paths: [], constant: src };
  if ("const" in src) return { paths: [], constant: src.const };
  return {
    paths: pathsOf(src.path),
    ...(src.map ? { map: new Map(Object.entries(src.map).map(([k, v]) => [k.toLowerCase(), v])) } : {}),
    ...(src.default !== undefined ? { fallback: src.default } : {}),
  };
}

/** A source's value for an event, as the leaf type takes it; undefined when it gives none. */
function valueOf(src: Source, event: unknown, leaf: Leaf): unknown {
  if (src.constant !== undefined) return coerce(src.constant, leaf);
  for (const p of src.paths) {
    const raw = readPath(event, p);
    if (!isPresent(raw)) continue;
    const text = scalarText(raw);
    const v = src.map ? (text === undefined ? undefined : src.map.get(text.toLowerCase())) : raw;
    const out = coerce(v, leaf);
    if (out !== undefined) return out;
  }
  return coerce(src.fallback, leaf);
}

function timeOf(paths: ReadonlyArray<readonly PathSegment[]>, format: string, event: unknown): number {
  for (const p of paths) {
    const v = readPath(event, p);
    let t: number | undefined;
    if (format === "iso8601") t = typeof v === "string" && !/^\d+(\.\d+)?$/.test(v.trim()) ? readTime(v) : undefined;
    else if (format === "epoch_s" || format === "epoch_ms") {
      const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
      t = Number.isFinite(n) ? Math.round(format === "epoch_s" ? n * 1000 : n) : undefined;
    } else t = readTime(v);
    if (t !== undefined && t > 0 && t <= MAX_TIME) return t;
  }
  return NO_TIME;
}

function setPath(target: Record<string, unknown>, segs: readonly PathSegment[], value: unknown): void {
  let cur: Record<string | number, unknown> = target;
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i] as PathSegment;
    const next = segs[i + 1];
    cur[seg] ??= typeof next === "number" ? [] : {};
    cur = cur[seg] as Record<string | number, unknown>;
  }
  cur[segs[segs.length - 1] as PathSegment] = value;
}

/** Lists without the holes an index left (`evidences[1]` set, `evidences[0]` not). */
function dense(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(dense);
  if (v !== null && typeof v === "object")
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, dense(x)]));
  return v;
}

function detectOne(check: { segs: readonly PathSegment[]; kind: string; values: readonly unknown[] }, o: unknown) {
  const v = readPath(o, check.segs);
  if (check.kind === "present") return isPresent(v);
  if (check.kind === "prefix") return typeof v === "string" && v.startsWith(check.values[0] as string);
  const text = scalarText(v);
  return text !== undefined && check.values.some((e) => v === e || text === scalarText(e));
}

/** The values an integer source may give: its constant, or every value of its table and its default. */
function classesOf(src: IntSource): number[] {
  if (typeof src === "number") return [src];
  return [...new Set([...Object.values(src.map ?? {}), ...(src.default !== undefined ? [src.default] : [])])];
}

/**
 * Compiles a parsed mapping file (any JSON-like value) into a normalizer, or lists its problems with the path of each.
 */
export function compileMapping(
  doc: unknown,
): { ok: true; normalizer: MappingNormalizer; mapping: MappingFile } | { ok: false; problems: MappingProblem[] } {
  const parsed = MappingFile.safeParse(doc);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => ({ path: i.path as PathSegment[], message: i.message })),
    };
  }
  const m = parsed.data;
  const problems: MappingProblem[] = [];
  const classes = classesOf(m.class_uid);
  if (classes.length === 0) problems.push({ path: ["class_uid"], message: "the table gives no class" });
  classes.forEach((c) => {
    if (!CLASS_SCHEMAS.has(c))
      problems.push({
        path: typeof m.class_uid === "number" ? ["class_uid"] : ["class_uid", "map"],
        message: `class_uid ${c} is not one Riposte emits (${[...CLASS_SCHEMAS.keys()].join(", ")})`,
      });
  });
  for (const sev of classesOf(m.severity))
    if (!(sev in SEVERITY))
      problems.push({
        path: typeof m.severity === "number" ? ["severity"] : ["severity", "map"],
        message: `severity_id ${sev} is not an OCSF severity (${Object.keys(SEVERITY).join(", ")})`,
      });
  const known = classes.filter((c) => CLASS_SCHEMAS.has(c));
  // For each class: the fields that apply to it, with the kind of value each takes.
  const perClass = new Map<number, Array<{ segs: PathSegment[]; leaf: Leaf; src: Source }>>(known.map((c) => [c, []]));
  for (const [target, src] of Object.entries(m.fields)) {
    const segs = segsOf(target);
    const head = segs[0] as string;
    if (RESERVED.has(head) || target === "metadata.version" || (head === "metadata" && segs[1] === "product")) {
      problems.push({
        path: ["fields", target],
        message: `${target} is set by Riposte or by this file's own keys (class_uid, activity_id, severity, time, product)`,
      });
      continue;
    }
    const reasons: string[] = [];
    for (const c of known) {
      const resolved = resolveTarget(CLASS_SCHEMAS.get(c) as Schema, segs);
      if ("error" in resolved) reasons.push(`class ${c}: ${resolved.error}`);
      else {
        const { leaf } = resolved;
        const compiled = compileSource(src);
        if (compiled.constant !== undefined && coerce(compiled.constant, leaf) === undefined)
          problems.push({
            path: ["fields", target, "const"],
            message: `the constant is not a valid ${target} (${leaf})`,
          });
        perClass.get(c)?.push({ segs, leaf, src: compiled });
      }
    }
    if (known.length > 0 && reasons.length === known.length)
      problems.push({ path: ["fields", target], message: `not an OCSF field Riposte emits: ${reasons.join("; ")}` });
  }
  for (const c of known) {
    const targets = (perClass.get(c) ?? []).map((f) => pathText(f.segs.filter((s) => typeof s === "string")));
    for (const missing of missingRequired(CLASS_SCHEMAS.get(c) as Schema, "", targets))
      problems.push({ path: ["fields"], message: `class ${c} requires ${missing}: map it in fields` });
  }
  const entities = typeof m.entity === "string" ? [m.entity] : m.entity;
  entities.forEach((e, i) => {
    if (!Object.keys(m.fields).includes(e))
      problems.push({
        path: typeof m.entity === "string" ? ["entity"] : ["entity", i],
        message: `${e} is not in fields`,
      });
  });
  if (problems.length > 0) return { ok: false, problems };

  const detect = m.detect.map((c) => ({
    segs: segsOf(c.path),
    kind: c.present ? "present" : c.prefix !== undefined ? "prefix" : "equals",
    values:
      c.prefix !== undefined
        ? [c.prefix]
        : c.equals === undefined
          ? []
          : Array.isArray(c.equals)
            ? c.equals
            : [c.equals],
  }));
  const classSrc = compileSource(m.class_uid);
  const activitySrc = compileSource(m.activity_id);
  const severitySrc = compileSource(m.severity);
  const timeSpec = m.time ? { paths: pathsOf(m.time.path), format: m.time.format } : undefined;
  const format = m.format;

  const normalizer: MappingNormalizer = {
    format,
    ...(m.aliases ? { aliases: m.aliases } : {}),
    detect: (event: RawEvent) => event.kind === "json" && detect.every((c) => detectOne(c, event.value)),
    normalize(event: RawEvent) {
      if (event.kind !== "json") throw new Error(`${format} maps JSON events, not text lines`);
      const o = event.value;
      const classUid = valueOf(classSrc, o, "int") as number | undefined;
      const fields = classUid === undefined ? undefined : perClass.get(classUid);
      if (classUid === undefined || !fields) {
        const where =
          typeof m.class_uid === "number" ? "" : ` (${pathText(classSrc.paths[0] ?? [])} is not in its table)`;
        return reject(`${format}: the mapping gives no class for this event${where}`);
      }
      const draft: Record<string, unknown> = {
        class_uid: classUid,
        activity_id: valueOf(activitySrc, o, "int") ?? 0,
        severity_id: valueOf(severitySrc, o, "int") ?? 0,
        time: timeSpec ? timeOf(timeSpec.paths, timeSpec.format, o) : NO_TIME,
        metadata: { product: { ...m.product } },
      };
      for (const f of fields) {
        if (f.src.constant !== undefined) continue;
        const v = valueOf(f.src, o, f.leaf);
        if (v !== undefined) setPath(draft, f.segs, v);
      }
      // A constant is set where the object it belongs to has a value from the event (or at the top level): a hash's
      // algorithm without its digest, or a user's type without a user, would be half an object.
      for (const f of fields) {
        if (f.src.constant === undefined) continue;
        if (f.segs.length === 1 || readPath(draft, f.segs.slice(0, -1)) !== undefined)
          setPath(draft, f.segs, coerce(f.src.constant, f.leaf));
      }
      return dense(draft) as Draft;
    },
    entityOf(e: NormalizedEvent) {
      for (const field of entities) {
        const v = get(e, field);
        if (typeof v !== "string" || v === "") continue;
        const kind = ENTITY_FIELDS[field];
        return `${kind}:${kind === "ip" ? v : v.toLowerCase()}`;
      }
      return undefined;
    },
  };
  return { ok: true, normalizer, mapping: m };
}
