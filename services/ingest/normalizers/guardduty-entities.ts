/**
 * What a GuardDuty finding is about: the acting principal, the affected resources and the EC2 instance, from the
 * GuardDuty API reference's Resource (AccessKeyDetails, S3BucketDetail, InstanceDetails, EksClusterDetails,
 * KubernetesDetails, EcsClusterDetails, LambdaDetails, RdsDbInstanceDetails, RdsLimitlessDbDetails, RdsDbUserDetails,
 * EbsVolumeDetails, ...), AwsApiCallAction.affectedResources and Detection.Sequence (actors, resources).
 */
import type { Obj } from "./util.ts";
import { arr, compact, get, ip, obj, str } from "./util.ts";
import { awsPrincipal, awsResource, type OcsfResource, type OcsfUser } from "./aws-util.ts";

/** Principal types GuardDuty names in its text ("IAMUser/john_doe with principalId AIDA... in account 1111..."). */
const PRINCIPAL_IN_TEXT =
  /\b(IAMUser|AssumedRole|Root|FederatedUser|AWSService|AWSAccount|Role)\/(\S+?) with principalId (\S+?)(?: in account (\d{12}))?\b/;

/**
 * The principal that acted: the access key's (Resource.AccessKeyDetails), the Kubernetes user, the RDS database
 * user, the first actor of an attack sequence (Service.Detection.Sequence.Actors), else the principal the attack
 * sequence's description names.
 */
export function principalOf(f: Obj, r: Obj | undefined, account: string | undefined): OcsfUser | undefined {
  const ak = obj(r, "accessKeyDetails");
  const fromKey = awsPrincipal({
    name: str(ak, "userName"),
    accessKeyId: str(ak, "accessKeyId"),
    principalId: str(ak, "principalId"),
    type: str(ak, "userType"),
    account,
  });
  if (fromKey) return fromKey;
  const k8s = obj(r, "kubernetesDetails.kubernetesUserDetails");
  if (str(k8s, "username") || str(k8s, "uid"))
    return compact({ name: str(k8s, "username"), uid: str(k8s, "uid"), type: "Kubernetes User" });
  const db = str(r, "rdsDbUserDetails.user");
  if (db) return { name: db, type: "Database User" };
  for (const actor of arr(f, "service.detection.sequence.actors")) {
    const u = obj(actor, "user");
    const user = awsPrincipal({
      name: str(u, "name"),
      arn: str(u, "uid")?.startsWith("arn:") ? str(u, "uid") : undefined,
      accessKeyId: str(u, "credentialUid"),
      principalId: str(u, "uid")?.startsWith("arn:") ? undefined : str(u, "uid"),
      type: str(u, "type"),
      account: str(u, "account.uid") ?? account,
    });
    if (user) return user;
  }
  const m = PRINCIPAL_IN_TEXT.exec(`${str(f, "title") ?? ""}\n${str(f, "description") ?? ""}`);
  if (m) return awsPrincipal({ type: m[1], name: m[2], principalId: m[3], account: m[4] ?? account });
  return undefined;
}

