/**
 * MISP: `search_attributes` (restSearch on attributes, paged). Configured by RIPOSTE_CONNECTOR_MISP_URL (the MISP
 * instance) and _API_KEY (a user's auth key).
 */
import type { ConnectorDescriptor } from "../types.ts";
import { searchAttributes } from "./search-attributes.ts";
import { MispClient } from "./transport.ts";

export { MispClient, type MispMatch } from "./transport.ts";

export const misp: ConnectorDescriptor<MispClient> = {
  name: "misp",
  title: "MISP",
  credentials: ["api_key"],
  client: (url, credentials) => new MispClient(url, credentials),
  actions: { search_attributes: searchAttributes },
};
