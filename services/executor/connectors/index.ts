/** The connector registry. */
import { crowdstrike } from "./crowdstrike.ts";
import type { ConnectorDescriptor } from "./types.ts";

export type { ConnectorDescriptor, ActionDescriptor, Classification } from "./types.ts";
export { HttpTransport, httpError, retryAfterMs, redactUrl, redactUrls } from "./http.ts";

export const CONNECTORS: readonly ConnectorDescriptor[] = [crowdstrike];
