/**
 * CrowdStrike Falcon: OAuth2 client credentials, device lookup by hostname or local IP, device details (hostname,
 * local_ip, containment status), network containment
 * (`/devices/entities/devices-actions/v2?action_name=contain|lift_containment`).
 */
import { isIP } from "node:net";
import { z } from "zod";
import { RiposteError } from "../../shared/errors.ts";
import { HttpTransport, httpError, redactUrls } from "./http.ts";
import { action, type ConnectorDescriptor } from "./types.ts";

interface FalconEnvelope {
  resources?: unknown[];
  errors?: Array<{ code?: number; message?: string }>;
}

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
    const safe = host.replace(/['\\]/g, "");
    const body = await this.api(
      {
        method: "GET",
        path: "/devices/queries/devices/v1",
        query: { filter: `${field}:'${safe}'`, limit: "2" },
        signal,
      },
      "device lookup",
    );
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
    const body = await this.api(
      { method: "GET", path: "/devices/entities/devices/v2", query: { ids: id }, signal },
      "device details",
    );
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
    const body = await this.api(
      {
        method: "POST",
        path: "/devices/entities/devices-actions/v2",
        query: { action_name: name },
        json: { ids: [id] },
        signal,
      },
      name,
    );
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

const HostInput = z
  .object({
    /** A hostname or a local IP address. */
    host: z.string().min(1).max(255).optional(),
    device_id: z
      .string()
      .regex(/^[0-9a-f]{32}$/, "a 32-hex Falcon device id")
      .optional(),
  })
  .refine((i) => i.host ?? i.device_id, "host or device_id is required");

async function deviceOf(client: FalconClient, input: z.infer<typeof HostInput>, signal: AbortSignal) {
  const id = input.device_id ?? (await client.deviceId(input.host as string, signal));
  const d = await client.deviceDetails(id, signal);
  const text = (k: string) => (typeof d[k] === "string" && d[k] !== "" ? [d[k]] : []);
  // local_ip only: the external IP is a NAT address many hosts share, so it says nothing about this one.
  return {
    id,
    hosts: text("hostname"),
    ips: text("local_ip"),
    detail: { device_id: id, hostname: d["hostname"], local_ip: d["local_ip"], status: d["status"] },
  };
}

/** Containment statuses meaning the effect of `contain` (or of `lift_containment`) is in place or under way. */
const EFFECT = {
  contain: new Set(["contained", "containment_pending"]),
  lift_containment: new Set(["normal", "lift_containment_pending"]),
} as const;

function deviceAction(name: "contain" | "lift_containment", reverse: string, description: string) {
  return action({
    classification: "containment",
    idempotent: true,
    reverse,
    lifts: name === "lift_containment",
    description,
    input: HostInput,
    resolve: async (client: FalconClient, { input, signal }) => deviceOf(client, input, signal),
    verify: async (client: FalconClient, { input, signal }) => {
      // Always asked afresh: the point is the device's state now, after an attempt of unknown outcome.
      const device = await deviceOf(client, input, signal);
      const status = typeof device.detail["status"] === "string" ? device.detail["status"] : "";
      return { done: EFFECT[name].has(status), response: { ...device.detail, verified: true } };
    },
    run: async (client: FalconClient, { input, signal, resolved }) =>
      client.deviceAction(name, resolved?.id ?? (await deviceOf(client, input, signal)).id, signal),
  });
}

export const crowdstrike: ConnectorDescriptor<FalconClient> = {
  name: "crowdstrike",
  title: "CrowdStrike Falcon",
  credentials: ["client_id", "client_secret"],
  client: (url, credentials) => new FalconClient(url, credentials),
  actions: {
    contain_host: deviceAction(
      "contain",
      "lift_containment",
      "Network-contain a host (Falcon 'contain' device action)",
    ),
    lift_containment: deviceAction("lift_containment", "contain_host", "Lift network containment of a host"),
    get_device: action({
      classification: "enrich",
      idempotent: true,
      description: "Look a host up (by name, local IP or device id): device id, hostname, local IP, containment status",
      input: HostInput,
      run: async (client: FalconClient, { input, signal }) => (await deviceOf(client, input, signal)).detail,
    }),
  },
};
