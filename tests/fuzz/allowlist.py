"""Paths whose mutation cannot change the verdict, each with the reason; and the open holes.

An entry covers an operation, a path and (optionally) some mutation kinds, baselines and
requests. Paths and kinds use ``*`` as the only wildcard; a path matches either its concrete form
(``Models[1].ModelArn``) or its pattern (``Models[*].ModelArn``). A PASS after a mutation is a
false pass unless an entry covers every mutation of the trial.

``knocks``: some facts are read from several places, e.g. "scanning is on" (a matching registry
rule, the batch scanning configuration's scanFrequency, the repository's and the batch answer's
scanOnPush under BASIC). Mutating one of them cannot matter while another still says it; an
entry with ``knocks`` names the sources its mutation takes away, and a trial that takes away every
source of a group (``GROUPS``) is judged as if no entry covered it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from fuzz.shapes import Mutation, render

ECR_R = "ecr:DescribeRepositories"
ECR_REG = "ecr:GetRegistryScanningConfiguration"
ECR_BATCH = "ecr:BatchGetRepositoryScanningConfiguration"
ECR_IMG = "ecr:DescribeImages"
ECR_SCAN = "ecr:DescribeImageScanFindings"
COVERAGE = "inspector2:ListCoverage"
SM_EP = "sagemaker:DescribeEndpoint"
SM_EPC = "sagemaker:DescribeEndpointConfig"
SM_MODEL = "sagemaker:DescribeModel"
SM_LIST = "sagemaker:ListModels"
SM_PKG = "sagemaker:DescribeModelPackage"
SM_ICS = "sagemaker:ListInferenceComponents"
SM_IC = "sagemaker:DescribeInferenceComponent"

#: The deployment shapes (issue 19): the guide's BASIC-scanned image deployed from a Model
#: Registry package version, and served by inference components.
SHAPES = ("model-package", "inference-components")
BASIC = ("basic", "model-name", "registry-id", *SHAPES)
ENHANCED = ("enhanced", "enhanced-coverage")
#: A request for the second findings page (the key holds the first page's nextToken).
PAGE_2 = '*"nextToken":*'
#: deployed-image-scanned resolving the model's tag soc2-dev-<sha> alone.
MODEL_TAG_REQUEST = '{"imageIds":[{"imageTag":"soc2-dev-3f9c*'


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")


def _match(text: str, pattern: str) -> bool:
    return bool(_glob(pattern).match(text))


@dataclass(frozen=True)
class Inert:
    op: str
    path: str
    reason: str
    kinds: tuple[str, ...] = ("*",)
    baselines: tuple[str, ...] = ("*",)
    request: str = "*"
    knocks: tuple[str, ...] = ()

    def covers(self, m: Mutation, baseline: str = "") -> bool:
        return (
            _match(m.operation, self.op)
            and (_match(m.pattern, self.path) or _match(render(m.path), self.path))
            and any(_match(m.kind, k) for k in self.kinds)
            and (not baseline or any(_match(baseline, b) for b in self.baselines))
            and _match(m.key, self.request)
        )


#: Sources of one fact, per baseline: the fact holds while one source is left.
GROUPS: dict[str, dict[str, frozenset[str]]] = {
    "scanning-on": {
        "basic": frozenset({"repo-flag", "batch-flag", "batch-frequency"}),
        "model-name": frozenset({"repo-flag", "batch-flag", "batch-frequency"}),
        "registry-id": frozenset({"repo-flag", "batch-flag", "batch-frequency"}),
        **{b: frozenset({"repo-flag", "batch-flag", "batch-frequency"}) for b in SHAPES},
        "enhanced": frozenset({"registry-rule", "batch-frequency"}),
        "enhanced-coverage": frozenset({"registry-rule", "batch-frequency"}),
    },
}
_SOURCE_GROUP = {s: g for g, per in GROUPS.items() for srcs in per.values() for s in srcs}

NOT_READ = "not read by any check (the report or the evidence at most)"
ECHO = (
    "echoes the request (AWS answers for what it was asked); the gate asked by this name/id and "
    "does not cross-check the echo (see /tmp/fuzz-findings.md, not counted)"
)
SCANNING_ON = (
    "scanning is on while a matching registry rule, the batch scanFrequency or (BASIC) a "
    "scanOnPush still says so; a trial that takes every source away is judged"
)
BELOW = "the finding is below --fail-on HIGH: without it, or with this field changed, the scan is still clean"
FINDING_TEXT = (
    "names or describes a finding below the threshold (waivers, none in the baselines, match ids "
    "and packages; --fail-only-fixable, off, reads fixAvailable)"
)

ALLOWLIST: tuple[Inert, ...] = (
    # ---- ecr:DescribeRepositories ----
    Inert(
        ECR_R,
        "repositories[*].repositoryArn",
        "evidence only unless Inspector coverage is "
        "consulted (the enhanced-coverage baseline is not allowlisted)",
        baselines=("basic", "enhanced", "model-name", *SHAPES),
    ),
    Inert(
        ECR_R,
        "repositories[*].repositoryArn",
        "with --registry-region the ARN's region is checked, and this change keeps it (only the "
        "name part changes); without Inspector coverage the rest is evidence only",
        baselines=("registry-id",),
        kinds=("change",),
    ),
    Inert(
        ECR_R,
        "repositories[*].registryId",
        NOT_READ + " without --registry-id (the registry-id baseline is not allowlisted)",
        baselines=("basic", "enhanced", "enhanced-coverage", "model-name", *SHAPES),
    ),
    Inert(ECR_R, "repositories[*].createdAt", NOT_READ),
    Inert(ECR_R, "repositories[*].repositoryName", ECHO, kinds=("change",)),
    Inert(
        ECR_R, "repositories", "an extra entry after the repository asked for", kinds=("append",)
    ),
    Inert(ECR_R, "nextToken", "DescribeRepositories by name is not paged", kinds=("add",)),
    Inert(
        ECR_R,
        "repositories[*].encryptionConfiguration",
        "AWS documents AES256 for a repository "
        "without encryptionConfiguration (the 2019 recording has none)",
        kinds=("delete", "null"),
    ),
    Inert(
        ECR_R,
        "repositories[*].encryptionConfiguration.encryptionType",
        "another type the default --encryption allows",
        kinds=("enum:KMS", "enum:KMS_DSSE", "enum:AES256"),
    ),
    Inert(
        ECR_R,
        "repositories[*].encryptionConfiguration.kmsKey",
        "the encryption type is judged, not the key",
    ),
    Inert(
        ECR_R,
        "repositories[*].imageTagMutabilityExclusionFilters",
        "exclusion filters apply to *_WITH_EXCLUSION only; the baselines are IMMUTABLE",
        kinds=("add",),
    ),
    Inert(
        ECR_R,
        "repositories[*].imageTagMutability",
        "IMMUTABLE_WITH_EXCLUSION without exclusion filters leaves every tag immutable",
        kinds=("enum:IMMUTABLE_WITH_EXCLUSION",),
    ),
    Inert(
        ECR_R,
        "repositories[*].imageScanningConfiguration*",
        SCANNING_ON,
        baselines=BASIC,
        knocks=("repo-flag",),
    ),
    Inert(
        ECR_R,
        "repositories[*].imageScanningConfiguration*",
        "scanOnPush is ignored under ENHANCED scanning",
        baselines=ENHANCED,
    ),
    # ---- ecr:GetRegistryScanningConfiguration ----
    Inert(
        ECR_REG,
        "scanningConfiguration.rules",
        "no rule (or one that matches nothing) in a BASIC "
        "registry: the repository's own settings decide",
        baselines=BASIC,
        kinds=("append", "delete", "empty", "null"),
    ),
    Inert(
        ECR_REG,
        "scanningConfiguration.scanType",
        SCANNING_ON + " (under ENHANCED or an unknown type, scanOnPush no longer counts)",
        baselines=BASIC,
        knocks=("repo-flag", "batch-flag"),
    ),
    Inert(
        ECR_REG,
        "scanningConfiguration.scanType",
        "rules are matched whatever the scan type",
        baselines=ENHANCED,
        kinds=("enum:BASIC",),
    ),
    Inert(
        ECR_REG,
        "scanningConfiguration.scanType",
        SCANNING_ON + " (an unknown scan type: the rules are not trusted to mean scanning)",
        baselines=ENHANCED,
        kinds=("empty", "enum:unknown"),
        knocks=("registry-rule",),
    ),
    Inert(
        ECR_REG,
        "scanningConfiguration.rules[*].scanFrequency",
        "still a scanning frequency",
        baselines=ENHANCED,
        kinds=("enum:SCAN_ON_PUSH",),
    ),
    Inert(
        ECR_REG,
        "scanningConfiguration.rules[*].repositoryFilters",
        "one more filter: the one that matches the repository is still there",
        baselines=ENHANCED,
        kinds=("append",),
    ),
    Inert(
        ECR_REG,
        "scanningConfiguration.rules[*].repositoryFilters[*].filterType",
        "WILDCARD is the only filter type ECR defines; the filter text is what is matched",
        baselines=ENHANCED,
    ),
    Inert(
        ECR_REG,
        "scanningConfiguration.rules*",
        SCANNING_ON,
        baselines=ENHANCED,
        knocks=("registry-rule",),
    ),
    # ---- ecr:BatchGetRepositoryScanningConfiguration ----
    Inert(
        ECR_BATCH,
        "failures*",
        "failures name repositories whose configuration was not "
        "returned; ours is in scanningConfigurations",
    ),
    Inert(ECR_BATCH, "scanningConfigurations", "an extra entry after ours", kinds=("append",)),
    Inert(ECR_BATCH, "scanningConfigurations[*].repositoryArn", NOT_READ),
    Inert(ECR_BATCH, "scanningConfigurations[*].repositoryName", ECHO),
    Inert(
        ECR_BATCH,
        "scanningConfigurations[*].appliedScanFilters*",
        NOT_READ + " (the rule filters of GetRegistryScanningConfiguration are matched instead)",
    ),
    Inert(
        ECR_BATCH,
        "scanningConfigurations[*].scanFrequency",
        "still a scanning frequency",
        kinds=("enum:CONTINUOUS_SCAN", "enum:SCAN_ON_PUSH"),
    ),
    Inert(
        ECR_BATCH,
        "scanningConfigurations[*].scanFrequency",
        SCANNING_ON,
        knocks=("batch-frequency",),
    ),
    Inert(
        ECR_BATCH,
        "scanningConfigurations[*].scanOnPush",
        SCANNING_ON,
        baselines=BASIC,
        knocks=("batch-flag",),
    ),
    Inert(
        ECR_BATCH,
        "scanningConfigurations[*].scanOnPush",
        "scanOnPush is ignored under ENHANCED scanning",
        baselines=ENHANCED,
    ),
    Inert(
        ECR_BATCH,
        "scanningConfigurations*",
        SCANNING_ON,
        baselines=BASIC,
        knocks=("batch-flag", "batch-frequency"),
    ),
    Inert(
        ECR_BATCH,
        "scanningConfigurations*",
        SCANNING_ON,
        baselines=ENHANCED,
        knocks=("batch-frequency",),
    ),
    # ---- ecr:DescribeImages ----
    Inert(
        ECR_IMG,
        "imageDetails",
        "an extra detail without digest or tags names no requested tag",
        kinds=("append",),
    ),
    Inert(ECR_IMG, "nextToken", "DescribeImages by imageIds is not paged", kinds=("add",)),
    Inert(ECR_IMG, "imageDetails[*].repositoryName", ECHO),
    *(
        Inert(ECR_IMG, f"imageDetails[*].{name}", NOT_READ)
        for name in (
            "artifactMediaType",
            "imageManifestMediaType",
            "imageSizeInBytes",
            "registryId",
            "imagePushedAt",
            "imageStatus",
            "lastActivatedAt",
            "lastArchivedAt",
            "lastRecordedPullTime",
            "subjectManifestDigest",
        )
    ),
    Inert(
        ECR_IMG,
        "imageDetails[*].imageScanFindingsSummary*",
        "the verdict reads the scan's own "
        "answer (DescribeImageScanFindings, every page); this is a summary of it",
    ),
    Inert(
        ECR_IMG,
        "imageDetails[*].imageScanStatus*",
        "the verdict reads the scan's own answer "
        "(DescribeImageScanFindings); this is a copy of its status",
    ),
    Inert(
        ECR_IMG,
        "imageDetails[*].imageTags",
        "one more tag on the image: every requested tag is still listed",
        kinds=("append",),
    ),
    Inert(
        ECR_IMG,
        "imageDetails[0].imageTags",
        "the requested tag soc2-dev-<sha> is still listed",
        kinds=("append", "drop-first", "drop-last"),
        request=MODEL_TAG_REQUEST,
    ),
    Inert(
        ECR_IMG,
        "imageDetails[0].imageTags[0]",
        "another tag than the one requested",
        request=MODEL_TAG_REQUEST,
    ),
    Inert(
        ECR_IMG,
        "imageDetails[0].imageTags[2]",
        "another tag than the one requested",
        request=MODEL_TAG_REQUEST,
    ),
    # ---- ecr:DescribeImageScanFindings ----
    Inert(ECR_SCAN, "registryId", ECHO),
    Inert(ECR_SCAN, "repositoryName", ECHO),
    Inert(ECR_SCAN, "imageId*", ECHO),
    Inert(ECR_SCAN, "imageScanStatus.description", "text for the report"),
    Inert(
        ECR_SCAN,
        "imageScanStatus.status",
        "another finished status",
        kinds=("enum:COMPLETE", "enum:ACTIVE"),
        baselines=ENHANCED,
    ),
    Inert(ECR_SCAN, "imageScanFindings.vulnerabilitySourceUpdatedAt", "evidence only"),
    Inert(
        ECR_SCAN,
        "nextToken",
        "dropping the last page of a clean scan leaves a clean scan "
        "(page:add-critical checks that every page is read)",
        kinds=("delete", "null", "empty"),
    ),
    Inert(
        ECR_SCAN,
        "imageScanFindings.imageScanCompletedAt",
        "the first page's completion time is the proof the scan is read",
        request=PAGE_2,
    ),
    Inert(
        ECR_SCAN,
        "imageScanFindings.imageScanCompletedAt",
        "a later completion time is still one",
        kinds=("change",),
    ),
    Inert(
        ECR_SCAN,
        "imageScanFindings.imageScanCompletedAt",
        "Amazon Inspector's coverage record "
        "(ACTIVE, SUCCESSFUL, lastScannedAt) proves the scan instead",
        kinds=("delete", "null"),
        baselines=("enhanced",),
    ),
    Inert(
        ECR_SCAN,
        "imageScanFindings.imageScanCompletedAt",
        "a completion time before the push is not a proof (F3); Amazon Inspector's coverage "
        "record (ACTIVE, SUCCESSFUL, lastScannedAt after the push) proves the scan instead",
        kinds=("zero",),
        baselines=("enhanced",),
    ),
    Inert(
        ECR_SCAN,
        "imageScanFindings.imageScanCompletedAt",
        "a completion time where coverage proves it already",
        kinds=("add",),
        baselines=("enhanced-coverage",),
    ),
    Inert(ECR_SCAN, "imageScanFindings.vulnerabilitySourceUpdatedAt", "evidence only"),
    Inert(
        ECR_SCAN,
        "imageScanFindings.findings[*].severity",
        BELOW,
        kinds=("enum:INFORMATIONAL", "enum:LOW", "enum:MEDIUM"),
    ),
    Inert(ECR_SCAN, "imageScanFindings.findings[*]", BELOW, kinds=("delete",)),
    Inert(ECR_SCAN, "imageScanFindings.findings", BELOW, kinds=("empty", "drop-*")),
    *(
        Inert(ECR_SCAN, f"imageScanFindings.findings[*].{name}*", FINDING_TEXT)
        for name in ("name", "description", "uri", "attributes")
    ),
    Inert(ECR_SCAN, "imageScanFindings.enhancedFindings[*]", BELOW, kinds=("delete",)),
    Inert(ECR_SCAN, "imageScanFindings.enhancedFindings", BELOW, kinds=("empty", "drop-*")),
    *(
        Inert(ECR_SCAN, f"imageScanFindings.enhancedFindings[*].{name}*", FINDING_TEXT)
        for name in (
            "awsAccountId",
            "description",
            "exploitAvailable",
            "findingArn",
            "firstObservedAt",
            "lastObservedAt",
            "updatedAt",
            "fixAvailable",
            "title",
            "type",
            "score",
            "packageVulnerabilityDetails",
            "remediation",
            "resources",
        )
    ),
    Inert(
        ECR_SCAN,
        "imageScanFindings.enhancedFindings[*].status",
        BELOW + " (any status but CLOSED counts the finding)",
    ),
    Inert(
        ECR_SCAN,
        "imageScanFindings.findingSeverityCounts",
        "the pages hold every finding; the counts can only add findings the pages did not hold",
        kinds=("delete", "empty", "null"),
    ),
    Inert(
        ECR_SCAN,
        "imageScanFindings.findingSeverityCounts{*}",
        "a count of a severity below the threshold",
        kinds=("change", "delete", "zero"),
    ),
    Inert(
        ECR_SCAN,
        "imageScanFindings.findingSeverityCounts",
        "a count of a severity below the threshold",
        kinds=("add-key:INFORMATIONAL", "add-key:LOW", "add-key:MEDIUM"),
    ),
    Inert(
        ECR_SCAN,
        "imageScanFindings.findingSeverityCounts",
        "unrated findings are allowed (--fail-on-untriaged false)",
        kinds=("add-key:UNDEFINED", "add-key:UNTRIAGED"),
        baselines=ENHANCED,
    ),
    # ---- inspector2:ListCoverage ----
    Inert(
        COVERAGE,
        "coveredResources",
        "a record of no resource: the gate picks the record whose resourceId names the image",
        kinds=("append",),
    ),
    Inert(
        COVERAGE,
        "coveredResources[*].accountId",
        "the account is part of resourceId, which is checked",
    ),
    Inert(COVERAGE, "coveredResources[*].provider*", NOT_READ),
    Inert(COVERAGE, "coveredResources[*].scanMode", NOT_READ),
    Inert(
        COVERAGE,
        "coveredResources[*].resourceMetadata*",
        NOT_READ + " (resourceId names the image)",
    ),
    Inert(
        COVERAGE,
        "coveredResources[*].resourceType",
        ECHO + " (the request filters on AWS_ECR_CONTAINER_IMAGE and resourceId is checked)",
    ),
    Inert(
        COVERAGE,
        "coveredResources[*].scanType",
        "ECR images have one Inspector scan type (PACKAGE); " + NOT_READ,
    ),
    Inert(
        COVERAGE,
        "coveredResources[*].lastScannedAt",
        "a later scan time is still one",
        kinds=("change",),
    ),
    Inert(
        COVERAGE,
        "nextToken",
        "the record that names the image is on the first page: the gate stops there",
        kinds=("add",),
    ),
    # ---- sagemaker:DescribeEndpoint ----
    *(
        Inert(SM_EP, name, NOT_READ, kinds=("add",))
        for name in (
            "AsyncInferenceConfig",
            "CrossRegionTrafficConfig",
            "DataCaptureConfig",
            "ExplainerConfig",
            "LastDeploymentConfig",
            "MetricsConfig",
            "ProductionVariants[*].AcceleratorPartitionLayouts",
            "ProductionVariants[*].CapacityReservationConfig",
            "ProductionVariants[*].InstancePools",
            "ProductionVariants[*].ManagedInstanceScaling",
            "ProductionVariants[*].RoutingConfig",
        )
    ),
    Inert(SM_EP, "CreationTime", "evidence only"),
    Inert(SM_EP, "LastModifiedTime", "evidence only"),
    Inert(SM_EP, "EndpointArn", "evidence only"),
    Inert(SM_EP, "EndpointName", ECHO, kinds=("change", "empty")),
    Inert(
        SM_EP,
        "ProductionVariants[*].VariantName",
        "a label: each variant entry is judged",
        kinds=("change", "empty"),
    ),
    Inert(
        SM_EP,
        "ProductionVariants[*].CurrentInstanceCount",
        "more instances than desired (scaling in) still serve the deployed config",
        kinds=("change",),
    ),
    Inert(
        SM_EP, "ProductionVariants[*].CurrentWeight", "every variant is judged whatever its weight"
    ),
    Inert(
        SM_EP, "ProductionVariants[*].DesiredWeight", "every variant is judged whatever its weight"
    ),
    Inert(SM_EP, "ProductionVariants[*].DeployedImages[*].ResolutionTime", NOT_READ),
    Inert(
        SM_EP,
        "ProductionVariants[*].DeployedImages[*].SpecifiedImage",
        "ResolvedImage is what serves, and is what is compared",
    ),
    # ---- sagemaker:DescribeEndpointConfig ----
    *(
        Inert(SM_EPC, name, NOT_READ, kinds=("add",))
        for name in (
            "AsyncInferenceConfig",
            "CrossRegionTrafficConfig",
            "DataCaptureConfig",
            "ExplainerConfig",
            "KmsKeyId",
            "MetricsConfig",
            "VpcConfig",
            *(
                f"ProductionVariants[*].{v}"
                for v in (
                    "AcceleratorPartitionLayouts",
                    "AcceleratorType",
                    "CapacityReservationConfig",
                    "ContainerStartupHealthCheckTimeoutInSeconds",
                    "CoreDumpConfig",
                    "EnableSSMAccess",
                    "InferenceAmiVersion",
                    "ManagedInstanceScaling",
                    "ModelDataDownloadTimeoutInSeconds",
                    "RoutingConfig",
                    "VariantInstanceProvisionTimeoutInSeconds",
                    "VolumeSizeInGB",
                )
            ),
        )
    ),
    Inert(SM_EPC, "CreationTime", NOT_READ),
    Inert(SM_EPC, "ExecutionRoleArn", NOT_READ),
    Inert(SM_EPC, "EndpointConfigArn", NOT_READ),
    Inert(SM_EPC, "EnableNetworkIsolation", NOT_READ),
    Inert(SM_EPC, "EndpointConfigName", ECHO),
    Inert(
        SM_EPC,
        "ProductionVariants[*].InitialInstanceCount",
        "initial values; what serves is read from DescribeEndpoint",
    ),
    Inert(
        SM_EPC,
        "ProductionVariants[*].InitialVariantWeight",
        "initial values; what serves is read from DescribeEndpoint",
    ),
    Inert(
        SM_EPC,
        "ProductionVariants[*].VariantName",
        "a label: each variant entry is judged",
        kinds=("change", "empty"),
    ),
    # ---- sagemaker:DescribeModel ----
    *(
        Inert(SM_MODEL, name, NOT_READ)
        for name in (
            "CreationTime",
            "ExecutionRoleArn",
            "ModelArn",
            "EnableNetworkIsolation",
            "DeploymentRecommendation",
            "InferenceExecutionConfig",
            "VpcConfig",
            "PrimaryContainer.AdditionalModelDataSources",
            "PrimaryContainer.ContainerHostname",
            "PrimaryContainer.ContainerMetricsConfig",
            "PrimaryContainer.ImageConfig",
            "PrimaryContainer.MultiModelConfig",
            "PrimaryContainer.Mode",
            "PrimaryContainer.ModelDataSource*",
            "PrimaryContainer.ModelDataUrl",
        )
    ),
    # Read only for a container that names a model package (the model-package baseline judges
    # them): without ModelPackageName the container's own Image and Environment serve.
    *(
        Inert(
            SM_MODEL,
            name,
            NOT_READ + " without a ModelPackageName beside it",
            baselines=tuple(b for b in (*BASIC, *ENHANCED) if b != "model-package"),
        )
        for name in (
            "PrimaryContainer.InferenceSpecificationName",
            "PrimaryContainer.ModelPackageName",
        )
    ),
    Inert(SM_MODEL, "ModelName", ECHO, kinds=("change", "empty")),
    Inert(
        SM_MODEL,
        "PrimaryContainer.Environment",
        "only the required markers are read",
        kinds=("add-key:*",),
    ),
    Inert(SM_MODEL, "PrimaryContainer.Environment{MODEL_SERVER_WORKERS}", "not a required marker"),
    Inert(
        SM_MODEL,
        "PrimaryContainer.Environment",
        "the model container's own Environment adds keys over its package container's: only the "
        "required markers are read (one set differently from the package's fails as a conflict)",
        kinds=("add",),
        baselines=("model-package",),
    ),
    Inert(
        SM_MODEL,
        "PrimaryContainer.Environment{SAGEMAKER_CONTAINER_LOG_LEVEL}",
        "not a required marker",
    ),
    # ---- sagemaker:ListModels ----
    Inert(
        SM_LIST,
        "Models",
        "a model whose name does not contain the text is not a candidate",
        kinds=("append",),
    ),
    Inert(
        SM_LIST,
        "Models",
        "drops the older matching model, which is not the newest",
        kinds=("drop-last",),
    ),
    Inert(SM_LIST, "Models[1]", "the older matching model is not the newest", kinds=("delete",)),
    Inert(SM_LIST, "Models[*].ModelArn", NOT_READ),
    Inert(SM_LIST, "Models[0].CreationTime", "the newest model only gets newer", kinds=("change",)),
    Inert(
        SM_LIST,
        "Models[1].CreationTime",
        "the older model only gets older",
        kinds=("zero", "type:bool"),
    ),
    Inert(
        SM_LIST,
        "Models[1].ModelName",
        "another name that is not the newest; the endpoint's model is judged too",
        kinds=("change", "empty"),
    ),
    # ---- sagemaker:DescribeModelPackage (the model-package baseline) ----
    *(
        Inert(SM_PKG, name, NOT_READ)
        for name in (
            "ApprovalDescription",
            "CertifyForMarketplace",
            "CreatedBy",
            "CreationTime",
            "CustomerMetadataProperties",
            "Domain",
            "DriftCheckBaselines",
            "LastModifiedBy",
            "LastModifiedTime",
            "ManagedStorageType",
            "MetadataProperties*",
            "ModelCard",
            "ModelLifeCycle",
            "ModelMetrics*",
            "ModelPackageDescription",
            "ModelPackageGroupName",
            "ModelPackageRegistrationType",
            "ModelPackageVersion",
            "SamplePayloadUrl",
            "SecurityConfig",
            "SkipModelValidation",
            "SourceUri",
            "Task",
            *(
                f"InferenceSpecification.{name}"
                for name in (
                    "SupportedContentTypes*",
                    "SupportedRealtimeInferenceInstanceTypes",
                    "SupportedResponseMIMETypes*",
                    "SupportedTransformInstanceTypes",
                )
            ),
            *(
                f"InferenceSpecification.Containers[*].{name}"
                for name in (
                    "AdditionalModelDataSources",
                    "AdditionalS3DataSource",
                    "BaseModel",
                    "ContainerHostname",
                    "Framework",
                    "FrameworkVersion",
                    "IsCheckpoint",
                    "ModelDataETag",
                    "ModelDataSource",
                    "ModelDataUrl",
                    "ModelInput",
                    "NearestModelName",
                    "ProductId",
                )
            ),
        )
    ),
    Inert(
        SM_PKG,
        "ModelPackageStatusDetails*",
        "the package's own validation and AWS Marketplace image-scan jobs; the gate scans the "
        "image itself (ecr-scan-findings) and judges ModelPackageStatus",
    ),
    Inert(SM_PKG, "ValidationSpecification", "the package's own validation jobs; " + NOT_READ),
    Inert(
        SM_PKG,
        "SourceAlgorithmSpecification",
        "names the algorithm the model was trained with; what serves is InferenceSpecification's "
        "containers (judged) and the endpoint's DeployedImages",
    ),
    Inert(
        SM_PKG,
        "AdditionalInferenceSpecifications",
        "used only by a model container naming one (InferenceSpecificationName, judged then); the "
        "baseline's model names none, so InferenceSpecification's containers serve",
        kinds=("add",),
    ),
    Inert(
        SM_PKG,
        "InferenceSpecification.Containers[*].ImageDigest",
        "the registry's record of the image: what serves is the endpoint's "
        "DeployedImages[].ResolvedImage and the container's Image resolved in ECR, both compared "
        "with the scanned digest",
    ),
    Inert(SM_PKG, "ModelPackageArn", "evidence only"),
    Inert(SM_PKG, "ModelPackageName", ECHO + " (the model names the package version by ARN)"),
    Inert(
        SM_PKG,
        "InferenceSpecification.Containers[*].Environment",
        "only the required markers are read",
        kinds=("add-key:*",),
    ),
    Inert(
        SM_PKG,
        "InferenceSpecification.Containers[*].Environment{MODEL_SERVER_WORKERS}",
        "not a required marker",
    ),
    # ---- sagemaker:ListInferenceComponents (the inference-components baseline) ----
    *(
        Inert(
            SM_ICS, f"InferenceComponents[*].{name}", NOT_READ + ": DescribeInferenceComponent's is"
        )
        for name in ("InferenceComponentStatus", "VariantName")
    ),
    *(
        Inert(SM_ICS, f"InferenceComponents[*].{name}", NOT_READ)
        for name in ("CreationTime", "LastModifiedTime", "EndpointArn", "InferenceComponentArn")
    ),
    Inert(
        SM_ICS,
        "InferenceComponents[*].EndpointName",
        "a summary without EndpointName is read as this endpoint's (asked with "
        "EndpointNameEquals): it is described and judged all the same",
        kinds=("delete", "null"),
    ),
    Inert(
        SM_ICS,
        "InferenceComponents[*].EndpointName",
        "a summary naming another endpoint is not on this one (the guard for implementations that "
        "ignore EndpointNameEquals): one component fewer is judged, and the variant still serves "
        "the other one, which is",
        kinds=("change", "empty"),
    ),
    Inert(
        SM_ICS,
        "InferenceComponents",
        "the appended summary names another endpoint (EndpointName 'fuzz'): not on this one",
        kinds=("append",),
    ),
    Inert(
        SM_ICS,
        "InferenceComponents",
        "the endpoint then serves one component fewer; the other one still serves the variant and "
        "is judged",
        kinds=("drop-first", "drop-last"),
    ),
    Inert(
        SM_ICS,
        "InferenceComponents[*]",
        "the endpoint then serves one component fewer; the other one still serves the variant and "
        "is judged",
        kinds=("delete",),
    ),
    # ---- sagemaker:DescribeInferenceComponent (the inference-components baseline) ----
    *(
        Inert(SM_IC, name, NOT_READ)
        for name in (
            "CreationTime",
            "LastModifiedTime",
            "LastDeploymentConfig",
            "Specification.ComputeResourceRequirements*",
            "Specification.StartupParameters*",
            "Specification.DataCacheConfig",
            "Specification.SchedulingConfig",
            "Specification.Container.ArtifactUrl",
            "Specification.Container.ContainerMetricsConfig",
            "Specification.Container.DeployedImage.ResolutionTime",
        )
    ),
    Inert(
        SM_IC,
        "Specification.InstanceType",
        NOT_READ + ": the instance type is the variant's, judged by sagemaker-endpoint-config",
    ),
    Inert(
        SM_IC,
        "RuntimeConfig*",
        "how many copies of the component run, not what they run: every copy runs the one "
        "DeployedImage and Environment judged; a rollout shows as InferenceComponentStatus "
        "Creating/Updating, waited for",
    ),
    Inert(SM_IC, "InferenceComponentArn", "evidence only"),
    Inert(
        SM_IC,
        "EndpointName",
        "ListInferenceComponents listed the component on this endpoint (EndpointNameEquals, and "
        "its summary's EndpointName is checked); " + NOT_READ,
    ),
    Inert(
        SM_IC,
        "EndpointArn",
        "ListInferenceComponents listed the component on this endpoint; " + NOT_READ,
    ),
    Inert(SM_IC, "InferenceComponentName", ECHO, kinds=("change", "empty")),
    Inert(
        SM_IC,
        "VariantName",
        "every component listed on the endpoint is judged whatever variant it names, and the "
        "variant still serves the other component",
        kinds=("change", "empty"),
    ),
    Inert(
        SM_IC,
        "Specification.Container.DeployedImage.SpecifiedImage",
        "ResolvedImage is what serves, and is what is compared",
    ),
    Inert(
        SM_IC,
        "Specification.Container.Environment",
        "only the required markers are read",
        kinds=("add-key:*",),
    ),
    Inert(
        SM_IC, "Specification.Container.Environment{MODEL_SERVER_WORKERS}", "not a required marker"
    ),
)


#: False passes the fuzzer found: id -> what it was (see /tmp/fuzz-findings.md), and the
#: mutations that showed it (``HOLE_PATHS``, plus ``HOLE_WITH``: mutations it needs beside it;
#: test_fuzz_finding_stays_closed replays them).
KNOWN_HOLES: dict[str, str] = {
    "F1": "later findings pages' findingSeverityCounts are ignored (only the first page's count)",
    "F2": "imageScanCompletedAt that is not a date counts as the scan's completion proof",
    "F3": "a completion proof dated before the image was pushed (1970) is accepted",
    "F4": "a registry scanning rule whose scanFrequency is missing or unknown counts as scanning",
    "F5": "without imagePushedAt, a completion time from 1970 is accepted (F3's check is skipped)",
    "F6": "an unknown or empty registry scanType is accepted (read as BASIC, its rules still count)",
    "F7": "a model naming an additional inference specification of its package "
    "(InferenceSpecificationName) is judged on the package's default containers",
    "F8": "a model container naming a ModelPackageName and another Image is judged on the "
    "package's containers alone",
    "F9": "an Approved package version whose ModelPackageStatus is missing, Failed, Deleting or "
    "unknown passes --require-model-approval",
    "F10": "an inference component InService with a FailureReason (an update rolled back) passes",
    "F11": "an inference component reporting Specifications (one per instance type) is judged on "
    "its one Specification",
    "F12": "an inference component whose answer names a variant the config lacks is not judged",
    "F13": "an adapter component whose base component is not listed on the endpoint passes (the "
    "base, where it runs, is never judged)",
}
#: Findings still open: a PASS on their mutations is reported as the known hole, not as a new
#: false pass, and their test is marked xfail(strict=True). F1-F3 were closed in c112a69; F7-F13
#: (the model-package and inference-components baselines, issue 19) were closed as found.
OPEN_HOLES: frozenset[str] = frozenset()
#: The first findings page's request (maxResults is followed by nextToken on later pages).
PAGE_1 = '*"maxResults":1000,"repositoryName":*'
HOLE_PATHS: tuple[tuple[str, Inert], ...] = (
    (
        "F1",
        Inert(
            ECR_SCAN,
            "imageScanFindings.findingSeverityCounts",
            KNOWN_HOLES["F1"],
            kinds=("add-key:CRITICAL", "add-key:HIGH", "add-key:UNDEFINED"),
            baselines=BASIC,
            request=PAGE_2,
        ),
    ),
    (
        "F2",
        Inert(
            ECR_SCAN,
            "imageScanFindings.imageScanCompletedAt",
            KNOWN_HOLES["F2"],
            kinds=("type:string", "type:date-string"),
            baselines=BASIC,
            request=PAGE_1,
        ),
    ),
    (
        "F3",
        Inert(
            ECR_SCAN,
            "imageScanFindings.imageScanCompletedAt",
            KNOWN_HOLES["F3"],
            kinds=("zero",),
            baselines=BASIC,
            request=PAGE_1,
        ),
    ),
    (
        "F5",
        Inert(
            ECR_SCAN,
            "imageScanFindings.imageScanCompletedAt",
            KNOWN_HOLES["F5"],
            kinds=("zero",),
            baselines=BASIC,
            request=PAGE_1,
        ),
    ),
    (
        "F6",
        Inert(
            ECR_REG,
            "scanningConfiguration.scanType",
            KNOWN_HOLES["F6"],
            kinds=("empty", "enum:unknown"),
        ),
    ),
    (
        "F4",
        Inert(
            ECR_REG,
            "scanningConfiguration.rules[*].scanFrequency",
            KNOWN_HOLES["F4"],
            kinds=("delete", "null", "empty", "enum:unknown", "type:*"),
            baselines=ENHANCED,
        ),
    ),
    (
        "F3",
        Inert(
            COVERAGE,
            "coveredResources[*].lastScannedAt",
            KNOWN_HOLES["F3"],
            kinds=("zero", "type:bool"),
        ),
    ),
    (
        "F7",
        Inert(
            SM_MODEL,
            "PrimaryContainer.InferenceSpecificationName",
            KNOWN_HOLES["F7"],
            kinds=("add",),
            baselines=("model-package",),
        ),
    ),
    (
        "F8",
        Inert(
            SM_MODEL,
            "PrimaryContainer.Image",
            KNOWN_HOLES["F8"],
            kinds=("add",),
            baselines=("model-package",),
        ),
    ),
    (
        "F9",
        Inert(
            SM_PKG,
            "ModelPackageStatus",
            KNOWN_HOLES["F9"],
            kinds=("delete", "null", "empty", "enum:*"),
        ),
    ),
    ("F10", Inert(SM_IC, "FailureReason", KNOWN_HOLES["F10"], kinds=("add",))),
    ("F11", Inert(SM_IC, "Specifications", KNOWN_HOLES["F11"], kinds=("add",))),
    ("F12", Inert(SM_IC, "VariantName", KNOWN_HOLES["F12"], kinds=("change", "empty"))),
    (
        "F13",
        Inert(
            SM_IC, "Specification.BaseInferenceComponentName", KNOWN_HOLES["F13"], kinds=("add",)
        ),
    ),
)


#: (operation, concrete path, kind) mutations a finding's replay applies beside its own: F4 needs
#: the batch answer's scanFrequency, the other source of "scanning is on", to say MANUAL; F5 needs
#: DescribeImages without imagePushedAt; F6 the batch answer's scanFrequency MANUAL.
HOLE_WITH: dict[str, tuple[tuple[str, str, str], ...]] = {
    "F4": ((ECR_BATCH, "scanningConfigurations[0].scanFrequency", "enum:MANUAL"),),
    "F5": ((ECR_IMG, "imageDetails[0].imagePushedAt", "delete"),),
    "F6": ((ECR_BATCH, "scanningConfigurations[0].scanFrequency", "enum:MANUAL"),),
    # F12 shows on a component that does not comply: the image component's SOC2_COMPLIANT gone.
    "F12": ((SM_IC, "Specification.Container.Environment{SOC2_COMPLIANT}", "delete"),),
}


def inert_reason(m: Mutation, trial: Sequence[Mutation] = (), baseline: str = "") -> str | None:
    """Why ``m`` cannot change the verdict, or None. ``trial``: every mutation of the trial."""
    entry = _entry(m, baseline)
    if entry is None:
        return None
    if entry.knocks and _group_defeated(entry, trial, baseline):
        return None
    return f"{entry.op} {entry.path}: {entry.reason}"


def _entry(m: Mutation, baseline: str) -> Inert | None:
    return next((e for e in ALLOWLIST if e.covers(m, baseline)), None)


def _group_defeated(entry: Inert, trial: Sequence[Mutation], baseline: str) -> bool:
    for source in entry.knocks:
        group = _SOURCE_GROUP[source]
        sources = GROUPS[group].get(baseline, frozenset())
        gone: set[str] = set()
        for m in trial:
            other = _entry(m, baseline)
            if other is not None:
                gone |= set(other.knocks)
        if sources and sources <= gone:
            return True
    return False


def known_hole(m: Mutation, baseline: str = "", open_only: bool = True) -> str | None:
    """The finding whose mutations ``m`` is one of (open ones only, unless ``open_only``)."""
    for hole, entry in HOLE_PATHS:
        if (hole in OPEN_HOLES or not open_only) and entry.covers(m, baseline):
            return hole
    return None


def unused_entries(mutations_by_baseline: Mapping[str, Sequence[Mutation]]) -> list[Inert]:
    """Allowlist entries that cover no mutation of any baseline: stale, or a typo."""
    return [
        e
        for e in ALLOWLIST
        if not any(e.covers(m, b) for b, ms in mutations_by_baseline.items() for m in ms)
    ]
