/**
 * Microsoft Graph security alert v2 evidence (`alertEvidence` and its derived types, Graph v1.0 reference) as OCSF
 * evidences, users, devices and resources. Keys are read case-insensitively and an item's kind comes from its
 * `@odata.type` however a forwarder spelled that key, else from the fields its type documents.
 */
import type { Draft } from "./types.ts";
import type { Obj } from "./util.ts";
import { ciArr, ciGet, ciObj, ciStr, compact, hashesBy, ip, num } from "./util.ts";

type Finding = Extract<Draft, { class_uid: 2004 }>;
export type Evidence = NonNullable<Finding["evidences"]>[number];
export type Device = NonNullable<Finding["device"]>;
export type User = NonNullable<Finding["user"]>;
export type Resource = NonNullable<Finding["resources"]>[number];

/** The `@odata.type` of an object, whatever the key's spelling (`@odata.type`, `odata.type`, `odata_type`, ...). */
export function odataType(o: Obj): string {
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (typeof v === "string" && lettersAre(k, "odatatype")) return v;
  }
  return "";
}

/** Whether the ASCII letters of `k`, lower-cased, spell `word` (lower-case letters); nothing else of `k` counts. */
function lettersAre(k: string, word: string): boolean {
  let j = 0;
  for (let i = 0; i < k.length; i++) {
    let c = k.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    else if (c < 97 || c > 122) continue;
    if (j === word.length || c !== word.charCodeAt(j)) return false;
    j++;
  }
  return j === word.length;
}

