/**
 * The little XML the PAN-OS XML API needs, without an XML library: `escapeXml` for what Riposte builds, and
 * `parseXml`, a single-pass parser for what the firewall answers. The parser never expands entities beyond the
 * five predefined ones and numeric references, refuses a DOCTYPE (no DTD, so no entity definitions, no external
 * fetches), and bounds size, depth and element count: its work is linear in the input, whatever the input.
 */
import { RiposteError } from "../../../shared/errors.ts";

export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  /** The element's own text (CDATA included), children's text excluded. */
  text: string;
}

export interface XmlLimits {
  readonly maxChars: number;
  readonly maxDepth: number;
  readonly maxElements: number;
}

/** Bounds of a firewall answer: a uid-response lists at most the entries Riposte sent (5 MB of request). */
export const XML_LIMITS: XmlLimits = { maxChars: 8 * 1024 * 1024, maxDepth: 32, maxElements: 200_000 };

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/** Text made safe for XML content and attribute values; characters XML 1.0 cannot carry are refused. */
export function escapeXml(text: string): string {
  // eslint-disable-next-line no-control-regex -- refusing the control characters XML 1.0 forbids is the point
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(text))
    throw new RiposteError("RIPOSTE_CONNECTOR_REJECTED", "a value has control characters XML cannot carry");
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

const NAMED: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

const malformed = (why: string) =>
  new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", `PAN-OS answer is not well-formed XML: ${why}`);

/** Decodes the predefined entities and numeric character references; any other entity is refused, not expanded. */
function decode(raw: string): string {
  if (!raw.includes("&")) return raw;
  let out = "";
  let i = 0;
  while (i < raw.length) {
    const amp = raw.indexOf("&", i);
    if (amp < 0) {
      out += raw.slice(i);
      break;
    }
    out += raw.slice(i, amp);
    const semi = raw.indexOf(";", amp);
    if (semi < 0 || semi - amp > 10) throw malformed("an unterminated character reference");
    const ref = raw.slice(amp + 1, semi);
    const named = NAMED[ref];
    if (named !== undefined) out += named;
    else if (/^#[0-9]{1,7}$/.test(ref) || /^#x[0-9a-fA-F]{1,6}$/.test(ref)) {
      const cp = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (cp > 0x10ffff || cp === 0) throw malformed("a character reference out of range");
      out += String.fromCodePoint(cp);
    } else throw malformed(`the entity &${ref.slice(0, 20)}; (only XML's predefined entities are read)`);
    i = semi + 1;
  }
  return out;
}

const NAME_START = /[A-Za-z_:]/;
const NAME_CHAR = /[A-Za-z0-9_:.-]/;
const SPACE = /[ \t\r\n]/;

/** Parses one XML document into its root element (linear time; see the module comment for what is refused). */
export function parseXml(src: string, limits: XmlLimits = XML_LIMITS): XmlElement {
  if (src.length > limits.maxChars) throw malformed(`larger than ${limits.maxChars} characters`);
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  let i = 0;
  const n = src.length;
  const expect = (s: string, at: number) => {
    const end = src.indexOf(s, at);
    if (end < 0) throw malformed(`"${s}" missing`);
    return end;
  };
  const readName = (): string => {
    const start = i;
    if (i >= n || !NAME_START.test(src[i] as string)) throw malformed(`a name expected at ${i}`);
    i++;
    while (i < n && NAME_CHAR.test(src[i] as string)) i++;
    return src.slice(start, i);
  };
  const skipSpace = () => {
    while (i < n && SPACE.test(src[i] as string)) i++;
  };
  while (i < n) {
    const lt = src.indexOf("<", i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const text = src.slice(i, textEnd);
      const top = stack.at(-1);
      if (top) top.text += decode(text);
      else if (text.trim() !== "") throw malformed("text outside the root element");
    }
    if (lt < 0) break;
    i = lt;
    if (src.startsWith("<?", i)) {
      i = expect("?>", i + 2) + 2;
    } else if (src.startsWith("<!--", i)) {
      i = expect("-->", i + 4) + 3;
    } else if (src.startsWith("<![CDATA[", i)) {
      const end = expect("]]>", i + 9);
      const top = stack.at(-1);
      if (!top) throw malformed("CDATA outside the root element");
      top.text += src.slice(i + 9, end);
      i = end + 3;
    } else if (src.startsWith("<!", i)) {
      throw malformed("a DOCTYPE or declaration (refused: no DTD is read)");
    } else if (src.startsWith("</", i)) {
      i += 2;
      const name = readName();
      skipSpace();
      if (src[i] !== ">") throw malformed(`"</${name}" not closed`);
      i++;
      const top = stack.pop();
      if (!top || top.name !== name) throw malformed(`</${name}> does not close <${top?.name ?? ""}>`);
    } else {
      i++;
      const name = readName();
      const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
      for (;;) {
        const before = i;
        skipSpace();
        if (src.startsWith("/>", i) || src[i] === ">") break;
        if (i === before) throw malformed(`space expected in <${name}> at ${i}`);
        const attr = readName();
        skipSpace();
        if (src[i] !== "=") throw malformed(`"=" expected after ${attr}`);
        i++;
        skipSpace();
        const quote = src[i];
        if (quote !== '"' && quote !== "'") throw malformed(`a quoted value expected for ${attr}`);
        const close = expect(quote, i + 1);
        const value = src.slice(i + 1, close);
        if (value.includes("<")) throw malformed(`"<" in the value of ${attr}`);
        if (Object.hasOwn(attrs, attr)) throw malformed(`${attr} given twice in <${name}>`);
        attrs[attr] = decode(value);
        i = close + 1;
      }
      if (++elements > limits.maxElements) throw malformed(`more than ${limits.maxElements} elements`);
      const el: XmlElement = { name, attrs, children: [], text: "" };
      const parent = stack.at(-1);
      if (parent) parent.children.push(el);
      else if (root) throw malformed("a second root element");
      else root = el;
      if (src[i] === "/") i += 2;
      else {
        i++;
        stack.push(el);
        if (stack.length > limits.maxDepth) throw malformed(`nested deeper than ${limits.maxDepth}`);
      }
    }
  }
  if (stack.length > 0) throw malformed(`<${stack.at(-1)?.name ?? ""}> not closed`);
  if (!root) throw malformed("no element");
  return root;
}

/** Every element named `name` under `el` (depth first, `el` included). */
export function findAll(el: XmlElement, name: string, out: XmlElement[] = []): XmlElement[] {
  const todo = [el];
  while (todo.length > 0) {
    const e = todo.pop() as XmlElement;
    if (e.name === name) out.push(e);
    for (let k = e.children.length - 1; k >= 0; k--) todo.push(e.children[k] as XmlElement);
  }
  return out;
}