/** Every resource the finding names (Resource.*Details, affected resources of an API call, sequence resources). */
export function resourcesOf(f: Obj, r: Obj | undefined): OcsfResource[] {
  const common = { region: str(f, "region"), cloud_partition: str(f, "partition") };
  const one = (type: string, uid: string | undefined, name?: string, extra: Obj = {}, tags?: unknown) =>
    uid || name ? [awsResource(compact({ ...common, type, uid, name, ...extra }), tags)] : [];
  const inst = obj(r, "instanceDetails");
  const eks = obj(r, "eksClusterDetails");
  const wl = obj(r, "kubernetesDetails.kubernetesWorkloadDetails");
  const ecs = obj(r, "ecsClusterDetails");
  const lambda = obj(r, "lambdaDetails");
  const rds = obj(r, "rdsDbInstanceDetails");
  const limitless = obj(r, "rdsLimitlessDbDetails");
  const container = obj(r, "containerDetails");
  const list: OcsfResource[] = [
    ...one(
      "AWS::EC2::Instance",
      str(inst, "instanceId"),
      undefined,
      {
        data: compact({
          image_id: str(inst, "imageId"),
          instance_type: str(inst, "instanceType"),
          instance_profile: str(inst, "iamInstanceProfile.arn"),
        }),
      },
      get(inst, "tags"),
    ),
    ...one("AWS::IAM::AccessKey", str(r, "accessKeyDetails.accessKeyId"), str(r, "accessKeyDetails.userName")),
    ...arr(r, "s3BucketDetails").flatMap((b) =>
      one(
        "AWS::S3::Bucket",
        str(b, "arn"),
        str(b, "name"),
        compact({
          owner: str(b, "owner.id") ? { uid: str(b, "owner.id") } : undefined,
          data: compact({
            role: str(b, "type"),
            encryption: str(b, "defaultServerSideEncryption.encryptionType"),
            effective_permission: str(b, "publicAccess.effectivePermission"),
          }),
        }),
        get(b, "tags"),
      ),
    ),
    ...one(
      "AWS::EKS::Cluster",
      str(eks, "arn"),
      str(eks, "name"),
      compact({ data: compact({ vpc_id: str(eks, "vpcId"), status: str(eks, "status") }) }),
      get(eks, "tags"),
    ),
    ...one(
      `Kubernetes ${str(wl, "type") ?? "workload"}`,
      str(wl, "uid"),
      str(wl, "name"),
      compact({ namespace: str(wl, "namespace") }),
    ),
    ...one("AWS::ECS::Cluster", str(ecs, "arn"), str(ecs, "name"), {}, get(ecs, "tags")),
    ...one("AWS::ECS::Task", str(ecs, "taskDetails.arn"), str(ecs, "taskDetails.definitionArn")),
    ...one(
      "Container",
      str(container, "id"),
      str(container, "name"),
      compact({ data: compact({ image: str(container, "image") }) }),
    ),
    ...one(
      "AWS::Lambda::Function",
      str(lambda, "functionArn"),
      str(lambda, "functionName"),
      compact({
        version: str(lambda, "functionVersion"),
        data: compact({ role: str(lambda, "role"), vpc_id: str(lambda, "vpcConfig.vpcId") }),
      }),
      get(lambda, "tags"),
    ),
    ...one(
      "AWS::RDS::DBInstance",
      str(rds, "dbInstanceArn"),
      str(rds, "dbInstanceIdentifier"),
      compact({
        data: compact({
          engine: str(rds, "engine"),
          engine_version: str(rds, "engineVersion"),
          cluster: str(rds, "dbClusterIdentifier"),
        }),
      }),
      get(rds, "tags"),
    ),
    ...one(
      "AWS::RDS::DBShardGroup",
      str(limitless, "dbShardGroupArn"),
      str(limitless, "dbShardGroupIdentifier"),
      {},
      get(limitless, "tags"),
    ),
    ...arr(r, "ebsVolumeDetails.scannedVolumeDetails").flatMap((v) => one("AWS::EC2::Volume", str(v, "volumeArn"))),
    ...one("AWS::EC2::Snapshot", str(r, "ebsSnapshotDetails.snapshotArn")),
    ...one("AWS::EC2::Image", str(r, "ec2ImageDetails.imageArn")),
    ...one(
      "AWS::Backup::RecoveryPoint",
      str(r, "recoveryPointDetails.recoveryPointArn"),
      str(r, "recoveryPointDetails.backupVaultName"),
    ),
    ...Object.entries(obj(f, "service.action.awsApiCallAction.affectedResources") ?? {}).flatMap(([type, uid]) =>
      typeof uid === "string" ? one(type, uid) : [],
    ),
    ...arr(f, "service.detection.sequence.resources").flatMap((s) =>
      one(
        str(s, "resourceType") ?? "AWS resource",
        str(s, "uid"),
        str(s, "name"),
        compact({ region: str(s, "region") ?? common.region, account_uid: str(s, "accountId") }),
        get(s, "tags"),
      ),
    ),
  ];
  const unique = [...new Map(list.map((x) => [`${x.type ?? ""}\u0000${x.uid ?? x.name ?? ""}`, x])).values()];
  // A finding about something GuardDuty does not detail (AttackSequence) still names what it is about.
  return unique.length || !r ? unique : [compact({ ...common, type: str(r, "resourceType") })];
}

/** The EC2 instance as the OCSF device (first network interface). */
export function deviceOf(r: Obj | undefined) {
  const inst = obj(r, "instanceDetails");
  const nic0 = arr(inst, "networkInterfaces")[0];
  return compact({
    hostname: str(nic0, "privateDnsName"),
    ip: ip(get(nic0, "privateIpAddress")) ?? ip(arr(nic0, "ipv6Addresses")[0]),
    uid: str(inst, "instanceId"),
    type: inst ? "Virtual" : undefined,
    os: compact({ name: str(inst, "platform") }),
  });
}
