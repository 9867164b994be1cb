/** `update_incident`: a work note (and optionally a new state) on an incident. Each PATCH appends a note: not idempotent. */
import { z } from "zod";
import { action } from "../types.ts";
import { SN_REQUESTS, SYS_ID, type ServiceNowClient } from "./transport.ts";

export const UpdateIncidentInput = z.strictObject({
  sys_id: z.string().trim().regex(SYS_ID, "an incident sys_id (32 hex characters)"),
  work_notes: z.string().trim().min(1).max(30_000),
  /** The incident's new state code (1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed, 8 Canceled). */
  state: z.enum(["1", "2", "3", "6", "7", "8"]).optional(),
});

const fields = (input: z.infer<typeof UpdateIncidentInput>) => ({
  work_notes: input.work_notes,
  ...(input.state ? { state: input.state } : {}),
});

export const updateIncident = action({
  classification: "ticket",
  idempotent: false,
  description: "Add a work note to a ServiceNow incident (and optionally set its state)",
  input: UpdateIncidentInput,
  run: async (client: ServiceNowClient, { input, signal }) => {
    const res = await client.call(SN_REQUESTS.update(input.sys_id, fields(input)), signal, "update incident");
    return { ...client.ref(client.result(res, "update incident"), "update incident"), updated: true };
  },
  preview: (input) => [SN_REQUESTS.update(input.sys_id, fields(input))],
});