/** `#microsoft.graph.security.fileEvidence` → `fileevidence`. */
const typeName = (t: string) => t.replace(/^#?(microsoft\.graph\.security\.)?/i, "").toLowerCase();

/** Fields each evidence type documents, for items whose `@odata.type` a forwarder dropped. */
const KIND_BY_FIELD: ReadonlyArray<readonly [string, string]> = [
  ["deviceDnsName", "deviceevidence"],
  ["mdeDeviceId", "deviceevidence"],
  ["imageFile", "processevidence"],
  ["processCommandLine", "processevidence"],
  ["fileDetails", "fileevidence"],
  ["networkMessageId", "analyzedmessageevidence"],
  ["primaryAddress", "mailboxevidence"],
  ["ipAddress", "ipevidence"],
  ["url", "urlevidence"],
  ["registryKey", "registrykeyevidence"],
  ["amazonResourceId", "amazonresourceevidence"],
  ["fullResourceName", "googlecloudresourceevidence"],
  ["resourceId", "azureresourceevidence"],
  ["securityGroupId", "securitygroupevidence"],
  ["oauthObjectId", "oauthapplicationevidence"],
  ["appId", "cloudapplicationevidence"],
  ["domainName", "dnsevidence"],
  ["userAccount", "userevidence"],
];

/** The evidence kind: its `@odata.type`, else the first documented field it carries. */
export function kindOf(ev: Obj): string {
  const t = odataType(ev);
  if (t) return typeName(t);
  return KIND_BY_FIELD.find(([field]) => ciGet(ev, field) !== undefined)?.[1] ?? "";
}

const roles = (ev: Obj) => [...ciArr(ev, "roles"), ...ciArr(ev, "detailedRoles")].map((r) => String(r).toLowerCase());

function fileOf(f: Obj | undefined) {
  if (!f) return undefined;
  const name = ciStr(f, "fileName");
  const dir = ciStr(f, "filePath");
  const hashes = hashesBy(["sha256", "sha1", "md5"], (k) => ciStr(f, k));
  const sep = dir?.includes("/") ? "/" : "\\";
  const file = compact({
    name,
    path: dir && name && !dir.endsWith(name) ? (dir.endsWith(sep) ? dir + name : dir + sep + name) : dir,
    hashes,
    size: num({ s: ciGet(f, "fileSize") }, "s"),
  });
  return Object.keys(file).length > 0 ? file : undefined;
}

/** A Graph `userAccount` as an OCSF user. */
export function userOf(a: Obj | undefined): User | undefined {
  if (!a) return undefined;
  const upn = ciStr(a, "userPrincipalName");
  const u = compact({
    name: upn ?? ciStr(a, "accountName"),
    domain: ciStr(a, "domainName"),
    uid: ciStr(a, "azureAdUserId") ?? ciStr(a, "userSid"),
    full_name: ciStr(a, "displayName"),
    email_addr: upn?.includes("@") ? upn : undefined,
  });
  return Object.keys(u).length > 0 ? u : undefined;
}

export function deviceOf(ev: Obj): Device {
  const ips = [...ciArr(ev, "ipInterfaces"), ciGet(ev, "lastIpAddress"), ciGet(ev, "lastExternalIpAddress")]
    .map(ip)
    .filter((a): a is string => a !== undefined && !/^(127\.|::1$|fe80:|169\.254\.)/i.test(a));
  return compact({
    hostname: ciStr(ev, "deviceDnsName") ?? ciStr(ev, "hostName"),
    uid: ciStr(ev, "mdeDeviceId") ?? ciStr(ev, "azureAdDeviceId"),
    ip: ips[0],
    domain: ciStr(ev, "dnsDomain") ?? ciStr(ev, "ntDomain"),
    os: compact({ name: ciStr(ev, "osPlatform"), version: ciStr(ev, "version") ?? ciStr(ev, "osBuild") }),
  });
}

/** An IP evidence as an endpoint, and whether Microsoft marks it as the attacker or the source. */
export function ipEndpointOf(ev: Obj): { ep: Device; attacker: boolean } | undefined {
  const addr = ip(ciGet(ev, "ipAddress"));
  if (!addr) return undefined;
  const ep = compact({
    ip: addr,
    location: compact({ country: ciStr(ev, "countryLetterCode") ?? ciStr(ev, "location.countryCode") }),
  });
  return { ep, attacker: roles(ev).some((r) => r === "attacker" || r === "source") };
}

/** One Graph evidence item as an OCSF evidence (undefined for kinds with no OCSF home; resources go to `resources`). */
export function evidenceOf(ev: Obj, resources: Resource[]): Evidence | undefined {
  switch (kindOf(ev)) {
    case "deviceevidence":
      return { device: deviceOf(ev) };
    case "userevidence": {
      const user = userOf(ciObj(ev, "userAccount"));
      return user ? { user } : undefined;
    }
    case "ipevidence": {
      const e = ipEndpointOf(ev);
      if (!e) return undefined;
      return e.attacker ? { src_endpoint: e.ep } : { dst_endpoint: e.ep };
    }
    case "urlevidence": {
      const url = ciStr(ev, "url");
      return url
        ? { url: compact({ url_string: url, hostname: /^[a-z]+:\/\/([^/:?#]+)/i.exec(url)?.[1] }) }
        : undefined;
    }
    case "processevidence": {
      const image = fileOf(ciObj(ev, "imageFile"));
      const parent = ciObj(ev, "parentProcessImageFile");
      return {
        process: compact({
          name: image?.name,
          pid: num({ p: ciGet(ev, "processId") }, "p"),
          cmd_line: ciStr(ev, "processCommandLine"),
          file: image,
          user: userOf(ciObj(ev, "userAccount")),
          parent_process: compact({
            name: ciStr(parent, "fileName"),
            pid: num({ p: ciGet(ev, "parentProcessId") }, "p"),
          }),
        }),
        ...(image ? { file: image } : {}),
      };
    }
    case "fileevidence": {
      const file = fileOf(ciObj(ev, "fileDetails"));
      return file ? { file } : undefined;
    }
    case "mailboxevidence": {
      const user = compact({
        ...userOf(ciObj(ev, "userAccount")),
        email_addr: ciStr(ev, "primaryAddress"),
        full_name: ciStr(ev, "displayName"),
      });
      return Object.keys(user).length > 0 ? { user } : undefined;
    }
    case "analyzedmessageevidence": {
      const to = ciStr(ev, "recipientEmailAddress");
      const sender = ip(ciGet(ev, "senderIp"));
      return {
        email: compact({
          uid: ciStr(ev, "internetMessageId"),
          message_uid: ciStr(ev, "networkMessageId"),
          from: ciStr(ev, "p1Sender.emailAddress") ?? ciStr(ev, "p2Sender.emailAddress"),
          to: to ? [to] : undefined,
          subject: ciStr(ev, "subject"),
          x_originating_ip: sender ? [sender] : undefined,
        }),
      };
    }
    case "dnsevidence": {
      const domain = ciStr(ev, "domainName");
      return domain ? { query: { hostname: domain } } : undefined;
    }
    case "registrykeyevidence":
    case "registryvalueevidence": {
      const key = [ciStr(ev, "registryHive"), ciStr(ev, "registryKey")].filter(Boolean).join("\\");
      return key ? { reg_key: compact({ path: key, value_name: ciStr(ev, "registryValueName") }) } : undefined;
    }
    case "cloudapplicationevidence":
    case "oauthapplicationevidence":
      resources.push(
        compact({
          uid: ciStr(ev, "appId"),
          name: ciStr(ev, "displayName") ?? ciStr(ev, "appName"),
          type: "Application",
        }),
      );
      return undefined;
    case "azureresourceevidence":
      resources.push(
        compact({ uid: ciStr(ev, "resourceId"), name: ciStr(ev, "resourceName"), type: ciStr(ev, "resourceType") }),
      );
      return undefined;
    case "amazonresourceevidence":
      resources.push(
        compact({
          uid: ciStr(ev, "amazonResourceId") ?? ciStr(ev, "resourceId"),
          name: ciStr(ev, "resourceName"),
          type: ciStr(ev, "resourceType"),
          account_uid: ciStr(ev, "amazonAccountId"),
        }),
      );
      return undefined;
    case "googlecloudresourceevidence":
      resources.push(
        compact({
          uid: ciStr(ev, "fullResourceName") ?? ciStr(ev, "resourceId"),
          name: ciStr(ev, "resourceName"),
          type: ciStr(ev, "resourceType"),
          region: ciStr(ev, "location"),
          account_uid: ciStr(ev, "projectId"),
        }),
      );
      return undefined;
    case "securitygroupevidence":
      resources.push(
        compact({ uid: ciStr(ev, "securityGroupId"), name: ciStr(ev, "displayName"), type: "Security Group" }),
      );
      return undefined;
    default:
      return undefined;
  }
}

/** The affected device: the one Microsoft marks compromised / primary, else the first. */
export function primaryDevice(evidence: Obj[]): Device | undefined {
  const devices = evidence.filter((e) => kindOf(e) === "deviceevidence");
  const main = devices.find((d) => roles(d).some((r) => /compromised|primarydevice|main device/.test(r)));
  const d = main ?? devices[0];
  return d ? deviceOf(d) : undefined;
}

/** The affected user: a user evidence (the compromised one first), else a mailbox's owner. */
export function primaryUser(evidence: Obj[]): User | undefined {
  const users = evidence.filter((e) => kindOf(e) === "userevidence");
  const main = users.find((u) => roles(u).includes("compromised")) ?? users[0];
  const user = main ? userOf(ciObj(main, "userAccount")) : undefined;
  if (user) return user;
  const mailbox = evidence.find((e) => kindOf(e) === "mailboxevidence");
  if (!mailbox) return undefined;
  const m = compact({ ...userOf(ciObj(mailbox, "userAccount")), email_addr: ciStr(mailbox, "primaryAddress") });
  return Object.keys(m).length > 0 ? m : undefined;
}
