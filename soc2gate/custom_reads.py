"""The AWS operations a custom check may call: an allow-list of what a deployment gate reads.

An allow-list, not a deny-list. Operations named Get, Describe or List are not all harmless
reads: some create state (``cognito-identity GetId`` creates an identity, ``kms
GetParametersForImport`` an import token and wrapping key) and some return secrets
(``secretsmanager GetSecretValue``, ``ssm GetParameter`` with decryption, ``glue GetConnection``
with the connection's password, ``apigateway GetApiKeys`` with values, ``ivs GetStreamKey``,
``gamelift GetInstanceAccess``, ``ec2 DescribeVpnConnections`` with pre-shared keys, ``ec2
DescribeInstanceAttribute`` with user data). A name pattern or a deny-list has to know every
one of them across some 400 services, and every new operation AWS adds would be allowed until
someone noticed; an allow-list refuses what nobody reviewed. Each operation below was read in
botocore's service model: it changes nothing, and its answer holds configuration and metadata,
not credentials, secret values, content streams or user data (model and job ``Environment``
maps excepted: those are masked by value in every report, ``soc2gate.redaction``).

To allow another operation, add it here with a test in ``tests/unit/test_custom_reads.py``
after reading its output shape; ``REFUSED`` says why some tempting ones are not here.
"""

from __future__ import annotations

