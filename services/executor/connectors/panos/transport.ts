/**
 * The PAN-OS XML API User-ID transport (docs.paloaltonetworks.com "Apply User-ID Mapping and Populate Dynamic
 * Groups (API)", "PAN-OS XML API Error Codes"): `POST /api/` with form fields `type=user-id` and `cmd=<uid-message>`,
 * the API key in the `X-PAN-KEY` header (never in the URL, so never in a log line), and the answer's
 * `<response status="success|error" code="..">` read by the safe parser in xml.ts. One uid-message carries many
 * `<entry>`s: `update` registers and unregisters a whole list, split into requests under the firewall's size limit.
 */
import { RiposteError, messageOf } from "../../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls, type HttpResponse } from "../http.ts";
import type { PlannedRequest } from "../types.ts";
import { escapeXml, findAll, parseXml, type XmlElement } from "./xml.ts";

/** The longest registration PAN-OS accepts: 30 days, in seconds (0 = never expires). */
export const PANOS_MAX_TIMEOUT = 2_592_000;
/** Request body bytes per uid-message, well under the documented 5 MB POST limit. */
export const PANOS_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

const CHECK_KEY =
  "check RIPOSTE_CONNECTOR_PANOS_API_KEY: an API key of an admin whose role allows the XML API's User-ID requests";

export type UidOp = "register" | "unregister";

/** One IP to tag (`register`, with its timeout in seconds) or to untag (`unregister`). */
export interface UidEntry {
  readonly ip: string;
  readonly tag: string;
  /** Seconds until the firewall drops the registration by itself (register only; 0 = never). */
  readonly timeout?: number;
}

/** What the firewall said of one entry. */
export interface UidEntryResult {
  readonly op: UidOp;
  readonly ip: string;
  readonly tag: string;
  readonly ok: boolean;
  /** Already in place: registered before, or not registered when unregistering (PAN-OS "..., ignore"). */
  readonly already: boolean;
  readonly message?: string;
}

export interface UidUpdate {
  readonly register?: readonly UidEntry[];
  readonly unregister?: readonly UidEntry[];
}

function entryXml(e: UidEntry, op: UidOp): string {
  const timeout = op === "register" && e.timeout !== undefined ? ` timeout="${e.timeout}"` : "";
  return `<entry ip="${escapeXml(e.ip)}"><tag><member${timeout}>${escapeXml(e.tag)}</member></tag></entry>`;
}

/** The uid-message for a list of registrations and unregistrations (entries' values escaped). */
export function uidMessage(update: UidUpdate): string {
  const part = (op: UidOp, list: readonly UidEntry[] | undefined) =>
    list && list.length > 0 ? `<${op}>${list.map((e) => entryXml(e, op)).join("")}</${op}>` : "";
  return (
    "<uid-message><version>2.0</version><type>update</type><payload>" +
    part("register", update.register) +
    part("unregister", update.unregister) +
    "</payload></uid-message>"
  );
}

/** The request one uid-message is sent as: what a dry run records (the key travels in a header, not here). */
export function uidRequest(update: UidUpdate): PlannedRequest {
  return { method: "POST", path: "/api/", body: { type: "user-id", cmd: uidMessage(update) } };
}

/** PAN-OS error codes (XML API Error Codes page) by what they mean for Riposte. */
const AUTH_CODES = new Set(["403", "16", "22"]);
const TRANSIENT_CODES = new Set(["2", "3", "4", "5", "11", "21"]);

/** The coded error of a whole-request failure (`status="error"` without per-entry detail). */
export function panosError(code: string, message: string, what: string): RiposteError {
  const said = redactUrls(`PAN-OS ${what}: error${code ? ` code ${code}` : ""}${message ? `: ${message}` : ""}`);
  if (AUTH_CODES.has(code)) return new RiposteError("RIPOSTE_CONNECTOR_AUTH", `${said} (${CHECK_KEY})`);
  if (TRANSIENT_CODES.has(code)) return new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", said);
  if (/max registered-ip/i.test(message))
    return new RiposteError(
      "RIPOSTE_CONNECTOR_REJECTED",
      `${said} (the firewall holds as many registered IPs as the platform allows: unregister old ones or use the EDL)`,
    );
  return new RiposteError("RIPOSTE_CONNECTOR_REJECTED", said);
}

/** The text of `msg` and its `line`s, without the uid-response inside them. */
function messageText(root: XmlElement): string {
  const parts: string[] = [];
  for (const msg of findAll(root, "msg")) {
    const todo: XmlElement[] = [msg];
    while (todo.length > 0) {
      const e = todo.pop() as XmlElement;
      if (e.name === "uid-response") continue;
      if (e.text.trim() !== "") parts.push(e.text.trim());
      todo.push(...e.children);
    }
  }
  return parts.join("; ").slice(0, 500);
}

/** The firewall's benign "already so" messages: re-registering, and unregistering what is not registered. */
const ALREADY: Readonly<Record<UidOp, RegExp>> = {
  register: /already exists, ignore\s*$/i,
  unregister: /does not exist, ignore unreg\s*$/i,
};

/**
 * Reads a User-ID answer: success, per-entry results (an error answer lists the entries it refused; the others
 * were applied), or the coded error of a whole-request failure.
 */
