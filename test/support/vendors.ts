/**
 * The vendor fakes a playbook run talks to, started together on local HTTP servers (CrowdStrike Falcon, a signed
 * webhook receiver, Slack), with the connector configuration that points the executor at them.
 */
import type { ConnectorConfig } from "../../services/shared/config.ts";
import { FALCON_CLIENT_ID, FALCON_CLIENT_SECRET, startFalconFake, type FalconFake } from "../fakes/crowdstrike.ts";
import { SLACK_CHANNEL, SLACK_TOKEN, startSlackFake, type SlackFake } from "../fakes/slack.ts";
import { WEBHOOK_SECRET, startWebhookFake, type WebhookFake } from "../fakes/webhook.ts";

export interface Vendors {
  readonly edr: FalconFake;
  readonly webhook: WebhookFake;
  readonly slack: SlackFake;
  readonly connectorConfig: Record<string, ConnectorConfig>;
  /** Forgets every request recorded so far (and any fault left). */
  reset(): void;
  close(): Promise<void>;
}

export async function startVendors(devices: Record<string, string>): Promise<Vendors> {
  const [edr, webhook, slack] = await Promise.all([startFalconFake(devices), startWebhookFake(), startSlackFake()]);
  return {
    edr,
    webhook,
    slack,
    connectorConfig: {
      crowdstrike: {
        url: edr.url,
        credentials: { client_id: FALCON_CLIENT_ID, client_secret: FALCON_CLIENT_SECRET },
        dryRun: false,
      },
      webhook: { url: `${webhook.url}/hooks/riposte`, credentials: { secret: WEBHOOK_SECRET }, dryRun: false },
      slack: { url: slack.api, credentials: { bot_token: SLACK_TOKEN, channel: SLACK_CHANNEL }, dryRun: false },
    },
    reset() {
      for (const f of [edr, webhook, slack]) {
        f.requests.length = 0;
        f.faults.length = 0;
      }
      webhook.deliveries.length = 0;
      slack.messages.length = 0;
    },
    close: async () => {
      await Promise.all([edr.close(), webhook.close(), slack.close()]);
    },
  };
}
