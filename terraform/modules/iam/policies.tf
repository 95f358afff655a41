# Policy blocks. Each becomes one customer managed policy "<prefix>-<block>"; main.tf lists which
# blocks each role carries. Statements with Resource "*" hold only actions that support no narrower
# resource (List*, GetAuthorizationToken, metric reads); everything else names its ARNs.

locals {
  kms_via_s3 = "s3.${local.region}.amazonaws.com"

  endpoint_change_actions = [
    "sagemaker:CreateEndpoint",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:DeleteEndpoint",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
  ]

  approval_actions = [
    "sagemaker:DeleteModelPackage",
    "sagemaker:DeleteModelPackageGroup",
    "sagemaker:UpdateModelPackage",
  ]

  denied_ml_engineer_environments = setsubtract(var.environments, var.ml_engineer_environments)
}

# ------------------------------------------------------------------------------------------------ inspect
# Read-only view of jobs, the registry, endpoints, images, rollouts and metrics. Every role has it.
data "aws_iam_policy_document" "inspect" {
  statement {
    sid    = "ListSageMaker"
    effect = "Allow"
    actions = [
      "sagemaker:ListEndpointConfigs",
      "sagemaker:ListEndpoints",
      "sagemaker:ListModelPackageGroups",
      "sagemaker:ListModels",
      "sagemaker:ListProcessingJobs",
      "sagemaker:ListTrainingJobs",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "DescribeProjectSageMaker"
    effect = "Allow"
    actions = [
      "sagemaker:DescribeEndpoint",
      "sagemaker:DescribeEndpointConfig",
      "sagemaker:DescribeModel",
      "sagemaker:DescribeModelPackage",
      "sagemaker:DescribeModelPackageGroup",
      "sagemaker:DescribeProcessingJob",
      "sagemaker:DescribeTrainingJob",
      "sagemaker:ListModelPackages",
      "sagemaker:ListTags",
    ]
    resources = concat(local.arns.jobs, local.arns.all_endpoints, [local.arns.package_group, local.arns.packages])
  }

  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid    = "PullProjectImage"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:DescribeImageScanFindings",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:ListImages",
    ]
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid    = "ReadRollouts"
    effect = "Allow"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeInstanceRefreshes",
      "autoscaling:DescribeScalingActivities",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:DescribeLaunchTemplates",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "ReadMetrics"
    effect = "Allow"
    actions = [
      "cloudwatch:GetMetricData",
      "cloudwatch:GetMetricStatistics",
      "cloudwatch:ListMetrics",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ReadProjectAlarms"
    effect    = "Allow"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.p}-*"]
  }
}

# ------------------------------------------------------------------------------------------------ explore
# inspect, plus reading the data and model buckets and the job and server logs.
data "aws_iam_policy_document" "explore" {
  source_policy_documents = [data.aws_iam_policy_document.inspect.json]

  statement {
    sid    = "ListProjectBuckets"
    effect = "Allow"
    actions = [
      "s3:GetBucketLocation",
      "s3:ListBucket",
      "s3:ListBucketVersions",
    ]
    resources = [var.data_bucket_arn, var.models_bucket_arn]
  }

  statement {
    sid    = "ReadProjectObjects"
    effect = "Allow"
    actions = [
      "s3:GetObject",
      "s3:GetObjectVersion",
    ]
    resources = ["${var.data_bucket_arn}/*", "${var.models_bucket_arn}/*"]
  }

  statement {
    sid       = "DecryptThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.storage_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kms_via_s3]
    }
  }

  statement {
    sid    = "ReadJobAndServerLogs"
    effect = "Allow"
    actions = [
      "logs:DescribeLogStreams",
      "logs:FilterLogEvents",
      "logs:GetLogEvents",
    ]
    resources = concat(local.arns.sagemaker_logs, local.arns.project_logs)
  }
}

# --------------------------------------------------------------------------------------------- experiment
# Add data to the DVC remote and keep experiment outputs under experiments/ in the models bucket.
data "aws_iam_policy_document" "experiment" {
  statement {
    sid    = "WriteDataAndExperiments"
    effect = "Allow"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:PutObject",
    ]
    resources = ["${var.data_bucket_arn}/*", "${var.models_bucket_arn}/experiments/*"]
  }

  statement {
    sid    = "EncryptThroughS3"
    effect = "Allow"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]
    resources = [var.storage_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kms_via_s3]
    }
  }
}

