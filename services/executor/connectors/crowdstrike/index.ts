/**
 * CrowdStrike Falcon: OAuth2 client credentials, device lookup by hostname or local IP, device details (hostname,
 * local_ip, containment status), network containment
 * (`/devices/entities/devices-actions/v2?action_name=contain|lift_containment`).
 */
import type { ConnectorDescriptor } from "../types.ts";
import { containHost } from "./contain-host.ts";
import { getDevice } from "./get-device.ts";
import { liftContainment } from "./lift-containment.ts";
import { FalconClient } from "./transport.ts";

export { FALCON_REQUESTS, FalconClient } from "./transport.ts";

export const crowdstrike: ConnectorDescriptor<FalconClient> = {
  name: "crowdstrike",
  title: "CrowdStrike Falcon",
  credentials: ["client_id", "client_secret"],
  client: (url, credentials) => new FalconClient(url, credentials),
  actions: {
    contain_host: containHost,
    lift_containment: liftContainment,
    get_device: getDevice,
  },
};
