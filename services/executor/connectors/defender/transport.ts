/**
 * The Defender for Endpoint transport (learn.microsoft.com defender-endpoint/api: get-machines, find-machines-by-ip,
 * isolate-machine, unisolate-machine, get-machineactions-collection, common-errors): Entra client credentials for
 * `https://api.securitycenter.microsoft.com/.default`, machines found by DNS name (`$filter=computerDnsName eq`), by
 * internal IP (`findbyip`) or by id, isolation as machine actions.
 */
import { isIP } from "node:net";
import { RiposteError } from "../../../shared/errors.ts";
import { redactUrls, type HttpResponse } from "../http.ts";
import { EntraTokens, MicrosoftApi, microsoftError, objectBody, odataString, withQuery } from "../microsoft.ts";
import type { PlannedRequest } from "../types.ts";

export const DEFENDER_SCOPE = "https://api.securitycenter.microsoft.com/.default";
const HINTS = { connector: "DEFENDER", permissions: "WindowsDefenderATP Machine.Read.All and Machine.Isolate" };

/** Where a dry-run preview shows the machine id the lookup would find, and the lookup time of an IP. */
export const MACHINE_PLACEHOLDER = "{machine_id}";
export const NOW_PLACEHOLDER = "{now}";

export type IsolationType = "Full" | "Selective";

/** The requests of each call, shared by the calls and the dry-run preview. */
export const DEFENDER_REQUESTS = {
  byName: (name: string): PlannedRequest => ({
    method: "GET",
    path: withQuery("/api/machines", { $filter: `computerDnsName eq ${odataString(name)}` }),
  }),
  /** Machines seen with an internal IP in the 15 minutes either side of `at` (an ISO time in the past 30 days). */
  byIp: (ip: string, at: string): PlannedRequest => ({
    method: "GET",
    path: `/api/machines/findbyip(ip='${ip}',timestamp=${at})`,
  }),
  byId: (id: string): PlannedRequest => ({ method: "GET", path: `/api/machines/${id}` }),
  isolate: (id: string, comment: string, type: IsolationType): PlannedRequest => ({
    method: "POST",
    path: `/api/machines/${id}/isolate`,
    // Defender's body names are case-sensitive: "comment" would be refused as InvalidRequestBody.
    body: { Comment: comment, IsolationType: type },
  }),
  unisolate: (id: string, comment: string): PlannedRequest => ({
    method: "POST",
    path: `/api/machines/${id}/unisolate`,
    body: { Comment: comment },
  }),
  actions: (id: string): PlannedRequest => ({
    method: "GET",
    path: withQuery("/api/machineactions", { $filter: `machineId eq ${odataString(id)}` }),
  }),
} as const;

/** A machine entity (the fields the connector reads). */
export interface Machine {
  readonly id: string;
  readonly computerDnsName: string;
  readonly lastIpAddress: string;
  readonly ips: readonly string[];
  readonly raw: Readonly<Record<string, unknown>>;
}

/** A machine action (`Isolate`, `Unisolate`, ...) as Defender returns it. */
export interface MachineAction {
  readonly id: string;
  readonly type: string;
  readonly status: string;
  readonly scope: string;
  readonly created: string;
}

const text = (v: unknown) => (typeof v === "string" ? v : "");
const MACHINE_ID = /^[0-9a-f]{40}$/i;

function machineOf(v: unknown): Machine | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const m = v as Record<string, unknown>;
  if (!MACHINE_ID.test(text(m["id"]))) return undefined;
  const nics = Array.isArray(m["ipAddresses"]) ? (m["ipAddresses"] as unknown[]) : [];
  const ips = [
    text(m["lastIpAddress"]),
    ...nics.map((n) => text((n as Record<string, unknown> | null)?.["ipAddress"])),
  ].filter((ip) => isIP(ip) !== 0);
  return {
    id: text(m["id"]),
    computerDnsName: text(m["computerDnsName"]),
    lastIpAddress: text(m["lastIpAddress"]),
    ips: [...new Set(ips)],
    raw: m,
  };
}

function actionOf(v: unknown): MachineAction | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const a = v as Record<string, unknown>;
  if (text(a["id"]) === "") return undefined;
  return {
    id: text(a["id"]),
    type: text(a["type"]),
    status: text(a["status"]),
    scope: text(a["scope"]),
    created: text(a["creationDateTimeUtc"]),
  };
}

/** Statuses of a machine action whose effect is in place or under way. */
const LIVE = new Set(["Pending", "InProgress", "Succeeded"]);
/** The most pages of machine actions read for one machine. */
const MAX_PAGES = 20;

export class DefenderClient {
  readonly api: MicrosoftApi;

  constructor(url: string, credentials: Readonly<Record<string, string>>, now?: () => number) {
    this.api = new MicrosoftApi(
      "Defender",
      HINTS,
      url,
      new EntraTokens("Defender", HINTS, credentials, DEFENDER_SCOPE, now),
    );
  }