#: service (boto3 client name) -> the operations (API names) custom checks may call.
ALLOWED: dict[str, frozenset[str]] = {
    "sagemaker": frozenset(
        {
            "DescribeEndpoint",
            "DescribeEndpointConfig",
            "DescribeModel",
            "DescribeModelPackage",
            "DescribeModelPackageGroup",
            "DescribeInferenceComponent",
            "DescribeInferenceExperiment",
            "DescribeMonitoringSchedule",
            "DescribeDataQualityJobDefinition",
            "DescribeModelQualityJobDefinition",
            "DescribeModelBiasJobDefinition",
            "DescribeModelExplainabilityJobDefinition",
            "DescribeModelCard",
            "DescribePipelineExecution",
            "GetModelPackageGroupPolicy",
            "ListEndpoints",
            "ListEndpointConfigs",
            "ListModels",
            "ListModelPackages",
            "ListModelPackageGroups",
            "ListInferenceComponents",
            "ListInferenceExperiments",
            "ListMonitoringSchedules",
            "ListMonitoringExecutions",
            "ListMonitoringAlerts",
            "ListDataQualityJobDefinitions",
            "ListModelQualityJobDefinitions",
            "ListModelBiasJobDefinitions",
            "ListModelExplainabilityJobDefinitions",
            "ListModelCards",
            "ListModelCardVersions",
            "ListPipelineExecutions",
            "ListTags",
        }
    ),
    "ecr": frozenset(
        {
            "BatchGetImage",
            "BatchGetRepositoryScanningConfiguration",
            "DescribeImageReplicationStatus",
            "DescribeImageScanFindings",
            "DescribeImageSigningStatus",
            "DescribeImages",
            "DescribePullThroughCacheRules",
            "DescribeRegistry",
            "DescribeRepositories",
            "DescribeRepositoryCreationTemplates",
            "GetLifecyclePolicy",
            "GetRegistryPolicy",
            "GetRegistryScanningConfiguration",
            "GetRepositoryPolicy",
            "ListImages",
            "ListTagsForResource",
        }
    ),
    "inspector2": frozenset(
        {
            "BatchGetAccountStatus",
            "BatchGetFindingDetails",
            "DescribeOrganizationConfiguration",
            "GetConfiguration",
            "GetDelegatedAdminAccount",
            "ListAccountPermissions",
            "ListCoverage",
            "ListCoverageStatistics",
            "ListDelegatedAdminAccounts",
            "ListFilters",
            "ListFindingAggregations",
            "ListFindings",
            "ListTagsForResource",
        }
    ),
    "kms": frozenset(
        {
            "DescribeKey",
            "GetKeyPolicy",
            "GetKeyRotationStatus",
            "ListAliases",
            "ListGrants",
            "ListKeyPolicies",
            "ListKeyRotations",
            "ListResourceTags",
        }
    ),
    "s3": frozenset(
        {
            "GetBucketAcl",
            "GetBucketEncryption",
            "GetBucketLifecycleConfiguration",
            "GetBucketLocation",
            "GetBucketLogging",
            "GetBucketOwnershipControls",
            "GetBucketPolicy",
            "GetBucketPolicyStatus",
            "GetBucketReplication",
            "GetBucketTagging",
            "GetBucketVersioning",
            "GetObjectLockConfiguration",
            "GetPublicAccessBlock",
        }
    ),
    "s3control": frozenset({"GetPublicAccessBlock"}),
    "iam": frozenset(
        {
            "GetAccountPasswordPolicy",  # the password policy, not a password
            "GetAccountSummary",
            "GetPolicy",
            "GetPolicyVersion",
            "GetRole",
            "GetRolePolicy",
            "ListAttachedRolePolicies",
            "ListRolePolicies",
            "ListRoleTags",
        }
    ),
    "cloudwatch": frozenset(
        {
            "DescribeAlarms",
            "DescribeAlarmsForMetric",
            "GetMetricData",
            "GetMetricStatistics",
            "ListMetrics",
            "ListTagsForResource",
        }
    ),
    "application-autoscaling": frozenset(
        {
            "DescribeScalableTargets",
            "DescribeScalingActivities",
            "DescribeScalingPolicies",
            "DescribeScheduledActions",
        }
    ),
    "logs": frozenset(
        {
            "DescribeLogGroups",
            "DescribeMetricFilters",
            "DescribeSubscriptionFilters",
            "GetDataProtectionPolicy",
            "ListTagsForResource",
            "ListTagsLogGroup",
        }
    ),
    "ec2": frozenset(
        {
            "DescribeFlowLogs",
            "DescribeNetworkAcls",
            "DescribeRouteTables",
            "DescribeSecurityGroupRules",
            "DescribeSecurityGroups",
            "DescribeSubnets",
            "DescribeTags",
            "DescribeVolumes",
            "DescribeVpcEndpoints",
            "DescribeVpcs",
            "GetEbsDefaultKmsKeyId",
            "GetEbsEncryptionByDefault",
        }
    ),
    "sts": frozenset({"GetCallerIdentity"}),
    "signer": frozenset(
        {
            "DescribeSigningJob",
            "GetRevocationStatus",
            "GetSigningProfile",
            "ListProfilePermissions",
            "ListSigningJobs",
            "ListSigningProfiles",
            "ListTagsForResource",
        }
    ),
    "config": frozenset(
        {
            "DescribeComplianceByConfigRule",
            "DescribeComplianceByResource",
            "DescribeConfigRuleEvaluationStatus",
            "DescribeConfigRules",
            "DescribeConfigurationRecorderStatus",
            "DescribeConfigurationRecorders",
            "DescribeConformancePackCompliance",
            "GetComplianceSummaryByConfigRule",
        }
    ),
    "securityhub": frozenset({"DescribeHub", "DescribeStandardsControls", "GetEnabledStandards"}),
    "cloudtrail": frozenset(
        {"DescribeTrails", "GetEventSelectors", "GetTrail", "GetTrailStatus", "ListTrails"}
    ),
    "guardduty": frozenset({"GetDetector", "ListDetectors"}),
    "resourcegroupstaggingapi": frozenset({"GetResources"}),
}