export function readUidResponse(body: string, update: UidUpdate): UidEntryResult[] {
  const root = parseXml(body);
  if (root.name !== "response")
    throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "PAN-OS answer is not a <response>");
  const status = root.attrs["status"];
  const sent: Array<{ op: UidOp; e: UidEntry }> = [
    ...(update.register ?? []).map((e) => ({ op: "register" as const, e })),
    ...(update.unregister ?? []).map((e) => ({ op: "unregister" as const, e })),
  ];
  if (status === "success") return sent.map(({ op, e }) => ({ op, ip: e.ip, tag: e.tag, ok: true, already: false }));
  if (status !== "error")
    throw new RiposteError(
      "RIPOSTE_CONNECTOR_UNAVAILABLE",
      `PAN-OS answer has status "${String(status).slice(0, 20)}"`,
    );
  const said = new Map<string, string>();
  for (const op of ["register", "unregister"] as const)
    for (const section of findAll(root, op))
      for (const entry of section.children)
        if (entry.name === "entry" && entry.attrs["ip"] !== undefined)
          said.set(`${op} ${entry.attrs["ip"]}`, entry.attrs["message"] ?? entry.text.trim());
  if (said.size === 0) throw panosError(root.attrs["code"] ?? "", messageText(root), "User-ID update");
  return sent.map(({ op, e }) => {
    const message = said.get(`${op} ${e.ip}`);
    if (message === undefined) return { op, ip: e.ip, tag: e.tag, ok: true, already: false };
    const already = ALREADY[op].test(message);
    return { op, ip: e.ip, tag: e.tag, ok: already, already, message: message.slice(0, 300) };
  });
}

export class PanosClient {
  readonly http: HttpTransport;
  readonly tag: string;
  private readonly key: string;

  constructor(url: string, credentials: Readonly<Record<string, string>>) {
    this.http = new HttpTransport("PAN-OS", url);
    this.key = credentials["api_key"] ?? "";
    this.tag = (credentials["tag"] ?? "").trim();
    if (this.tag === "" || this.tag.length > 127)
      throw new RiposteError(
        "RIPOSTE_CONFIG_INVALID",
        "RIPOSTE_CONNECTOR_PANOS_TAG must be the dynamic address group's tag (1-127 characters)",
      );
  }

  /** Sends one uid-message; the per-entry results. */
  private async send(update: UidUpdate, signal: AbortSignal): Promise<UidEntryResult[]> {
    const planned = uidRequest(update);
    const res: HttpResponse = await this.http.send({
      method: "POST",
      path: planned.path,
      form: planned.body as Record<string, string>,
      headers: { "x-pan-key": this.key, accept: "application/xml" },
      signal,
    });
    if (res.status === 401 || res.status === 403) {
      const text = typeof res.body === "string" ? res.body : "";
      let detail: string;
      try {
        detail = messageText(parseXml(text));
      } catch (e) {
        detail = text === "" ? "" : `(unreadable answer: ${messageOf(e)})`;
      }
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_AUTH",
        redactUrls(`PAN-OS User-ID update: HTTP ${res.status} ${detail}`.trim()) + ` (${CHECK_KEY})`,
      );
    }
    if (res.status < 200 || res.status > 299) throw httpError("PAN-OS", res, "User-ID update");
    if (typeof res.body !== "string" || res.body.trim() === "")
      throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "PAN-OS User-ID update: the answer is not XML");
    return readUidResponse(res.body, update);
  }

  /**
   * Registers and unregisters many entries, in as few uid-messages as fit under PANOS_MAX_MESSAGE_BYTES (sent one
   * after the other). Every entry is idempotent at the firewall, so a failed request can be sent again whole.
   */
  async update(update: UidUpdate, signal: AbortSignal): Promise<UidEntryResult[]> {
    const results: UidEntryResult[] = [];
    for (const chunk of chunks(update)) results.push(...(await this.send(chunk, signal)));
    return results;
  }

  /** Registers a list of IPs with the configured tag, each with its timeout in seconds. */
  registerIps(entries: ReadonlyArray<{ ip: string; timeout?: number }>, signal: AbortSignal) {
    return this.update({ register: entries.map((e) => ({ ...e, tag: this.tag })) }, signal);
  }

  /** Unregisters a list of IPs from the configured tag. */
  unregisterIps(ips: readonly string[], signal: AbortSignal) {
    return this.update({ unregister: ips.map((ip) => ({ ip, tag: this.tag })) }, signal);
  }
}

/** Splits an update into updates whose form body stays under PANOS_MAX_MESSAGE_BYTES. */
export function chunks(update: UidUpdate, maxBytes = PANOS_MAX_MESSAGE_BYTES): UidUpdate[] {
  const out: UidUpdate[] = [];
  let reg: UidEntry[] = [];
  let unreg: UidEntry[] = [];
  let size = 0;
  // Form encoding at most triples a character (%XX); the envelope is under 200 bytes.
  const budget = Math.floor(maxBytes / 3) - 200;
  const flush = () => {
    if (reg.length + unreg.length > 0) out.push({ register: reg, unregister: unreg });
    reg = [];
    unreg = [];
    size = 0;
  };
  for (const [op, list] of [
    ["register", update.register ?? []],
    ["unregister", update.unregister ?? []],
  ] as const) {
    for (const e of list) {
      const bytes = Buffer.byteLength(entryXml(e, op)) + 30;
      if (size + bytes > budget) flush();
      (op === "register" ? reg : unreg).push(e);
      size += bytes;
    }
  }
  flush();
  return out;
}
