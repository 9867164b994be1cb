/**
 * A MISP fake for `POST /attributes/restSearch` (MISP OpenAPI restSearchAttributes; PyMISP fixtures for the auth
 * error): the raw key in `Authorization`, a JSON body `{returnFormat, value, type?, to_ids?, includeEventTags,
 * limit, page}`, answers `{response: {Attribute: [...]}}` one page at a time (page numbers from 1), CakePHP errors
 * `{name, message, url}` (403 for a bad key, 400 for a bad body).
 */
import { startFake, type FakeServer, type Recorded, type Reply } from "./http.ts";

export const MISP_KEY = "riposteTestMispAuthKey0123456789abcdefABCD";

export interface MispAttribute {
  id: string;
  event_id: string;
  type: string;
  category: string;
  value: string;
  to_ids: boolean;
  tags: string[];
  event_info: string;
}

export interface MispFake extends FakeServer {
  readonly attributes: MispAttribute[];
  searches(): Recorded[];
}

export const cakeError = (status: number, message: string, url = "/attributes/restSearch"): Reply => ({
  status,
  body: { name: message, message, url },
});

const AUTH_FAILED =
  "Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.";

export async function startMispFake(): Promise<MispFake> {
  const attributes: MispAttribute[] = [];
  const fake = await startFake((req) => {
    if (req.headers.authorization !== MISP_KEY) return cakeError(403, AUTH_FAILED);
    if (req.method !== "POST" || req.path !== "/attributes/restSearch") return cakeError(404, "Not Found", req.path);
    let q: {
      value?: unknown;
      type?: unknown;
      to_ids?: unknown;
      limit?: unknown;
      page?: unknown;
      returnFormat?: unknown;
    };
    try {
      q = JSON.parse(req.body) as typeof q;
    } catch {
      return cakeError(400, "Invalid JSON input");
    }
    if (q.returnFormat !== "json" || typeof q.value !== "string") return cakeError(400, "Missing or invalid value");
    const types = Array.isArray(q.type) ? (q.type as string[]) : typeof q.type === "string" ? [q.type] : undefined;
    const hits = attributes.filter(
      (a) =>
        a.value === q.value &&
        (types === undefined || types.includes(a.type)) &&
        (q.to_ids === undefined || a.to_ids === q.to_ids),
    );
    const limit = typeof q.limit === "number" ? q.limit : hits.length;
    const page = typeof q.page === "number" ? q.page : 1;
    return {
      status: 200,
      body: {
        response: {
          Attribute: hits.slice((page - 1) * limit, page * limit).map((a) => ({
            id: a.id,
            event_id: a.event_id,
            object_id: "0",
            category: a.category,
            type: a.type,
            value: a.value,
            to_ids: a.to_ids,
            uuid: `00000000-0000-4000-8000-${a.id.padStart(12, "0")}`,
            timestamp: "1700000000",
            distribution: "5",
            comment: "",
            deleted: false,
            Event: { id: a.event_id, info: a.event_info, org_id: "1", orgc_id: "1", distribution: "1" },
            Tag: a.tags.map((name, i) => ({ id: String(i + 1), name, colour: "#ffffff" })),
          })),
        },
      },
    };
  });
  return Object.assign(fake, {
    attributes,
    searches: () => fake.requests.filter((r) => r.path === "/attributes/restSearch"),
  });
}
