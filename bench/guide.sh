#!/usr/bin/env bash
# The baseline of measurement 1: what a person following
# the SOC 2 SageMaker deployment monitoring guide runs to verify a ready deployment,
# verbatim (names, flags, queries), in the guide's order: the individual checks of Phases 1-3,
# then the "Complete Status Check Script". Left out: Troubleshooting and CloudWatch logs (only for
# a failed deployment), the monitoring loop (measurement 2 covers it; on a ready endpoint it is one
# more describe-endpoint) and the post-InService "Testing Commands".
#
# bench/run.py runs it with `aws` from PyPI's awscli first on PATH and AWS_ENDPOINT_URL pointing
# at the moto server. 16 `aws` processes. Command output is discarded by the caller.
set -eu -o pipefail

# ---- Phase 1: ECR repository & image management ----------------------------------------------
aws ecr describe-repositories --repository-names defender-image-analyzer-soc2 --region us-east-1

aws ecr list-images --repository-name defender-image-analyzer-soc2 --region us-east-1

aws ecr describe-images --repository-name defender-image-analyzer-soc2 --region us-east-1

aws ecr describe-image-scan-findings \
  --repository-name defender-image-analyzer-soc2 \
  --image-id imageTag=soc2-dev-latest \
  --region us-east-1 \
  --query 'imageScanFindings.findingCounts'

# ---- Phase 2: SageMaker model management -----------------------------------------------------
aws sagemaker list-models \
  --name-contains "defenderImageAnalyzerSOC2Hardened" \
  --region us-east-1 \
  --max-items 10 \
  --sort-by CreationTime \
  --sort-order Descending

LATEST_MODEL=$(aws sagemaker list-models \
  --name-contains "defenderImageAnalyzerSOC2Hardened" \
  --region us-east-1 \
  --query 'Models[0].ModelName' \
  --output text)

echo "Latest SOC 2 model: $LATEST_MODEL"

aws sagemaker describe-model --model-name "$LATEST_MODEL" --region us-east-1

# ---- Phase 3: endpoint deployment monitoring -------------------------------------------------
aws sagemaker describe-endpoint \
  --endpoint-name defenderImageAnalyzerSOC2HardenedDev \
  --region us-east-1

aws sagemaker describe-endpoint \
  --endpoint-name defenderImageAnalyzerSOC2HardenedDev \
  --region us-east-1 \
  --query 'EndpointStatus' \
  --output text

aws sagemaker list-endpoint-configs \
  --name-contains "defenderImageAnalyzerSOC2Hardened" \
  --region us-east-1 \
  --max-items 5

LATEST_CONFIG=$(aws sagemaker list-endpoint-configs \
  --name-contains "defenderImageAnalyzerSOC2Hardened" \
  --region us-east-1 \
  --query 'EndpointConfigs[0].EndpointConfigName' \
  --output text)

aws sagemaker describe-endpoint-config \
  --endpoint-config-name "$LATEST_CONFIG" \
  --region us-east-1

# ---- Complete Status Check Script (One-Command Status Overview) ------------------------------
echo "=== SOC 2 Deployment Status Overview ==="
echo ""

echo "1ECR Repository Images:"
IMAGE_COUNT=$(aws ecr list-images --repository-name defender-image-analyzer-soc2 --region us-east-1 --query 'length(imageIds)')
echo "   Found $IMAGE_COUNT images in SOC 2 repository"

if [ "$IMAGE_COUNT" -gt 0 ]; then
  echo "   Latest images:"
  aws ecr list-images --repository-name defender-image-analyzer-soc2 --region us-east-1 --query 'imageIds[*].imageTag' --output table
fi

echo ""
echo "2SageMaker Models:"
aws sagemaker list-models --name-contains "defenderImageAnalyzerSOC2Hardened" --region us-east-1 --query 'Models[0:3].[ModelName,CreationTime]' --output table

echo ""
echo "3Endpoint Status:"
ENDPOINT_STATUS=$(aws sagemaker describe-endpoint --endpoint-name defenderImageAnalyzerSOC2HardenedDev --region us-east-1 --query 'EndpointStatus' --output text 2>/dev/null)

if [ -n "$ENDPOINT_STATUS" ]; then
  echo "   defenderImageAnalyzerSOC2HardenedDev: $ENDPOINT_STATUS"

  if [ "$ENDPOINT_STATUS" = "InService" ]; then
    echo "   SOC 2 endpoint is ready for testing!"
    echo "   Endpoint URL available for inference requests"
  fi
else
  echo "   Endpoint not created yet (pipeline in progress)"
fi

echo ""
echo "=== End Status Check ==="
