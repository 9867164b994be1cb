/**
 * A ServiceNow Table API fake for the incident table (ServiceNowDocs c_TableAPI.md): `GET /api/now/table/incident`
 * with `sysparm_query` (`correlation_id=<v>^ORDERBYsys_created_on`), `sysparm_fields`, `sysparm_limit` →
 * `{result: [...]}`; `POST` → 201 `{result}` with a Location header; `PATCH /api/now/table/incident/{sys_id}` →
 * 200 `{result}` (work_notes appended to the journal); errors as `{error: {message, detail}, status: "failure"}`;
 * basic auth.
 */
import { randomBytes } from "node:crypto";
import { startFake, type FakeServer, type Recorded, type Reply } from "./http.ts";

export const SN_USER = "riposte.integration";
export const SN_PASSWORD = "riposte-test-password-0123456789";

export interface SnIncident {
  sys_id: string;
  number: string;
  state: string;
  fields: Record<string, string>;
  work_notes: string[];
}

export interface ServiceNowFake extends FakeServer {
  readonly incidents: SnIncident[];
  /** When true, inserts fail on an ACL (403). */
  denyInsert: boolean;
  /** Hold the answer to each insert this long after the record exists. */
  holdCreateMs: number;
  creates(): Recorded[];
  updates(): Recorded[];
}

export const snError = (status: number, message: string, detail: string): Reply => ({
  status,
  body: { error: { message, detail }, status: "failure" },
});

export async function startServiceNowFake(): Promise<ServiceNowFake> {
  const incidents: SnIncident[] = [];
  const control = { denyInsert: false, holdCreateMs: 0 };
  const basic = `Basic ${Buffer.from(`${SN_USER}:${SN_PASSWORD}`).toString("base64")}`;
  const pick = (i: SnIncident, fields: string | null) => {
    const all: Record<string, string> = { ...i.fields, sys_id: i.sys_id, number: i.number, state: i.state };
    if (!fields) return all;
    return Object.fromEntries(fields.split(",").map((f) => [f, all[f] ?? ""]));
  };
  const parse = (body: string): Record<string, unknown> | undefined => {
    try {
      const v = JSON.parse(body) as unknown;
      return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const fake = await startFake((req) => {
    if (req.headers.authorization !== basic)
      return snError(401, "User Not Authenticated", "Required to provide Auth information");
    const fields = req.query.get("sysparm_fields");
    if (req.path === "/api/now/table/incident" && req.method === "GET") {
      const q = req.query.get("sysparm_query") ?? "";
      const m = /^correlation_id=([^^]*)\^ORDERBYsys_created_on$/.exec(q);
      const hits = m ? incidents.filter((i) => i.fields["correlation_id"] === m[1]) : incidents;
      const limit = Number(req.query.get("sysparm_limit") ?? "10000");
      return { status: 200, body: { result: hits.slice(0, limit).map((i) => pick(i, fields)) } };
    }
    if (req.path === "/api/now/table/incident" && req.method === "POST") {
      const b = parse(req.body);
      if (!b) return snError(400, "Exception while reading request", "The payload is not valid JSON.");
      if (control.denyInsert)
        return snError(403, "Operation Failed", "ACL Exception Insert Failed due to security constraints");
      const values = Object.fromEntries(Object.entries(b).map(([k, v]) => [k, String(v)]));
      const sysId = randomBytes(16).toString("hex");
      const inc: SnIncident = {
        sys_id: sysId,
        number: `INC${String(10_001 + incidents.length).padStart(7, "0")}`,
        state: "1",
        fields: values,
        work_notes: [],
      };
      incidents.push(inc);
      const reply: Reply = {
        status: 201,
        body: { result: pick(inc, fields) },
        headers: { location: `${fake.url}/api/now/table/incident/${sysId}` },
      };
      return control.holdCreateMs > 0 ? { ...reply, delayMs: control.holdCreateMs } : reply;
    }
    const m = /^\/api\/now\/table\/incident\/([^/]+)$/.exec(req.path);
    if (m && req.method === "PATCH") {
      const inc = incidents.find((i) => i.sys_id === m[1]);
      if (!inc) return snError(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval");
      const b = parse(req.body);
      if (!b) return snError(400, "Exception while reading request", "The payload is not valid JSON.");
      if (typeof b["work_notes"] === "string") inc.work_notes.push(b["work_notes"]);
      if (typeof b["state"] === "string") inc.state = b["state"];
      return { status: 200, body: { result: pick(inc, fields) } };
    }
    return snError(400, "Requested URI does not represent any resource", `${req.method} ${req.path}`);
  });
  const prop = <K extends keyof typeof control>(k: K) => ({
    get: () => control[k],
    set: (v: (typeof control)[K]) => void (control[k] = v),
    enumerable: true,
  });
  return Object.defineProperties(
    Object.assign(fake, {
      incidents,
      creates: () => fake.requests.filter((r) => r.method === "POST"),
      updates: () => fake.requests.filter((r) => r.method === "PATCH"),
    }),
    { denyInsert: prop("denyInsert"), holdCreateMs: prop("holdCreateMs") },
  ) as ServiceNowFake;
}