# -------------------------------------------------------------------------------------------------- train
data "aws_iam_policy_document" "train" {
  statement {
    sid    = "RunProjectJobs"
    effect = "Allow"
    actions = [
      "sagemaker:AddTags",
      "sagemaker:CreateProcessingJob",
      "sagemaker:CreateTrainingJob",
      "sagemaker:DescribeProcessingJob",
      "sagemaker:DescribeTrainingJob",
      "sagemaker:StopProcessingJob",
      "sagemaker:StopTrainingJob",
    ]
    resources = local.arns.jobs
  }

  statement {
    sid       = "PassExecutionRoleToSageMaker"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = [local.execution_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }
}

# ----------------------------------------------------------------------------------------------- register
# Register model versions (they start PendingManualApproval); approving is in administer only.
data "aws_iam_policy_document" "register" {
  statement {
    sid    = "RegisterModelVersions"
    effect = "Allow"
    actions = [
      "sagemaker:AddTags",
      "sagemaker:CreateModelPackage",
      "sagemaker:CreateModelPackageGroup",
      "sagemaker:DescribeModelPackage",
      "sagemaker:DescribeModelPackageGroup",
    ]
    resources = [local.arns.package_group, local.arns.packages]
  }
}

# ------------------------------------------------------------------------------------------------ publish
# Push images to ECR (copied from the CI registry by digest) and publish model artifacts under models/.
data "aws_iam_policy_document" "publish" {
  statement {
    sid    = "PushProjectImage"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid    = "PublishArtifacts"
    effect = "Allow"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = ["${var.models_bucket_arn}/models/*"]
  }

  statement {
    sid       = "ListModelsBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.models_bucket_arn]
  }

  statement {
    sid    = "EncryptArtifactsThroughS3"
    effect = "Allow"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]
    resources = [var.storage_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kms_via_s3]
    }
  }
}

