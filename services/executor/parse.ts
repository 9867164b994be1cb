/**
 * zod parsing on the executor's hot paths (every decision, every step's input, every run read back) through the
 * schemas' fast path (schemas/fast-parse.ts): the same output as zod's, and zod itself decides (with its error)
 * whatever the fast path is not sure of.
 */
import type { z } from "zod";
import { FAIL, fastParser } from "../../schemas/fast-parse.ts";

const parsers = new WeakMap<z.ZodType, (v: unknown) => unknown>();

function parserOf(schema: z.ZodType): (v: unknown) => unknown {
  let p = parsers.get(schema);
  if (!p) {
    p = fastParser(schema);
    parsers.set(schema, p);
  }
  return p;
}

/** `schema.parse(value)`: the same value, or the same error. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const out = parserOf(schema)(value);
  return out === FAIL ? schema.parse(value) : (out as T);
}

/** `schema.safeParse(value)`: the same verdict and value. */
export function safeParse<T>(schema: z.ZodType<T>, value: unknown): z.ZodSafeParseResult<T> {
  const out = parserOf(schema)(value);
  return out === FAIL ? schema.safeParse(value) : { success: true, data: out as T };
}