#: Why some operations a user may reach for are not allowed (the refusal quotes it).
REFUSED: dict[str, str] = {
    "apigateway.GetApiKey": "returns the API key's value (includeValue)",
    "apigateway.GetApiKeys": "returns the API keys' values (includeValues)",
    "cloudtrail.GetQueryResults": "returns logged events, which may hold secrets",
    "cognito-identity.GetCredentialsForIdentity": "returns AWS credentials",
    "cognito-identity.GetId": "creates an identity in the identity pool",
    "cognito-identity.GetOpenIdToken": "returns a token",
    "config.BatchGetResourceConfig": (
        "returns whole configuration items, which hold e.g. a function's environment"
    ),
    "config.GetResourceConfigHistory": (
        "returns whole configuration items, which hold e.g. a function's environment"
    ),
    "config.GetComplianceDetailsByConfigRule": (
        "returns ResultTokens, with which evaluations can be put (DescribeComplianceByConfigRule "
        "gives the compliance)"
    ),
    "config.GetComplianceDetailsByResource": (
        "returns ResultTokens, with which evaluations can be put (DescribeComplianceByResource "
        "gives the compliance)"
    ),
    "ec2.DescribeInstanceAttribute": "returns an instance's user data, which often holds secrets",
    "ec2.DescribeLaunchTemplateVersions": "returns user data, which often holds secrets",
    "ec2.DescribeVpnConnections": "returns the VPN tunnels' pre-shared keys",
    "ec2.GetConsoleOutput": "returns an instance's console output",
    "ec2.GetLaunchTemplateData": "returns user data, which often holds secrets",
    "ec2.GetPasswordData": "returns an instance's administrator password",
    "ecr.GetAuthorizationToken": "returns a registry password",
    "ecr.GetDownloadUrlForLayer": "returns a pre-signed URL to an image layer",
    "gamelift.GetComputeAccess": "returns credentials for a fleet compute",
    "gamelift.GetInstanceAccess": "returns credentials to log in to a fleet instance",
    "glue.GetConnection": "returns the connection's password (unless HidePassword)",
    "glue.GetConnections": "returns the connections' passwords (unless HidePassword)",
    "iam.GetCredentialReport": "returns the account's credential report",
    "inspector2.BatchGetCodeSnippet": "returns source code, which may hold secrets",
    "ivs.GetStreamKey": "returns the stream key",
    "kms.GetParametersForImport": "creates an import token and a wrapping key",
    "lambda.GetFunction": "returns the function's environment and a code download URL",
    "lambda.GetFunctionConfiguration": "returns the function's environment variables",
    "logs.GetLogEvents": "returns log lines, which may hold secrets",
    "logs.GetQueryResults": "returns log lines, which may hold secrets",
    "s3.GetObject": "returns the object's content",
    "secretsmanager.GetSecretValue": "returns the secret's value",
    "ssm.GetParameter": "returns SecureString values decrypted (WithDecryption)",
    "ssm.GetParameterHistory": "returns SecureString values decrypted (WithDecryption)",
    "ssm.GetParameters": "returns SecureString values decrypted (WithDecryption)",
    "ssm.GetParametersByPath": "returns SecureString values decrypted (WithDecryption)",
    "securityhub.GetFindings": (
        "returns resource details, which hold launch configurations' user data and build "
        "projects' environment variables"
    ),
}
#: Services whose every operation returns credentials.
CREDENTIAL_SERVICES = frozenset({"sts", "sso", "sso-oidc", "cognito-identity"})


def refusal(service: str, operation: str) -> str | None:
    """Why ``service.operation`` may not be called by a custom check; None when it may."""
    allowed = ALLOWED.get(service, frozenset())
    if operation in allowed:
        return None
    known = REFUSED.get(f"{service}.{operation}")
    if known is None and service in CREDENTIAL_SERVICES:
        known = "returns credentials or tokens"
    if known is not None:
        return (
            f"it {known}; a gate changes nothing and its reports are CI artifacts, so no custom "
            "check may call it"
        )
    if not allowed:
        listed = f"no {service} operation is on it"
    elif len(allowed) <= 6:
        listed = f"for {service}: {', '.join(sorted(allowed))}"
    else:
        listed = f"{len(allowed)} {service} operations, not this one"
    return (
        "custom checks may call only the reads a deployment gate needs, listed in "
        f"soc2gate/custom_reads.py ({listed}); if {service} {operation} changes nothing and "
        "returns no secrets, ask for it to be added there"
    )
