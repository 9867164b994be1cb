/**
 * Microsoft Defender for Endpoint (learn.microsoft.com, defender-endpoint/api): machines found by DNS name
 * (`GET /api/machines?$filter=computerDnsName eq '...'`), by internal IP (`findbyip`) or id; `isolate` / `unisolate`
 * machine actions (201 MachineAction; a repeat is 400 ActiveRequestAlreadyExists, done when the machine's actions
 * show the wanted state); Entra client credentials. Rate limits: 100 calls a minute and 1,500 an hour per API, 429
 * with Retry-After.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { getMachine } from "./get-machine.ts";
import { isolateMachine } from "./isolate-machine.ts";
import { DefenderClient } from "./transport.ts";
import { unisolateMachine } from "./unisolate-machine.ts";

export { DEFENDER_REQUESTS, DEFENDER_SCOPE, DefenderClient } from "./transport.ts";

export const defender: ConnectorDescriptor<DefenderClient> = {
  name: "defender",
  title: "Microsoft Defender for Endpoint",
  credentials: ["tenant_id", "client_id", "client_secret"],
  optionalCredentials: ["auth_url"],
  client: (url, credentials, env) => new DefenderClient(url, credentials, env.now),
  actions: {
    isolate_machine: isolateMachine,
    unisolate_machine: unisolateMachine,
    get_machine: getMachine,
  },
};
