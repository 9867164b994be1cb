/** `{{ path }}` templates over plain data. No expressions, no code: a path is dotted field names. */
import { RiposteError } from "../shared/errors.ts";

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}$/;

/** The value at a dotted path (array indexes as numbers: `observables.0.value`). */
export function valueAt(data: unknown, path: string): unknown {
  let cur = data;
  for (const part of path.replace(/^\$\.?/, "").split(".")) {
    if (part === "") continue;
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/**
 * Renders a template. A template that is one placeholder yields the value itself (which may be a number or a
 * list); otherwise placeholders are interpolated as text. A missing value is an error naming the path.
 */
export function render(template: string, data: unknown): unknown {
  const whole = WHOLE.exec(template);
  if (whole) {
    const v = valueAt(data, whole[1] as string);
    if (v === undefined || v === null || v === "") {
      throw new RiposteError("RIPOSTE_TEMPLATE_MISSING", `template ${template}: ${whole[1]} is missing`);
    }
    return v;
  }
  return template.replace(PLACEHOLDER, (_m, path: string) => {
    const v = valueAt(data, path);
    if (v === undefined || v === null)
      throw new RiposteError("RIPOSTE_TEMPLATE_MISSING", `template ${template}: ${path} is missing`);
    return typeof v === "string" ? v : JSON.stringify(v);
  });
}

/** Renders every value of a params map. */
export function renderAll(templates: Readonly<Record<string, string>>, data: unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(templates).map(([k, t]) => [k, render(t, data)]));
}
