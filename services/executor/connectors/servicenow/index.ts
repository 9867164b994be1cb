/**
 * ServiceNow: `create_incident` (one incident per dedup key, its correlation_id; a second decision adds a work
 * note) and `update_incident` (work notes, state). Configured by RIPOSTE_CONNECTOR_SERVICENOW_URL
 * (`https://<instance>.service-now.com`), _USERNAME and _PASSWORD.
 */
import type { ConnectorDescriptor } from "../types.ts";
import { createIncident } from "./create-incident.ts";
import { ServiceNowClient } from "./transport.ts";
import { updateIncident } from "./update-incident.ts";

export { ServiceNowClient, serviceNowError, serviceNowRetryAfterMs } from "./transport.ts";

export const servicenow: ConnectorDescriptor<ServiceNowClient> = {
  name: "servicenow",
  title: "ServiceNow",
  credentials: ["username", "password"],
  client: (url, credentials, env) => new ServiceNowClient(url, credentials, env),
  actions: { create_incident: createIncident, update_incident: updateIncident },
};
