/** Plain text as an Atlassian Document Format document (Jira v3 rejects plain strings in description and comments). */

interface AdfNode {
  readonly type: string;
  readonly text?: string;
  readonly content?: readonly AdfNode[];
}

/** Paragraphs at blank lines, hard breaks at single newlines. */
export function adf(text: string): { type: "doc"; version: 1; content: AdfNode[] } {
  const paragraphs = text
    .replace(/\r\n?/g, "\n")
    .split(/\n{2,}/)
    .map((p) => p.trim())
    .filter((p) => p !== "");
  return {
    type: "doc",
    version: 1,
    content: paragraphs.map((p) => ({
      type: "paragraph",
      content: p
        .split("\n")
        .flatMap((line, i): AdfNode[] => [
          ...(i > 0 ? [{ type: "hardBreak" }] : []),
          ...(line === "" ? [] : [{ type: "text", text: line }]),
        ]),
    })),
  };
}
