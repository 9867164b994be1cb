/**
 * YAML/JSON documents with positions: a problem found at a path of the parsed value (a zod issue's path) is reported
 * as file:line:column, where a detection engineer's editor can jump.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from "yaml";

/** A problem of a file, at a position (1-based line and column). */
export interface FileProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export function formatProblem(p: FileProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

/** A parsed document and a way to place a path of it. */
export interface PositionedDoc {
  readonly value: unknown;
  /** Where the deepest existing node of `path` starts (a map entry's key, a list's item). */
  at(path: readonly PropertyKey[]): { line: number; column: number };
}

/** Parses YAML or JSON (aliases refused, like every rule file); syntax errors come back as problems with positions. */
export function parseWithPositions(
  file: string,
  text: string,
): { ok: true; doc: PositionedDoc } | { ok: false; problems: FileProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return { file, line, column: col, message: `not valid YAML/JSON: ${e.message.split("\n")[0] ?? ""}` };
      }),
    };
  }
  let value: unknown;
  try {
    // Aliases are refused so a file cannot expand into a huge document.
    value = doc.toJS({ maxAliasCount: 0 });
  } catch (e) {
    return { ok: false, problems: [{ file, line: 1, column: 1, message: (e as Error).message }] };
  }
  const at = (path: readonly PropertyKey[]) => {
    const offset = offsetOf(doc, path);
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  return { ok: true, doc: { value, at } };
}

function offsetOf(doc: Document, path: readonly PropertyKey[]): number {
  let node: unknown = doc.contents;
  let offset = doc.contents?.range?.[0] ?? 0;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) =>
          (isScalar(p.key) ? p.key.value : p.key) === seg ||
          String(isScalar(p.key) ? p.key.value : p.key) === String(seg),
      );
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}