  private error(res: HttpResponse, what: string) {
    return microsoftError("Defender", res, what, HINTS);
  }

  /** The one machine a DNS name, an internal IP (seen around `at`) or a machine id names; refuses none or several. */
  async machine(key: { host?: string | undefined; machineId?: string | undefined; at: string }, signal: AbortSignal) {
    if (key.machineId !== undefined) {
      const res = await this.api.call(DEFENDER_REQUESTS.byId(key.machineId), signal, "machine lookup");
      const m = machineOf(objectBody("Defender", res, "machine lookup"));
      if (!m)
        throw new RiposteError("RIPOSTE_CONNECTOR_UNAVAILABLE", "Defender machine lookup: no machine id in the answer");
      return m;
    }
    const host = key.host ?? "";
    const byIp = isIP(host) !== 0;
    const planned = byIp ? DEFENDER_REQUESTS.byIp(host, key.at) : DEFENDER_REQUESTS.byName(host);
    const res = await this.api.send(planned, signal);
    const what = byIp ? `internal IP ${host}` : `DNS name ${host}`;
    // The docs answer 404 when there are no recent machines: the same as an empty list.
    let found: Machine[] = [];
    if (res.status !== 404) {
      if (res.status < 200 || res.status > 299) throw this.error(res, "machine lookup");
      const value = objectBody("Defender", res, "machine lookup")["value"];
      if (!Array.isArray(value))
        throw new RiposteError(
          "RIPOSTE_CONNECTOR_UNAVAILABLE",
          "Defender machine lookup: the answer has no value list",
        );
      found = value.map(machineOf).filter((m): m is Machine => m !== undefined);
    }
    if (found.length === 0)
      throw new RiposteError("RIPOSTE_CONNECTOR_NOT_FOUND", redactUrls(`Defender has no machine with ${what}`));
    if (found.length > 1)
      throw new RiposteError(
        "RIPOSTE_CONNECTOR_REJECTED",
        redactUrls(
          `Defender has ${found.length} machines with ${what} (${found.map((m) => m.computerDnsName || m.id).join(", ")}); refusing to act on more than one (name the machine_id)`,
        ),
      );
    return found[0] as Machine;
  }

  /** The machine's isolation-related actions, newest first. */
  async isolationActions(id: string, signal: AbortSignal): Promise<MachineAction[]> {
    const out: MachineAction[] = [];
    let path: string | undefined = DEFENDER_REQUESTS.actions(id).path;
    for (let page = 0; path !== undefined && page < MAX_PAGES; page++) {
      const res = await this.api.call({ method: "GET", path }, signal, "machine actions");
      const b = objectBody("Defender", res, "machine actions");
      const value = Array.isArray(b["value"]) ? (b["value"] as unknown[]) : [];
      out.push(...value.map(actionOf).filter((a): a is MachineAction => a !== undefined));
      path = this.api.nextPath(b["@odata.nextLink"], "machine actions");
    }
    return out
      .filter((a) => a.type === "Isolate" || a.type === "Unisolate")
      .sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  }

  /** Whether the machine is isolated (or being isolated): its newest live Isolate or Unisolate action says. */
  async isolation(id: string, signal: AbortSignal): Promise<{ isolated: boolean; action?: MachineAction }> {
    const latest = (await this.isolationActions(id, signal)).find((a) => LIVE.has(a.status));
    return latest ? { isolated: latest.type === "Isolate", action: latest } : { isolated: false };
  }

  /**
   * Isolates or releases a machine. Defender refuses a repeat while one is pending or done (400
   * ActiveRequestAlreadyExists, "already isolated"): when the machine's actions then show the wanted state, the
   * change is done.
   */
  async setIsolation(
    id: string,
    op: "isolate" | "unisolate",
    comment: string,
    type: IsolationType,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const planned =
      op === "isolate" ? DEFENDER_REQUESTS.isolate(id, comment, type) : DEFENDER_REQUESTS.unisolate(id, comment);
    const res = await this.api.send(planned, signal);
    if (res.status >= 200 && res.status <= 299) {
      const a = actionOf(objectBody("Defender", res, op));
      return {
        machine_id: id,
        action: op,
        action_id: a?.id,
        status: a?.status,
        ...(op === "isolate" ? { isolation_type: type } : {}),
      };
    }
    if (res.status === 400 && alreadyDone(res)) {
      const now = await this.isolation(id, signal);
      if (now.isolated === (op === "isolate"))
        return { machine_id: id, action: op, already: true, action_id: now.action?.id, status: now.action?.status };
    }
    throw this.error(res, op);
  }
}

/** A 400 saying the same action is pending or its effect is in place. */
function alreadyDone(res: HttpResponse): boolean {
  const e = (res.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return (
    e?.code === "ActiveRequestAlreadyExists" ||
    /already (isolated|in progress|unisolated|released)/i.test(text(e?.message))
  );
}
