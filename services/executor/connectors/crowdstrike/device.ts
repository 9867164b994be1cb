/** What the Falcon actions share: the host input, the device lookup and the containment action factory. */
import { z } from "zod";
import { action, type PlannedRequest } from "../types.ts";
import { DEVICE_PLACEHOLDER, FALCON_REQUESTS, type FalconClient } from "./transport.ts";

export const HostInput = z
  .object({
    /** A hostname or a local IP address. */
    host: z.string().min(1).max(255).optional(),
    device_id: z
      .string()
      .regex(/^[0-9a-f]{32}$/, "a 32-hex Falcon device id")
      .optional(),
  })
  .refine((i) => i.host ?? i.device_id, "host or device_id is required");
export type HostInput = z.infer<typeof HostInput>;

/** The device an input names, as Falcon knows it (hostname, local IP, containment status). */
export async function deviceOf(client: FalconClient, input: HostInput, signal: AbortSignal) {
  const id = input.device_id ?? (await client.deviceId(input.host as string, signal));
  const d = await client.deviceDetails(id, signal);
  const text = (k: string) => (typeof d[k] === "string" && d[k] !== "" ? [d[k]] : []);
  // local_ip only: the external IP is a NAT address many hosts share, so it says nothing about this one.
  return {
    id,
    hosts: text("hostname"),
    ips: text("local_ip"),
    // product_type_desc (Workstation, Server, Domain Controller): isolate-host never isolates a domain controller.
    detail: {
      device_id: id,
      hostname: d["hostname"],
      local_ip: d["local_ip"],
      status: d["status"],
      product_type_desc: d["product_type_desc"],
    },
  };
}

/** The lookup requests a dry run would send: the query by name or IP (unless the id is given), then the record. */
export function lookupPreview(input: HostInput): PlannedRequest[] {
  return input.device_id
    ? [FALCON_REQUESTS.deviceDetails(input.device_id)]
    : [FALCON_REQUESTS.deviceQuery(input.host as string), FALCON_REQUESTS.deviceDetails(DEVICE_PLACEHOLDER)];
}

/** Containment statuses meaning the effect of `contain` (or of `lift_containment`) is in place or under way. */
const EFFECT = {
  contain: new Set(["contained", "containment_pending"]),
  lift_containment: new Set(["normal", "lift_containment_pending"]),
} as const;

/** A containment device action (`contain` or `lift_containment`): resolved, verified, idempotent. */
export function deviceAction(name: "contain" | "lift_containment", reverse: string, description: string) {
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
    preview: (input) => [
      ...lookupPreview(input),
      FALCON_REQUESTS.deviceAction(name, input.device_id ?? DEVICE_PLACEHOLDER),
    ],
  });
}
