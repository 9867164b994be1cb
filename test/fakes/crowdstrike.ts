/**
 * A CrowdStrike Falcon API fake speaking the documented shapes (Falcon API reference, Hosts collection:
 * QueryDevicesByFilter, GetDeviceDetailsV2, PerformActionV2; OAuth2 collection): OAuth2 client credentials
 * (`POST /oauth2/token`), device query (`GET /devices/queries/devices/v1?filter=...`), device details
 * (`GET /devices/entities/devices/v2?ids=...`: device_id, hostname, local_ip, status normal|contained) and device
 * actions (`POST /devices/entities/devices-actions/v2?action_name=contain`), with the envelope
 * {meta, resources, errors}.
 */
import { isIP } from "node:net";
import { startFake, type FakeServer, type Recorded } from "./http.ts";

export const FALCON_CLIENT_ID = "riposte-test-client";
export const FALCON_CLIENT_SECRET = "riposte-test-secret-0123456789";

export interface FalconFake extends FakeServer {
  /** hostname or local IP → device id */
  readonly devices: Map<string, string>;
  /**
   * What the device record says for an id (hostname, local_ip), when it should differ from the lookup names
   * (a lookup name that resolves to another machine). By default the first hostname and IP mapping to the id.
   */
  readonly records: Map<string, { hostname?: string; local_ip?: string }>;
  /** Device ids currently contained. */
  readonly contained: Set<string>;
  /** The contain / lift requests received. */
  actions(): Recorded[];
  /**
   * When set, a contain / lift request takes effect at once but its answer is held this long (the vendor acted,
   * the caller has not heard): for killing an executor between the call and its completion.
   */
  holdActionsMs: number;
}

const meta = () => ({ query_time: 0.01, powered_by: "device-api", trace_id: "00000000-0000-0000-0000-000000000000" });

export async function startFalconFake(devices: Record<string, string> = {}): Promise<FalconFake> {
  const known = new Map(Object.entries(devices));
  const records = new Map<string, { hostname?: string; local_ip?: string }>();
  const contained = new Set<string>();
  const tokens = new Set<string>();
  const control = { holdActionsMs: 0 };
  /** A device record as the Hosts API returns it (a subset of its fields). */
  const deviceRecord = (id: string) => {
    const names = [...known].filter(([, v]) => v === id).map(([k]) => k);
    const own = records.get(id);
    return {
      device_id: id,
      cid: "0123456789abcdef0123456789abcdef",
      hostname: own?.hostname ?? names.find((n) => isIP(n) === 0) ?? "",
      local_ip: own?.local_ip ?? names.find((n) => isIP(n) !== 0) ?? "",
      external_ip: "203.0.113.10",
      platform_name: "Windows",
      status: contained.has(id) ? "contained" : "normal",
    };
  };
  const fake = await startFake((req) => {
    if (req.method === "POST" && req.path === "/oauth2/token") {
      const form = new URLSearchParams(req.body);
      if (form.get("client_id") !== FALCON_CLIENT_ID || form.get("client_secret") !== FALCON_CLIENT_SECRET) {
        return {
          status: 401,
          body: { meta: meta(), errors: [{ code: 401, message: "access denied, invalid client credentials" }] },
        };
      }
      const token = `tok-${tokens.size + 1}`;
      tokens.add(token);
      return { status: 201, body: { access_token: token, token_type: "bearer", expires_in: 1799 } };
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!auth || !tokens.has(auth))
      return {
        status: 401,
        body: { meta: meta(), errors: [{ code: 401, message: "access denied, authorization failed" }] },
      };
    if (req.method === "GET" && req.path === "/devices/queries/devices/v1") {
      const m = /^(hostname|local_ip):'([^']*)'$/.exec(req.query.get("filter") ?? "");
      if (!m)
        return {
          status: 400,
          body: { meta: meta(), resources: [], errors: [{ code: 400, message: "invalid filter" }] },
        };
      const id = known.get(m[2] as string);
      return {
        status: 200,
        body: {
          meta: { ...meta(), pagination: { offset: 0, limit: 100, total: id ? 1 : 0 } },
          resources: id ? [id] : [],
          errors: [],
        },
      };
    }
    if (req.method === "GET" && req.path === "/devices/entities/devices/v2") {
      const ids = req.query.getAll("ids").flatMap((v) => v.split(","));
      const found = ids.filter((id) => [...known.values()].includes(id));
      return {
        status: found.length === 0 && ids.length > 0 ? 404 : 200,
        body: {
          meta: meta(),
          resources: found.map(deviceRecord),
          errors: ids
            .filter((id) => !found.includes(id))
            .map((id) => ({ code: 404, message: `device ${id} not found` })),
        },
      };
    }
    if (req.method === "POST" && req.path === "/devices/entities/devices-actions/v2") {
      const action = req.query.get("action_name");
      const ids = (JSON.parse(req.body || "{}") as { ids?: string[] }).ids ?? [];
      const unknown = ids.filter((id) => ![...known.values()].includes(id));
      if (unknown.length > 0)
        return {
          status: 404,
          body: { meta: meta(), resources: [], errors: [{ code: 404, message: `device ${unknown[0]} not found` }] },
        };
      for (const id of ids) {
        if (action === "contain") contained.add(id);
        else if (action === "lift_containment") contained.delete(id);
        else
          return {
            status: 400,
            body: { meta: meta(), resources: [], errors: [{ code: 400, message: `invalid action_name ${action}` }] },
          };
      }
      return {
        status: 202,
        body: {
          meta: meta(),
          resources: ids.map((id) => ({ id, path: `/devices/entities/devices/v1?ids=${id}` })),
          errors: [],
        },
        ...(control.holdActionsMs > 0 ? { delayMs: control.holdActionsMs } : {}),
      };
    }
    return { status: 404, body: { meta: meta(), errors: [{ code: 404, message: "no route" }] } };
  });
  return Object.defineProperties(
    Object.assign(fake, {
      devices: known,
      records,
      contained,
      actions: () => fake.requests.filter((r) => r.path === "/devices/entities/devices-actions/v2"),
    }),
    {
      holdActionsMs: {
        get: () => control.holdActionsMs,
        set: (ms: number) => void (control.holdActionsMs = ms),
        enumerable: true,
      },
    },
  ) as FalconFake;
}
