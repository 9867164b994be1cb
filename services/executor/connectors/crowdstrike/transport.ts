/**
 * The CrowdStrike Falcon transport: OAuth2 client credentials (token cached until a minute before expiry, a 401
 * refreshes it once), device lookup by hostname or local IP, device details, device actions.
 */
import { isIP } from "node:net";
import { RiposteError } from "../../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls } from "../http.ts";
import type { PlannedRequest } from "../types.ts";

/** Where a dry-run preview shows the device id the lookup would find. */
export const DEVICE_PLACEHOLDER = "{device_id}";

const withQuery = (path: string, q: Record<string, string>) => `${path}?${new URLSearchParams(q).toString()}`;

/** The requests of each call (the token request aside), shared by the calls and the dry-run preview. */
export const FALCON_REQUESTS = {
  /** Device ids by hostname or local IP (FQL; quotes and backslashes dropped so a name cannot end the literal). */
  deviceQuery: (host: string): PlannedRequest => {
    const field = isIP(host) ? "local_ip" : "hostname";
    const safe = host.replace(/['\\]/g, "");
    return {
      method: "GET",
      path: withQuery("/devices/queries/devices/v1", { filter: `${field}:'${safe}'`, limit: "2" }),
    };
  },
  deviceDetails: (id: string): PlannedRequest => ({
    method: "GET",
    path:
      id === DEVICE_PLACEHOLDER
        ? `/devices/entities/devices/v2?ids=${id}`
        : withQuery("/devices/entities/devices/v2", { ids: id }),
  }),
  deviceAction: (name: "contain" | "lift_containment", id: string): PlannedRequest => ({
    method: "POST",
    path: withQuery("/devices/entities/devices-actions/v2", { action_name: name }),
    body: { ids: [id] },
  }),
} as const;

interface FalconEnvelope {
  resources?: unknown[];
  errors?: Array<{ code?: number; message?: string }>;
}

/** A planned request as the transport sends it (the path keeps its query string). */
const planned = (p: PlannedRequest) => ({
  method: p.method as "GET" | "POST",
  path: p.path,
  ...(p.body === undefined ? {} : { json: p.body }),
});

export class FalconClient {
  private token: { value: string; expires: number } | undefined;
  readonly http: HttpTransport;
  private readonly credentials: Readonly<Record<string, string>>;

  constructor(url: string, credentials: Readonly<Record<string, string>>) {
    this.credentials = credentials;
    this.http = new HttpTransport("CrowdStrike", url);
  }

  private async bearer(signal: AbortSignal): Promise<string> {
    if (this.token && this.token.expires > Date.now()) return this.token.value;
    const res = await this.http.ok(
      {
        method: "POST",
        path: "/oauth2/token",
        form: {
          client_id: this.credentials["client_id"] ?? "",
          client_secret: this.credentials["client_secret"] ?? "",
        },
        signal,
      },
      "token request",
    );
    const body = (res.body ?? {}) as { access_token?: string; expires_in?: number };
    if (!body.access_token)
      throw new RiposteError("RIPOSTE_CONNECTOR_AUTH", "CrowdStrike token response has no access_token");
    this.token = {
      value: body.access_token,
      expires: Date.now() + Math.max(30, (body.expires_in ?? 1799) - 60) * 1000,
    };
    return body.access_token;
  }

  /** Calls the API with a bearer token, fetching a new token once if the current one is refused. */
  async api(
    req: Parameters<HttpTransport["send"]>[0] & { signal: AbortSignal },
    what: string,
  ): Promise<FalconEnvelope> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.bearer(req.signal);
      const res = await this.http.send({ ...req, headers: { ...req.headers, authorization: `Bearer ${token}` } });
      if (res.status === 401 && attempt === 0) {
        this.token = undefined;
        continue;
      }
      if (res.status < 200 || res.status > 299) throw httpError("CrowdStrike", res, what);
      return res.body ?? {};
    }
  }

  /** The one Falcon device id for a hostname or IP; refuses when none or several match. */
  async deviceId(host: string, signal: AbortSignal): Promise<string> {
    const field = isIP(host) ? "local_ip" : "hostname";
    const body = await this.api({ ...planned(FALCON_REQUESTS.deviceQuery(host)), signal }, "device lookup");
    const ids = (body.resources ?? []).filter((r): r is string => typeof r === "string");
    if (ids.length === 0)
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_NOT_FOUND",
        redactUrls(`CrowdStrike has no host with ${field} ${host}`),
      );
    if (ids.length > 1) {
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_REJECTED",
        redactUrls(
          `CrowdStrike has several hosts with ${field} ${host}; refusing to contain more than one (name the device_id)`,
        ),
      );
    }
    return ids[0] as string;
  }

  /**
   * A device's record (Hosts API `GET /devices/entities/devices/v2?ids=`): its hostname, local_ip and
   * containment `status` (normal, containment_pending, contained, lift_containment_pending).
   */
  async deviceDetails(id: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    const body = await this.api({ ...planned(FALCON_REQUESTS.deviceDetails(id)), signal }, "device details");
    const device = (body.resources ?? []).find(
      (r): r is Record<string, unknown> =>
        typeof r === "object" && r !== null && (r as Record<string, unknown>)["device_id"] === id,
    );
    if (!device) throw new RiposteError("RIPOSTE_CONNECTOR_NOT_FOUND", `CrowdStrike has no device ${id}`);
    return device;
  }

  async deviceAction(
    name: "contain" | "lift_containment",
    id: string,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const body = await this.api({ ...planned(FALCON_REQUESTS.deviceAction(name, id)), signal }, name);
    const errors = body.errors ?? [];
    if (errors.length > 0) {
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_REJECTED",
        redactUrls(`CrowdStrike ${name}: ${errors.map((e) => `${e.code} ${e.message}`).join("; ")}`),
      );
    }
    return { device_id: id, action: name, resources: body.resources ?? [] };
  }
}
