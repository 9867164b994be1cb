/**
 * A Microsoft Defender for Endpoint API fake speaking the documented shapes (learn.microsoft.com defender-endpoint/
 * api: get-machines, find-machines-by-ip, get-machine-by-id, isolate-machine, unisolate-machine,
 * get-machineactions-collection, common-errors), with its own Entra token endpoint (entra.ts):
 * `GET /api/machines?$filter=computerDnsName eq '...'`, `GET /api/machines/findbyip(ip='...',timestamp=...)`,
 * `GET /api/machines/{id}`, `POST /api/machines/{id}/isolate` `{Comment, IsolationType}` and `/unisolate`
 * `{Comment}` → 201 MachineAction, 400 ActiveRequestAlreadyExists while the same action is live,
 * `GET /api/machineactions?$filter=machineId eq '...'` paged with `@odata.nextLink`; errors as
 * `{"error": {"code", "message", "target"}}`. Machines and ids are Riposte's own test data.
 */
import { DEFENDER_SCOPE } from "../../services/executor/connectors/defender/index.ts";
import { entraFake, type EntraFake } from "./entra.ts";
import { startFake, type FakeServer, type Recorded, type Reply } from "./http.ts";
import { RouteFaults } from "./route-faults.ts";

export interface DefenderMachine {
  id: string;
  computerDnsName: string;
  lastIpAddress: string;
  healthStatus?: string;
  osPlatform?: string;
  machineTags?: string[];
}

export interface DefenderAction {
  id: string;
  type: "Isolate" | "Unisolate";
  scope: string;
  status: "Pending" | "InProgress" | "Succeeded" | "Failed" | "Cancelled" | "TimeOut";
  machineId: string;
  requestorComment: string;
  creationDateTimeUtc: string;
}

export interface DefenderFake extends FakeServer {
  readonly entra: EntraFake;
  /** Faults for one route (after authentication). */
  readonly routeFaults: RouteFaults;
  readonly machines: DefenderMachine[];
  readonly machineActions: DefenderAction[];
  /** Machine ids the app may not act on (403 Forbidden). */
  readonly forbidden: Set<string>;
  /** Machine actions per page of `/api/machineactions`. */
  pageSize: number;
  /** The isolate / unisolate requests received. */
  isolations(): Recorded[];
  /** API requests (not token requests). */
  apiCalls(): Recorded[];
}

/** A Defender error answer. */
export const defenderError = (status: number, code: string, message: string): Reply => ({
  status,
  body: { error: { code, message, target: "00000000-0000-0000-0000-0000000000aa" } },
});

/** The requestor Defender names on a machine action (the app registration). */
const ENTRA_APP = "Riposte test app";
const unquote = (s: string) => s.replace(/''/g, "'");

