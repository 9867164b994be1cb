/**
 * A Teams Workflows webhook fake (learn.microsoft.com "Create incoming webhooks with Workflows for Microsoft
 * Teams"; Power Automate's "When a Teams webhook request is received" trigger): `POST
 * /workflows/{id}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=...&sv=1.0&sig=...` with the Adaptive
 * Card envelope, answered 202 with an empty body. A wrong `sig` is 401 `{"error": {"code":
 * "DirectApiAuthorizationRequired"}}`; a body that is not JSON is 400 InvalidRequestContent. As with the real flow,
 * a JSON body that is not a valid card is still accepted: the fake records it as invalid (the flow's run history).
 */
import { startFake, type FakeServer, type Recorded } from "./http.ts";
import { RouteFaults } from "./route-faults.ts";

export const TEAMS_SIG = "riposte-test-sig-0123456789abcdef";
export const TEAMS_PATH = "/workflows/0a1b2c3d4e5f/triggers/manual/paths/invoke";

export interface TeamsFake extends FakeServer {
  /** The URL to configure, with its query and signature. */
  readonly webhook: string;
  readonly routeFaults: RouteFaults;
  /** Cards the flow received (the attachment's content). */
  readonly cards: Array<Record<string, unknown>>;
  /** Payloads that reached the flow but are not an Adaptive Card envelope. */
  readonly invalid: unknown[];
  posts(): Recorded[];
}

export async function startTeamsFake(): Promise<TeamsFake> {
  const cards: TeamsFake["cards"] = [];
  const invalid: unknown[] = [];
  const routeFaults = new RouteFaults();
  const fake = await startFake((req) => {
    if (req.method !== "POST" || req.path !== TEAMS_PATH)
      return {
        status: 404,
        body: { error: { code: "WorkflowNotFound", message: "The workflow could not be found." } },
      };
    if (req.query.get("sig") !== TEAMS_SIG)
      return {
        status: 401,
        body: {
          error: {
            code: "DirectApiAuthorizationRequired",
            message: "The request must be authenticated only by Shared Access scheme.",
          },
        },
      };
    return routeFaults.answer(req, () => {
      let payload: unknown;
      try {
        payload = JSON.parse(req.body);
      } catch {
        return {
          status: 400,
          body: { error: { code: "InvalidRequestContent", message: "The request content is not valid JSON." } },
        };
      }
      const p = payload as {
        type?: unknown;
        attachments?: Array<{ contentType?: unknown; content?: { type?: unknown } }>;
      };
      const a = Array.isArray(p.attachments) ? p.attachments[0] : undefined;
      if (
        p.type !== "message" ||
        a?.contentType !== "application/vnd.microsoft.card.adaptive" ||
        a.content?.type !== "AdaptiveCard"
      )
        invalid.push(payload);
      else cards.push(a.content);
      return { status: 202 };
    });
  });
  return Object.assign(fake, {
    webhook: `${fake.url}${TEAMS_PATH}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${TEAMS_SIG}`,
    routeFaults,
    cards,
    invalid,
    posts: () => fake.requests.filter((r) => r.path === TEAMS_PATH),
  });
}
