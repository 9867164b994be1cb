/** `get_machine`: read-only enrichment, a machine's Defender record by DNS name, internal IP or machine id. */
import { action } from "../types.ts";
import { MachineInput, lookup, lookupPreview, target } from "./machine.ts";
import type { DefenderClient } from "./transport.ts";

export const getMachine = action({
  classification: "enrich",
  idempotent: true,
  description: "Look a machine up (DNS name, internal IP or id): id, names, IPs, health, OS, risk, exposure, tags",
  input: MachineInput,
  run: async (client: DefenderClient, { input, signal }) => {
    const m = await lookup(client, input, signal);
    const { raw } = m;
    return {
      ...target(m).detail,
      ips: m.ips,
      risk_score: raw["riskScore"],
      exposure_level: raw["exposureLevel"],
      machine_tags: raw["machineTags"],
      device_value: raw["deviceValue"],
      last_seen: raw["lastSeen"],
    };
  },
  preview: (input) => lookupPreview(input),
});