export async function startDefenderFake(machines: DefenderMachine[] = []): Promise<DefenderFake> {
  const entra = entraFake(DEFENDER_SCOPE);
  const machineActions: DefenderAction[] = [];
  const forbidden = new Set<string>();
  const control = { pageSize: 50 };
  let seq = 0;
  let base = "";
  const entity = (m: DefenderMachine) => ({
    healthStatus: "Active",
    osPlatform: "Windows11",
    machineTags: [],
    riskScore: "Medium",
    exposureLevel: "Low",
    ipAddresses: [
      { ipAddress: m.lastIpAddress, macAddress: "00155D000001", type: "Ethernet", operationalStatus: "Up" },
    ],
    ...m,
  });
  const list = (value: unknown[], context: string, next?: string): Reply => ({
    status: 200,
    body: {
      "@odata.context": `${base}/api/$metadata#${context}`,
      value,
      ...(next ? { "@odata.nextLink": next } : {}),
    },
  });
  const act = (req: Recorded, id: string, op: "isolate" | "unisolate"): Reply => {
    const machine = machines.find((m) => m.id === id);
    if (!machine) return defenderError(404, "ResourceNotFound", `Machine ${id} was not found`);
    if (forbidden.has(id))
      return defenderError(403, "Forbidden", "The application does not have the required permission");
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body) as Record<string, unknown>;
    } catch {
      return defenderError(400, "InvalidRequestBody", "Request body is incorrect");
    }
    if (typeof body["Comment"] !== "string" || body["Comment"] === "")
      return defenderError(400, "MissingRequiredParameter", "Parameter Comment is missing");
    const type = op === "isolate" ? "Isolate" : "Unisolate";
    if (op === "isolate" && !["Full", "Selective", "UnManagedDevice"].includes(String(body["IsolationType"])))
      return defenderError(400, "InvalidRequestBody", "IsolationType is invalid");
    const latest = machineActions
      .filter((a) => a.machineId === id && ["Pending", "InProgress", "Succeeded"].includes(a.status))
      .at(-1);
    if (latest?.type === type)
      return defenderError(
        400,
        "ActiveRequestAlreadyExists",
        `Action is already in progress or the machine is already ${op === "isolate" ? "isolated" : "released"}`,
      );
    const action: DefenderAction = {
      id: `5382f7ea-7557-4ab7-9782-${String(++seq).padStart(12, "0")}`,
      type,
      scope: op === "isolate" ? String(body["IsolationType"]) : "Full",
      status: "Pending",
      machineId: id,
      requestorComment: body["Comment"],
      creationDateTimeUtc: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    };
    machineActions.push(action);
    return {
      status: 201,
      body: {
        "@odata.context": `${base}/api/$metadata#MachineActions/$entity`,
        ...action,
        requestor: ENTRA_APP,
        computerDnsName: machine.computerDnsName,
        lastUpdateDateTimeUtc: action.creationDateTimeUtc,
        relatedFileInfo: null,
      },
    };
  };
  const routeFaults = new RouteFaults();
  const fake = await startFake((req) => {
    const token = entra.token(req);
    if (token) return token;
    if (!entra.authorized(req)) return defenderError(401, "Unauthorized", "Authorization token is invalid or expired");
    return routeFaults.answer(req, route);
  });
  function route(req: Recorded): Reply {
    const path = decodeURIComponent(req.path);
    if (req.method === "GET" && path === "/api/machines") {
      const m = /^computerDnsName eq '((?:[^']|'')*)'$/.exec(req.query.get("$filter") ?? "");
      if (!m) return defenderError(400, "ODataError", "Invalid filter clause");
      const name = unquote(m[1] as string).toLowerCase();
      return list(machines.filter((x) => x.computerDnsName.toLowerCase() === name).map(entity), "Machines");
    }
    const byIp = /^\/api\/machines\/findbyip\(ip='([^']*)',timestamp=([^)]*)\)$/.exec(path);
    if (req.method === "GET" && byIp) {
      const at = Date.parse(byIp[2] as string);
      if (Number.isNaN(at) || at < Date.now() - 30 * 86_400_000)
        return defenderError(400, "InvalidInput", "The timestamp must be within the past 30 days");
      return list(machines.filter((x) => x.lastIpAddress === byIp[1]).map(entity), "Machines");
    }
    const one = /^\/api\/machines\/([0-9a-f]{40})(?:\/(isolate|unisolate))?$/i.exec(path);
    if (one && req.method === "GET" && !one[2]) {
      const machine = machines.find((m) => m.id === one[1]);
      return machine
        ? { status: 200, body: { "@odata.context": `${base}/api/$metadata#Machines/$entity`, ...entity(machine) } }
        : defenderError(404, "ResourceNotFound", `Machine ${one[1]} was not found`);
    }
    if (one && req.method === "POST" && one[2]) return act(req, one[1] as string, one[2] as "isolate" | "unisolate");
    if (req.method === "GET" && path === "/api/machineactions") {
      const m = /^machineId eq '([^']*)'$/.exec(req.query.get("$filter") ?? "");
      if (!m) return defenderError(400, "ODataError", "Invalid filter clause");
      const all = machineActions.filter((a) => a.machineId === m[1]);
      const skip = Number(req.query.get("$skip") ?? "0");
      const page = all.slice(skip, skip + control.pageSize);
      const next =
        skip + control.pageSize < all.length
          ? `${base}/api/machineactions?$filter=${encodeURIComponent(`machineId eq '${m[1]}'`)}&$skip=${skip + control.pageSize}`
          : undefined;
      return list(page, "MachineActions", next);
    }
    return defenderError(404, "NotFound", "Resource not found");
  }
  base = fake.url;
  return Object.defineProperties(
    Object.assign(fake, {
      entra,
      routeFaults,
      machines,
      machineActions,
      forbidden,
      isolations: () => fake.requests.filter((r) => /\/(isolate|unisolate)$/.test(r.path)),
      apiCalls: () => fake.requests.filter((r) => r.path.startsWith("/api/")),
    }),
    {
      pageSize: {
        get: () => control.pageSize,
        set: (n: number) => void (control.pageSize = n),
        enumerable: true,
      },
    },
  ) as DefenderFake;
}
