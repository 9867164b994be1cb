/**
 * Schema of a source mapping file, `rules/sources/<name>.yaml`: how to read one vendor's JSON events as OCSF without
 * code. A mapping file is plain data: member paths, constants and lookup tables; nothing in it is evaluated, and no
 * regular expression is taken from it (format detection uses literal checks only).
 */
import { z } from "zod";

/** Longest member path, and most segments in one. */
const MAX_PATH_CHARS = 256;
const MAX_PATH_SEGMENTS = 16;

/** One step of a member path: an object member or an array index. */
export type PathSegment = string | number;

/** Keys that would reach an object's prototype machinery instead of its data. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

const isKeyChar = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 64 || c === 36;

/**
 * The segments of a member path, `a.b[0].c` (members are letters, digits, `_`, `-`, `@`, `$`; indexes 0–999), or a
 * sentence saying what is wrong with it. A hand-written scanner, linear in the path's length.
 */
export function parseMemberPath(path: string): PathSegment[] | string {
  if (path.length === 0) return "a member path cannot be empty";
  if (path.length > MAX_PATH_CHARS) return `a member path has at most ${MAX_PATH_CHARS} characters`;
  const out: PathSegment[] = [];
  let i = 0;
  while (i < path.length) {
    if (out.length > 0) {
      if (path[i] === "[") {
        const close = path.indexOf("]", i);
        const digits = close < 0 ? "" : path.slice(i + 1, close);
        if (!/^\d{1,3}$/.test(digits)) return `"${path}": an index is [0] to [999]`;
        out.push(Number(digits));
        i = close + 1;
        continue;
      }
      if (path[i] !== ".") return `"${path}": expected "." or "[" at character ${i + 1}`;
      i++;
    }
    const start = i;
    while (i < path.length && isKeyChar(path.charCodeAt(i))) i++;
    if (i === start) return `"${path}": expected a member name at character ${i + 1}`;
    const key = path.slice(start, i);
    if (FORBIDDEN_KEYS.has(key)) return `"${path}": "${key}" is not a member name a mapping may use`;
    out.push(key);
    if (out.length > MAX_PATH_SEGMENTS) return `"${path}": a member path has at most ${MAX_PATH_SEGMENTS} segments`;
  }
  return out;
}

/** A member path of the vendor event (`agentRealtimeInfo.networkInterfaces[0].inet[0]`). */
export const MemberPath = z.string().superRefine((s, ctx) => {
  const parsed = parseMemberPath(s);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
});

/** One path, or fallbacks tried in order (the first that yields a value wins). */
export const PathList = z.union([MemberPath, z.array(MemberPath).min(1).max(16)]);

const Scalar = z.union([z.string().max(4096), z.number(), z.boolean()]);

/** A vendor value looked up in a table (keys compared as text, case-insensitively), with a default. */
const lookup = <T extends z.ZodType>(value: T) =>
  z.strictObject({
    path: PathList,
    map: z.record(z.string().max(256), value).optional(),
    default: value.optional(),
  });

/** Where an OCSF field's value comes from: a member path, fallback paths, a constant, or a lookup. */
export const ValueSource = z.union([
  PathList,
  z.strictObject({ const: z.union([Scalar, z.array(z.union([z.string().max(4096), z.number()])).max(64)]) }),
  lookup(Scalar),
]);
export type ValueSource = z.infer<typeof ValueSource>;

/** An integer (class_uid, activity_id, severity_id): a constant, or a vendor value through a table. */
export const IntSource = z.union([z.number().int(), lookup(z.number().int())]);
export type IntSource = z.infer<typeof IntSource>;

/** One literal check of format detection. */
export const DetectCheck = z
  .strictObject({
    path: MemberPath,
    /** The member is present and not null or empty. */
    present: z.literal(true).optional(),
    /** The member equals this value, or one of these values. */
    equals: z.union([Scalar, z.array(Scalar).min(1).max(64)]).optional(),
    /** The member is a string starting with this text. */
    prefix: z.string().min(1).max(256).optional(),
  })
  .refine((c) => [c.present, c.equals, c.prefix].filter((v) => v !== undefined).length === 1, {
    message: "a check has exactly one of present: true, equals or prefix",
  });
export type DetectCheck = z.infer<typeof DetectCheck>;

/** An OCSF field path of the emitted event, as `fields` keys name them (`device.hostname`, `evidences[0].file.name`). */
export const OcsfPath = MemberPath;

/** The OCSF fields whose value may give the event's primary entity, and the kind of entity each gives. */
export const ENTITY_FIELDS = {
  "device.hostname": "host",
  "device.name": "host",
  "src_endpoint.hostname": "host",
  "dst_endpoint.hostname": "host",
  "user.name": "user",
  "user.email_addr": "user",
  "user.uid": "user",
  "actor.user.name": "user",
  "actor.user.email_addr": "user",
  "actor.user.uid": "user",
  "device.ip": "ip",
  "src_endpoint.ip": "ip",
  "dst_endpoint.ip": "ip",
} as const;
export type EntityField = keyof typeof ENTITY_FIELDS;

const EntityFieldName = z.enum(Object.keys(ENTITY_FIELDS) as [EntityField, ...EntityField[]]);

const FormatName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{1,63}$/, "a format name: lower-case letters, digits and _, starting with a letter");

/** A source mapping file. */
export const MappingFile = z.strictObject({
  /** The format name (`?format=`, `--format`, RIPOSTE_SOURCE_FORMATS); unique among all formats. */
  format: FormatName,
  aliases: z.array(FormatName).max(8).optional(),
  description: z.string().max(4096).optional(),
  /** metadata.product of every event. */
  product: z.strictObject({
    vendor_name: z.string().min(1).max(256),
    name: z.string().min(1).max(256),
    version: z.string().max(64).optional(),
  }),
  /** Literal checks that must all hold for an event to be of this format. */
  detect: z.array(DetectCheck).min(1).max(32),
  class_uid: IntSource,
  activity_id: IntSource,
  /** severity_id: a constant, or a vendor value through a table (0 Unknown when neither map nor default gives one). */
  severity: IntSource,
  /** The event's own time; without one, or when unreadable, the received time is used and the event marked. */
  time: z
    .strictObject({ path: PathList, format: z.enum(["iso8601", "epoch_s", "epoch_ms", "auto"]).default("auto") })
    .optional(),
  /** OCSF field ← where its value comes from. */
  fields: z.record(OcsfPath, ValueSource),
  /** The OCSF fields that give the primary entity, in order of preference (the first with a value wins). */
  entity: z.union([EntityFieldName, z.array(EntityFieldName).min(1).max(8)]),
});
export type MappingFile = z.infer<typeof MappingFile>;