# ---------------------------------------------------------------------------------------- release-<env>
# Everything a release to one environment does: SageMaker endpoint blue/green update with its alarm,
# and the serving Auto Scaling group's launch-template version plus instance refresh.
data "aws_iam_policy_document" "release" {
  for_each = toset(var.environments)

  statement {
    sid    = "DeploySageMakerEndpoint"
    effect = "Allow"
    actions = [
      "sagemaker:AddTags",
      "sagemaker:CreateEndpoint",
      "sagemaker:CreateEndpointConfig",
      "sagemaker:CreateModel",
      "sagemaker:DeleteEndpointConfig",
      "sagemaker:DeleteModel",
      "sagemaker:DescribeEndpoint",
      "sagemaker:DescribeEndpointConfig",
      "sagemaker:DescribeModel",
      "sagemaker:InvokeEndpoint",
      "sagemaker:UpdateEndpoint",
      "sagemaker:UpdateEndpointWeightsAndCapacities",
    ]
    resources = local.env_sagemaker_arns[each.key]
  }

  statement {
    sid       = "PassExecutionRoleToSageMaker"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = [local.execution_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  statement {
    sid    = "DeploymentGuardrailAlarms"
    effect = "Allow"
    actions = [
      "cloudwatch:DeleteAlarms",
      "cloudwatch:DescribeAlarms",
      "cloudwatch:PutMetricAlarm",
    ]
    resources = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.p}-${each.key}-*"]
  }

  statement {
    sid    = "RollOutServingGroup"
    effect = "Allow"
    actions = [
      "autoscaling:CancelInstanceRefresh",
      "autoscaling:RollbackInstanceRefresh",
      "autoscaling:StartInstanceRefresh",
      "autoscaling:UpdateAutoScalingGroup",
    ]
    resources = ["arn:${local.partition}:autoscaling:${local.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/${local.p}-${each.key}-*"]
  }

  statement {
    sid    = "VersionServingLaunchTemplate"
    effect = "Allow"
    actions = [
      "ec2:CreateLaunchTemplateVersion",
      "ec2:DeleteLaunchTemplateVersions",
      "ec2:ModifyLaunchTemplate",
    ]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:launch-template/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [local.p]
    }
  }

  # Starting an instance refresh (or updating the group) with a launch template is checked against
  # ec2:RunInstances and, for its tag specifications, ec2:CreateTags. Both only through a launch
  # template; which instance profile it may carry is limited by iam:PassRole below.
  statement {
    sid     = "LaunchThroughLaunchTemplates"
    effect  = "Allow"
    actions = ["ec2:RunInstances"]
    resources = [
      "arn:${local.partition}:ec2:${local.region}::image/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:instance/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:launch-template/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:volume/*",
    ]

    condition {
      test     = "ArnLike"
      variable = "ec2:LaunchTemplate"
      values   = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:launch-template/*"]
    }
  }

  statement {
    sid     = "TagLaunchedInstances"
    effect  = "Allow"
    actions = ["ec2:CreateTags"]
    resources = [
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:instance/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:volume/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["RunInstances"]
    }
  }

  statement {
    sid       = "PassServingInstanceRole"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = [local.serving_instance_role_arns[each.key]]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
}

# --------------------------------------------------------------------------------------------- administer
# The MLOps engineer's own rights: approve versions, retire endpoints, manage Studio user profiles,
# scale the serving groups.
data "aws_iam_policy_document" "administer" {
  statement {
    sid       = "ApproveModelVersions"
    effect    = "Allow"
    actions   = local.approval_actions
    resources = [local.arns.package_group, local.arns.packages]
  }

  statement {
    sid    = "RetireEndpoints"
    effect = "Allow"
    actions = [
      "sagemaker:DeleteEndpoint",
      "sagemaker:DeleteEndpointConfig",
      "sagemaker:DeleteModel",
    ]
    resources = local.arns.all_endpoints
  }

  statement {
    sid    = "ManageStudioUserProfiles"
    effect = "Allow"
    actions = [
      "sagemaker:CreateUserProfile",
      "sagemaker:DeleteUserProfile",
      "sagemaker:DescribeUserProfile",
      "sagemaker:UpdateUserProfile",
    ]
    resources = ["${local.sm}:user-profile/*/*"]
  }

  statement {
    sid    = "ManageStudioDomain"
    effect = "Allow"
    actions = [
      "sagemaker:DescribeDomain",
      "sagemaker:UpdateDomain",
    ]
    resources = ["${local.sm}:domain/*"]
  }

  statement {
    sid       = "PassStudioRolesToSageMaker"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = local.studio_role_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  statement {
    sid    = "ScaleServingGroups"
    effect = "Allow"
    actions = [
      "autoscaling:ResumeProcesses",
      "autoscaling:SetDesiredCapacity",
      "autoscaling:SuspendProcesses",
    ]
    resources = ["arn:${local.partition}:autoscaling:${local.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/${local.p}-*"]
  }
}

# ------------------------------------------------------------------------------------------------- guards
# Explicit denies: they hold even if someone later attaches a broader policy to the role.
data "aws_iam_policy_document" "guard_data_scientist" {
  statement {
    sid       = "NeverChangeEndpoints"
    effect    = "Deny"
    actions   = local.endpoint_change_actions
    resources = ["*"]
  }

  statement {
    sid       = "NeverApproveModels"
    effect    = "Deny"
    actions   = local.approval_actions
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "guard_ml_engineer" {
  statement {
    sid       = "NeverApproveModels"
    effect    = "Deny"
    actions   = local.approval_actions
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = length(local.denied_ml_engineer_environments) > 0 ? [1] : []

    content {
      sid       = "NoReleaseBeyondMlEngineerEnvironments"
      effect    = "Deny"
      actions   = concat(local.endpoint_change_actions, ["sagemaker:CreateModel", "sagemaker:DeleteModel"])
      resources = flatten([for env in sort(tolist(local.denied_ml_engineer_environments)) : local.env_sagemaker_arns[env]])
    }
  }
}

# --------------------------------------------------------------------------------------- studio-<persona>
data "aws_iam_policy_document" "studio" {
  for_each = toset(local.personas)

  statement {
    sid    = "OpenOwnUserProfile"
    effect = "Allow"
    actions = [
      "sagemaker:CreatePresignedDomainUrl",
      "sagemaker:DescribeUserProfile",
    ]
    resources = ["${local.sm}:user-profile/*/${var.persona_studio_user_profiles[each.key]}"]
  }

  statement {
    sid    = "RunOwnApps"
    effect = "Allow"
    actions = [
      "sagemaker:CreateApp",
      "sagemaker:DeleteApp",
      "sagemaker:DescribeApp",
    ]
    resources = ["${local.sm}:app/*/${var.persona_studio_user_profiles[each.key]}/*"]
  }

  statement {
    sid       = "SeeDomain"
    effect    = "Allow"
    actions   = ["sagemaker:DescribeDomain"]
    resources = ["${local.sm}:domain/*"]
  }

  statement {
    sid    = "ListStudio"
    effect = "Allow"
    actions = [
      "sagemaker:ListApps",
      "sagemaker:ListDomains",
      "sagemaker:ListUserProfiles",
    ]
    resources = ["*"]
  }
}

# ------------------------------------------------------------------------------------ execution role
# What SageMaker itself does for a training job or an endpoint: read inputs, write the artifact under
# models/, pull the image, write logs and metrics.
data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "ListInputBuckets"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn, var.models_bucket_arn]
  }

  statement {
    sid       = "ReadInputs"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${var.data_bucket_arn}/*", "${var.models_bucket_arn}/*"]
  }

  statement {
    sid    = "WriteArtifacts"
    effect = "Allow"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:PutObject",
    ]
    resources = ["${var.models_bucket_arn}/models/*"]
  }

  statement {
    sid    = "UseStorageKeyThroughS3"
    effect = "Allow"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]
    resources = [var.storage_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kms_via_s3]
    }
  }

  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid    = "PullProjectImage"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid    = "WriteSageMakerLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
    ]
    resources = local.arns.sagemaker_logs
  }

  statement {
    sid       = "PublishSageMakerMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringLike"
      variable = "cloudwatch:namespace"
      values   = ["/aws/sagemaker/*", "aws/sagemaker/*"]
    }
  }
}

# ---------------------------------------------------------------------------------------- terraform state
# Read the state (bucket and key from terraform/bootstrap) and take the lock. Plans need no more; apply
# roles write state through their broader policy.
data "aws_iam_policy_document" "terraform_state" {
  statement {
    sid       = "ListStateBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn]
  }

  statement {
    sid       = "ReadState"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${local.state_bucket_arn}/*"]
  }

  statement {
    sid    = "TakeStateLock"
    effect = "Allow"
    actions = [
      "dynamodb:DeleteItem",
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
    ]
    resources = [local.state_lock_arn]
  }

  dynamic "statement" {
    for_each = var.terraform_state_kms_key_arn == null ? [] : [var.terraform_state_kms_key_arn]

    content {
      sid    = "UseStateKeyThroughS3AndDynamoDb"
      effect = "Allow"
      actions = [
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKey",
      ]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.kms_via_s3, "dynamodb.${local.region}.amazonaws.com"]
      }
    }
  }
}

# A plan reads configuration, never data: the data and model objects stay out of reach even though the
# plan role carries ReadOnlyAccess.
data "aws_iam_policy_document" "guard_terraform_plan" {
  statement {
    sid    = "NeverReadDataOrModels"
    effect = "Deny"
    actions = [
      "s3:GetObject",
      "s3:GetObjectVersion",
    ]
    resources = ["${var.data_bucket_arn}/*", "${var.models_bucket_arn}/*"]
  }
}

# ------------------------------------------------------------------------------------------ apply-<env>
# IAM for an environment stack (PowerUserAccess excludes IAM): only the two roles and the instance
# profile that terraform/service creates for <env>, named exactly (a pattern like "<prefix>-<env>-*"
# would also match this very role and the deploy role, and let the apply role rewrite its own policy);
# only the SSM managed policy attached; passed only to EC2 and VPC Flow Logs.
locals {
  env_stack_roles = {
    for env in var.environments : env => [
      local.serving_instance_role_arns[env],
      "${local.role_arn}/${local.p}-${env}-flow-logs",
    ]
  }
}

data "aws_iam_policy_document" "apply" {
  for_each = toset(var.environments)

  statement {
    sid    = "ManageEnvironmentRoles"
    effect = "Allow"
    actions = [
      "iam:CreateRole",
      "iam:DeleteRole",
      "iam:DeleteRolePolicy",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
      "iam:PutRolePolicy",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = local.env_stack_roles[each.key]
  }

  statement {
    sid    = "AttachOnlySessionManagerPolicy"
    effect = "Allow"
    actions = [
      "iam:AttachRolePolicy",
      "iam:DetachRolePolicy",
    ]
    resources = local.env_stack_roles[each.key]

    condition {
      test     = "ArnEquals"
      variable = "iam:PolicyARN"
      values   = ["${local.aws_managed_policy}/AmazonSSMManagedInstanceCore"]
    }
  }

  statement {
    sid    = "ManageEnvironmentInstanceProfiles"
    effect = "Allow"
    actions = [
      "iam:AddRoleToInstanceProfile",
      "iam:CreateInstanceProfile",
      "iam:DeleteInstanceProfile",
      "iam:GetInstanceProfile",
      "iam:RemoveRoleFromInstanceProfile",
      "iam:TagInstanceProfile",
      "iam:UntagInstanceProfile",
    ]
    resources = ["arn:${local.partition}:iam::${local.account_id}:instance-profile/${local.p}-${each.key}-serving-instance"]
  }

  statement {
    sid       = "PassEnvironmentRoles"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = local.env_stack_roles[each.key]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com", "vpc-flow-logs.amazonaws.com"]
    }
  }

  statement {
    sid       = "CreateServiceLinkedRoles"
    effect    = "Allow"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["${local.role_arn}/aws-service-role/*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com"]
    }
  }
}
