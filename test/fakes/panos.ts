/**
 * A PAN-OS XML API fake for the User-ID API (docs.paloaltonetworks.com "Apply User-ID Mapping and Populate Dynamic
 * Groups (API)", "PAN-OS XML API Error Codes"; the uid-response shapes firewalls send): `POST /api/` with form
 * fields `type=user-id` and `cmd=<uid-message>`, the key in `X-PAN-KEY`; answers `<response status="success">`,
 * per-entry errors inside `<msg><line><uid-response>` ("already exists, ignore", "does not exist, ignore unreg"),
 * or `<response status="error" code="403">` for a bad key. Keeps the registered IP → tag → timeout table.
 */
import { startFake, type FakeServer, type Recorded, type Reply } from "./http.ts";

export const PANOS_KEY = "LUFRPT1riposteTestKey0123456789abcdef==";
export const PANOS_TAG = "riposte-block";

export interface PanosFake extends FakeServer {
  /** ip → tag → timeout (seconds) as last registered. */
  readonly registered: Map<string, Map<string, number | undefined>>;
  /** ip → the message the firewall refuses its entry with (a per-entry failure). */
  readonly refuse: Map<string, string>;
  /** The User-ID requests received (type=user-id). */
  uidCalls(): Recorded[];
}

const xmlText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
const unescape = (s: string) =>
  s.replace(
    /&(lt|gt|quot|apos|amp);/g,
    (_, e: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[e] as string,
  );

export const xmlReply = (status: number, raw: string): Reply => ({
  status,
  raw,
  headers: { "content-type": "application/xml; charset=UTF-8" },
});

/** A whole-request error as PAN-OS sends it. */
export const panosErrorReply = (code: string, msg: string, status = 200): Reply =>
  xmlReply(status, `<response status="error" code="${code}"><result><msg>${xmlText(msg)}</msg></result></response>`);

/** The entries of one section (register / unregister) of a uid-message. */
function entries(cmd: string, op: "register" | "unregister") {
  const section = new RegExp(`<${op}>([\\s\\S]*?)</${op}>`).exec(cmd)?.[1] ?? "";
  return [...section.matchAll(/<entry ip="([^"]*)"[^>]*>([\s\S]*?)<\/entry>/g)].map((m) => ({
    ip: unescape(m[1] as string),
    members: [...(m[2] as string).matchAll(/<member(?: timeout="(\d+)")?>([^<]*)<\/member>/g)].map((t) => ({
      tag: unescape(t[2] as string),
      timeout: t[1] === undefined ? undefined : Number(t[1]),
    })),
  }));
}

export async function startPanosFake(): Promise<PanosFake> {
  const registered = new Map<string, Map<string, number | undefined>>();
  const refuse = new Map<string, string>();
  const fake = await startFake((req) => {
    if (req.method !== "POST" || req.path !== "/api/") return panosErrorReply("400", "Bad request", 400);
    if (req.headers["x-pan-key"] !== PANOS_KEY || req.query.has("key"))
      return panosErrorReply("403", "Invalid Credential", 403);
    const form = new URLSearchParams(req.body);
    if (form.get("type") !== "user-id") return panosErrorReply("400", 'Illegal value for parameter "type"');
    const cmd = form.get("cmd") ?? "";
    if (!cmd.startsWith("<uid-message>") || !cmd.includes("<type>update</type>"))
      return panosErrorReply("18", "Malformed command");
    const said: Record<"register" | "unregister", string[]> = { register: [], unregister: [] };
    for (const e of entries(cmd, "register")) {
      const refusal = refuse.get(e.ip);
      if (refusal) {
        said.register.push(`<entry ip="${xmlText(e.ip)}" message="${xmlText(refusal)}"/>`);
        continue;
      }
      const tags = registered.get(e.ip) ?? new Map<string, number | undefined>();
      registered.set(e.ip, tags);
      for (const m of e.members) {
        if (tags.has(m.tag))
          said.register.push(`<entry ip="${xmlText(e.ip)}" message="tag ${xmlText(m.tag)} already exists, ignore"/>`);
        tags.set(m.tag, m.timeout);
      }
    }
    for (const e of entries(cmd, "unregister")) {
      const tags = registered.get(e.ip);
      for (const m of e.members) {
        if (!tags?.has(m.tag))
          said.unregister.push(
            `<entry ip="${xmlText(e.ip)}" message="tag ${xmlText(m.tag)} does not exist, ignore unreg"/>`,
          );
        tags?.delete(m.tag);
      }
      if (tags?.size === 0) registered.delete(e.ip);
    }
    const payload =
      `<payload><register>${said.register.join("")}</register>` +
      `<unregister>${said.unregister.join("")}</unregister></payload>`;
    if (said.register.length + said.unregister.length === 0)
      return xmlReply(
        200,
        `<response status="success"><result><uid-response><version>2.0</version>${payload}</uid-response></result></response>`,
      );
    return xmlReply(
      200,
      `<response status="error"><msg><line><uid-response><version>2.0</version>${payload}</uid-response></line></msg></response>`,
    );
  });
  return Object.assign(fake, {
    registered,
    refuse,
    uidCalls: () => fake.requests.filter((r) => new URLSearchParams(r.body).get("type") === "user-id"),
  });
}
