/** Helpers shared by the AWS normalizers (GuardDuty, Security Hub): cloud context, principals, resources, tags. */
import type { Draft } from "./types.ts";
import { arr, compact, get, str } from "./util.ts";

type Finding = Extract<Draft, { class_uid: 2004 }>;
/** An OCSF user as a normalizer builds it. */
export type OcsfUser = NonNullable<Finding["user"]>;
/** An OCSF resource_details entry as a normalizer builds it. */
export type OcsfResource = NonNullable<Finding["resources"]>[number];
type Cloud = NonNullable<Finding["cloud"]>;

/** OCSF `cloud` for an AWS account and region (undefined when neither is known). */
export function awsCloud(c: {
  account?: string | undefined;
  accountName?: string | undefined;
  region?: string | undefined;
  partition?: string | undefined;
  zone?: string | undefined;
}): Cloud | undefined {
  if (!c.account && !c.region) return undefined;
  return compact({
    provider: "AWS",
    region: c.region,
    zone: c.zone,
    cloud_partition: c.partition,
    account: c.account ? compact({ uid: c.account, name: c.accountName, type: "AWS Account" }) : undefined,
  });
}

/** The parts of an ARN (`arn:partition:service:region:account:resource`), or undefined when it is not one. */
export function arnParts(
  arn: string | undefined,
): { partition: string; service: string; region: string; account: string; resource: string } | undefined {
  const m = arn ? /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/.exec(arn) : null;
  if (!m) return undefined;
  const [, partition = "", service = "", region = "", account = "", resource = ""] = m;
  return { partition, service, region, account, resource };
}

/** AWS tags (`[{key, value}]`, `[{Key, Value}]` or a `{name: value}` map) as OCSF key/value objects. */
export function awsTags(v: unknown): Array<{ name: string; value: string }> {
  const list = Array.isArray(v)
    ? v.map((t) => [str(t, "key") ?? str(t, "Key"), str(t, "value") ?? str(t, "Value")] as const)
    : v !== null && typeof v === "object"
      ? Object.entries(v as Record<string, unknown>).map(
          ([k, x]) => [k, typeof x === "string" ? x : undefined] as const,
        )
      : [];
  return list.flatMap(([name, value]) => (name ? [{ name, value: value ?? "" }] : []));
}

/**
 * An IAM principal as an OCSF user: `uid` is the ARN when one is known, else the access key id, else the
 * principal id (kept as `uid_alt` when `uid` is something else); `credential_uid` is the access key id.
 */
export function awsPrincipal(p: {
  name?: string | undefined;
  arn?: string | undefined;
  accessKeyId?: string | undefined;
  principalId?: string | undefined;
  type?: string | undefined;
  account?: string | undefined;
}): OcsfUser | undefined {
  const uid = p.arn ?? p.accessKeyId ?? p.principalId;
  if (!uid && !p.name) return undefined;
  const account = p.account ?? arnParts(p.arn)?.account;
  return compact({
    name: p.name,
    uid,
    uid_alt: p.principalId !== uid ? p.principalId : undefined,
    credential_uid: p.accessKeyId,
    type: p.type,
    account: account ? { uid: account, type: "AWS Account" } : undefined,
  });
}

/** An OCSF resource with its tags (GuardDuty and ASFF tag shapes), keeping only what is known. */
export function awsResource(r: OcsfResource, tags?: unknown): OcsfResource {
  const t = awsTags(tags);
  return compact({ ...r, ...(t.length > 0 ? { tags: t } : {}) });
}

/** The values of `path` in each element of the array at `list`, as strings. */
export function strings(o: unknown, list: string, path?: string): string[] {
  return arr(o, list).flatMap((x) => {
    const v = path ? get(x, path) : x;
    return typeof v === "string" && v !== "" ? [v] : [];
  });
}
