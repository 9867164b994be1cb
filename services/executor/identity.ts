/**
 * Which identity provider holds a user: what playbooks branch on (fact `identity`, `{{identity.provider}}`) to
 * revoke sessions or suspend at Okta or at Microsoft Entra ID. The decision's `idp` param says it when the alert's
 * source does (a rule passes the sign-in's format); otherwise the user's domain, by RIPOSTE_IDP_DOMAINS (a domain
 * covers its subdomains; the longest match wins); otherwise RIPOSTE_IDP_DEFAULT.
 */
export type IdentityProvider = "okta" | "entra";

export interface IdentitySettings {
  /** Domain (lower case, no trailing dot) → provider. */
  readonly domains: ReadonlyMap<string, IdentityProvider>;
  readonly fallback: IdentityProvider;
}

export const DEFAULT_IDENTITY: IdentitySettings = { domains: new Map(), fallback: "okta" };

/** An `idp` param as a provider: a format or connector name of either, or undefined when it names neither. */
export function providerOf(idp: unknown): IdentityProvider | undefined {
  if (typeof idp !== "string") return undefined;
  const v = idp.trim().toLowerCase();
  if (v === "") return undefined;
  if (v.startsWith("okta")) return "okta";
  if (["entra", "entra_id", "entra_signin", "azure_ad", "azuread", "graph", "microsoft_graph_alert"].includes(v))
    return "entra";
  return undefined;
}

/** The domain of a user name: after the last `@` (UPN or e-mail), or before `\` (DOMAIN\user); lower case. */
export function domainOf(user: string): string | undefined {
  const at = user.lastIndexOf("@");
  if (at >= 0)
    return (
      user
        .slice(at + 1)
        .toLowerCase()
        .replace(/\.$/, "") || undefined
    );
  const slash = user.indexOf("\\");
  if (slash > 0) return user.slice(0, slash).toLowerCase();
  return undefined;
}

export function identityOf(
  params: Readonly<Record<string, unknown>>,
  target: { readonly type: string; readonly value: string } | undefined,
  settings: IdentitySettings,
): { provider: IdentityProvider; by: "param" | "domain" | "default"; domain?: string } {
  const named = providerOf(params["idp"]);
  if (named) return { provider: named, by: "param" };
  const domain = target?.type === "user" ? domainOf(target.value) : undefined;
  if (domain !== undefined) {
    // The longest configured suffix: eu.corp.example.com before corp.example.com.
    for (let d: string | undefined = domain; d; d = d.includes(".") ? d.slice(d.indexOf(".") + 1) : undefined) {
      const p = settings.domains.get(d);
      if (p) return { provider: p, by: "domain", domain: d };
    }
  }
  return { provider: settings.fallback, by: "default", ...(domain === undefined ? {} : { domain }) };
}

/** What a decision's steps render their params from and test their `if`s on (the executor and `replay --plan`). */
export function decisionData(
  d: {
    readonly target?: { readonly type: string; readonly value: string } | undefined;
    readonly params?: Readonly<Record<string, unknown>> | undefined;
    readonly alert: unknown;
    readonly id: string;
    readonly score?: number | undefined;
    readonly rule?: unknown;
  },
  identity: IdentitySettings = DEFAULT_IDENTITY,
): Record<string, unknown> {
  return {
    target: d.target,
    params: d.params ?? {},
    alert: d.alert,
    decision: { id: d.id, score: d.score },
    rule: d.rule,
    identity: identityOf(d.params ?? {}, d.target, identity),
  };
}
