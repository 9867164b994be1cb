/** What the Defender actions share: the machine input, the lookup as a resolved target, the isolation factory. */
import { isIP } from "node:net";
import { z } from "zod";
import { action, type PlannedRequest, type ResolvedTarget } from "../types.ts";
import {
  DEFENDER_REQUESTS,
  MACHINE_PLACEHOLDER,
  NOW_PLACEHOLDER,
  type DefenderClient,
  type Machine,
} from "./transport.ts";

const HOST = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,252}[A-Za-z0-9])?$/;

const machineShape = {
  /** The machine's DNS name as Defender knows it (computerDnsName, usually the FQDN), or an internal IP. */
  host: z
    .string()
    .trim()
    .refine((h) => HOST.test(h) || isIP(h) !== 0, "a DNS name or an IP address")
    .optional(),
  machine_id: z
    .string()
    .regex(/^[0-9a-f]{40}$/i, "a 40-hex Defender machine id")
    .optional(),
  /** When the IP was seen (the alert's time): findbyip looks 15 minutes either side. Default: now. */
  at: z.iso.datetime({ offset: true }).optional(),
  reason: z.string().max(2000).optional(),
};
const named = (i: { host?: string | undefined; machine_id?: string | undefined }) => !!(i.host ?? i.machine_id);

export const MachineInput = z.strictObject(machineShape).refine(named, "host or machine_id is required");
export type MachineInput = z.infer<typeof MachineInput>;

/** An ISO time with the Z suffix and no fraction, as the findbyip examples write it. */
const isoSeconds = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
const at = (input: MachineInput) => (input.at ? isoSeconds(Date.parse(input.at)) : isoSeconds(Date.now()));

export const lookup = (client: DefenderClient, input: MachineInput, signal: AbortSignal) =>
  client.machine({ host: input.host, machineId: input.machine_id, at: at(input) }, signal);

/** The lookup requests a dry run would send. */
export function lookupPreview(input: MachineInput): PlannedRequest[] {
  if (input.machine_id) return [DEFENDER_REQUESTS.byId(input.machine_id)];
  const host = input.host ?? "";
  return isIP(host) !== 0
    ? [DEFENDER_REQUESTS.byIp(host, input.at ? isoSeconds(Date.parse(input.at)) : NOW_PLACEHOLDER)]
    : [DEFENDER_REQUESTS.byName(host)];
}

/** The machine as guards check it: its DNS name and short name, every internal IP Defender lists. */
export function target(m: Machine): ResolvedTarget {
  const short = m.computerDnsName.split(".")[0] ?? "";
  return {
    id: m.id,
    hosts: [...new Set([m.computerDnsName, short].filter((h) => h !== ""))],
    ips: m.ips,
    detail: {
      machine_id: m.id,
      computer_dns_name: m.computerDnsName,
      last_ip_address: m.lastIpAddress,
      health_status: m.raw["healthStatus"],
      os_platform: m.raw["osPlatform"],
    },
  };
}

const resolveMachine = async (
  client: DefenderClient,
  { input, signal }: { input: MachineInput; signal: AbortSignal },
) => target(await lookup(client, input, signal));

const IsolateInput = z
  .strictObject({
    ...machineShape,
    /** Full cuts the machine off; Selective keeps Outlook, Teams and Skype working. */
    isolation_type: z.enum(["Full", "Selective"]).default("Full"),
    /** Required by Defender; shown in the Action center. */
    comment: z.string().trim().min(1).max(1000).default("Isolated by Riposte"),
  })
  .refine(named, "host or machine_id is required");
const UnisolateInput = z
  .strictObject({ ...machineShape, comment: z.string().trim().min(1).max(1000).default("Released by Riposte") })
  .refine(named, "host or machine_id is required");

/** Isolate or release a machine: resolved (guards see what Defender found), verified by its machine actions. */
export function isolationAction(op: "isolate" | "unisolate") {
  const isolate = op === "isolate";
  return action({
    classification: "containment",
    idempotent: true,
    reverse: isolate ? "unisolate_machine" : "isolate_machine",
    lifts: !isolate,
    description: isolate
      ? "Isolate a machine from the network (Full or Selective) in Defender for Endpoint"
      : "Release a machine from isolation in Defender for Endpoint",
    input: isolate ? IsolateInput : UnisolateInput,
    resolve: resolveMachine,
    verify: async (client: DefenderClient, { input, signal, resolved }) => {
      const id = resolved?.id ?? (await lookup(client, input, signal)).id;
      const now = await client.isolation(id, signal);
      return {
        done: now.isolated === isolate,
        response: {
          machine_id: id,
          isolated: now.isolated,
          action_id: now.action?.id,
          status: now.action?.status,
          verified: true,
        },
      };
    },
    run: async (client: DefenderClient, { input, signal, resolved }) => {
      const id = resolved?.id ?? (await lookup(client, input, signal)).id;
      const type = "isolation_type" in input ? (input.isolation_type as "Full" | "Selective") : "Full";
      return client.setIsolation(id, op, input.comment, type, signal);
    },
    preview: (input) => [
      ...lookupPreview(input),
      isolate
        ? DEFENDER_REQUESTS.isolate(
            MACHINE_PLACEHOLDER,
            input.comment,
            "isolation_type" in input ? (input.isolation_type as "Full" | "Selective") : "Full",
          )
        : DEFENDER_REQUESTS.unisolate(MACHINE_PLACEHOLDER, input.comment),
    ],
  });
}
