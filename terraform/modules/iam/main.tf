# Who may do what, by persona.
#
#   data-scientist  explores data, runs training and processing jobs; never creates or changes
#                   endpoints, never approves model versions (explicit denies back this up).
#   ml-engineer     also registers model versions and deploys to var.ml_engineer_environments
#                   (staging); other environments are denied explicitly, and so is approval.
#   mlops-engineer  operates everything: approves versions, deploys and rolls out to every
#                   environment, deletes endpoints, manages Studio user profiles.
#
# Each persona is a role that people assume with MFA, plus a twin role that SageMaker Studio assumes
# for that persona's user profile; both carry the same customer managed policies. Policies are built
# from small blocks (policies.tf) so each stays under the 6,144-character limit and a role under the
# default quota of 10 attached policies. GitHub Actions uses its own roles (github_oidc.tf).
#
# SageMaker resources are scoped by name: training/processing jobs "<prefix>-*", the package group
# "<prefix>-<model>", and per environment the endpoint "<prefix>-<env>" plus endpoint configs, models
# and alarms "<prefix>-<env>-*", Auto Scaling groups "<prefix>-<env>-*" and launch templates tagged
# Environment=<env>.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  p          = var.name_prefix
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  account_root = "arn:${local.partition}:iam::${local.account_id}:root"
  role_arn     = "arn:${local.partition}:iam::${local.account_id}:role"
  sm           = "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}"

  personas = ["data-scientist", "ml-engineer", "mlops-engineer"]

  execution_role_name = "${local.p}-sagemaker-execution"
  execution_role_arn  = "${local.role_arn}/${local.execution_role_name}"
  studio_role_arns    = [for persona in local.personas : "${local.role_arn}/${local.p}-${persona}-studio"]

  # The instance role of each environment's serving Auto Scaling group (modules/serving_asg names it).
  serving_instance_role_arns = { for env in var.environments : env => "${local.role_arn}/${local.p}-${env}-serving-instance" }

  package_group_name = "${local.p}-${var.model_name}"

  # Terraform state, as terraform/bootstrap names it.
  state_bucket_arn = "arn:${local.partition}:s3:::${local.p}-${local.account_id}-tfstate"
  state_lock_arn   = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.p}-tfstate-lock"

  arns = {
    jobs = [
      "${local.sm}:training-job/${local.p}-*",
      "${local.sm}:processing-job/${local.p}-*",
    ]
    package_group = "${local.sm}:model-package-group/${local.package_group_name}"
    packages      = "${local.sm}:model-package/${local.package_group_name}/*"
    all_endpoints = [
      "${local.sm}:endpoint/${local.p}-*",
      "${local.sm}:endpoint-config/${local.p}-*",
      "${local.sm}:model/${local.p}-*",
    ]
    sagemaker_logs = [
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/*",
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/*:log-stream:*",
    ]
    project_logs = [
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/${local.p}/*",
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/${local.p}/*:log-stream:*",
    ]
  }

  # What one environment's release touches: its SageMaker endpoint and the resources it is made of.
  env_sagemaker_arns = {
    for env in var.environments : env => [
      "${local.sm}:endpoint/${local.p}-${env}",
      "${local.sm}:endpoint/${local.p}-${env}-*",
      "${local.sm}:endpoint-config/${local.p}-${env}-*",
      "${local.sm}:model/${local.p}-${env}-*",
    ]
  }

  # Policy names, by block; every role below lists the blocks it carries.
  release_blocks = { for env in var.environments : env => "release-${env}" }

  persona_blocks = {
    "data-scientist" = ["explore", "experiment", "train", "studio-data-scientist", "guard-data-scientist"]
    "ml-engineer" = concat(
      ["explore", "experiment", "train", "register", "studio-ml-engineer", "guard-ml-engineer"],
      [for env in var.ml_engineer_environments : local.release_blocks[env]],
    )
    "mlops-engineer" = concat(
      ["explore", "experiment", "train", "register", "publish", "administer", "studio-mlops-engineer"],
      [for env in var.environments : local.release_blocks[env]],
    )
  }

  deploy_blocks = {
    for env in var.environments : env => concat(
      ["inspect", local.release_blocks[env]],
      contains(var.build_environments, env) ? ["train", "register"] : [],
    )
  }

  policy_documents = merge(
    {
      "inspect"               = data.aws_iam_policy_document.inspect.json
      "explore"               = data.aws_iam_policy_document.explore.json
      "experiment"            = data.aws_iam_policy_document.experiment.json
      "train"                 = data.aws_iam_policy_document.train.json
      "register"              = data.aws_iam_policy_document.register.json
      "publish"               = data.aws_iam_policy_document.publish.json
      "administer"            = data.aws_iam_policy_document.administer.json
      "guard-data-scientist"  = data.aws_iam_policy_document.guard_data_scientist.json
      "guard-ml-engineer"     = data.aws_iam_policy_document.guard_ml_engineer.json
      "studio-data-scientist" = data.aws_iam_policy_document.studio["data-scientist"].json
      "studio-ml-engineer"    = data.aws_iam_policy_document.studio["ml-engineer"].json
      "studio-mlops-engineer" = data.aws_iam_policy_document.studio["mlops-engineer"].json
      "terraform-state"       = data.aws_iam_policy_document.terraform_state.json
      "guard-terraform-plan"  = data.aws_iam_policy_document.guard_terraform_plan.json
    },
    { for env in var.environments : local.release_blocks[env] => data.aws_iam_policy_document.release[env].json },
    { for env in var.environments : "apply-${env}" => data.aws_iam_policy_document.apply[env].json },
  )

  persona_attachments = merge([
    for persona, blocks in local.persona_blocks : {
      for block in blocks : "${persona}/${block}" => { persona = persona, block = block }
    }
  ]...)

}

resource "aws_iam_policy" "block" {
  for_each = local.policy_documents

  name        = "${local.p}-${each.key}"
  description = "${local.p}: ${each.key} (see terraform/modules/iam)"
  policy      = each.value

  tags = var.tags
}

# ---------------------------------------------------------------------------------------- persona roles
data "aws_iam_policy_document" "persona_trust" {
  statement {
    sid     = "PeopleWithMfa"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = length(var.persona_trusted_principal_arns) > 0 ? var.persona_trusted_principal_arns : [local.account_root]
    }

    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
  }
}

data "aws_iam_policy_document" "sagemaker_trust" {
  statement {
    sid     = "SageMakerInThisAccount"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "persona" {
  for_each = toset(local.personas)

  name                 = "${local.p}-${each.key}"
  description          = "Persona ${each.key} of ${local.p}, assumed by people with MFA"
  assume_role_policy   = data.aws_iam_policy_document.persona_trust.json
  max_session_duration = var.max_session_duration

  tags = merge(var.tags, { Persona = each.key })

  lifecycle {
    precondition {
      condition     = length(setsubtract(var.ml_engineer_environments, var.environments)) == 0 && length(setsubtract(var.build_environments, var.environments)) == 0
      error_message = "ml_engineer_environments and build_environments must be subsets of environments."
    }
  }
}

resource "aws_iam_role" "studio" {
  for_each = toset(local.personas)

  name                 = "${local.p}-${each.key}-studio"
  description          = "SageMaker Studio execution role of the ${each.key} user profile"
  assume_role_policy   = data.aws_iam_policy_document.sagemaker_trust.json
  max_session_duration = var.max_session_duration

  tags = merge(var.tags, { Persona = each.key })
}

resource "aws_iam_role_policy_attachment" "persona" {
  for_each = local.persona_attachments

  role       = aws_iam_role.persona[each.value.persona].name
  policy_arn = aws_iam_policy.block[each.value.block].arn
}

resource "aws_iam_role_policy_attachment" "studio" {
  for_each = local.persona_attachments

  role       = aws_iam_role.studio[each.value.persona].name
  policy_arn = aws_iam_policy.block[each.value.block].arn
}

# ------------------------------------------------------------------------------ SageMaker execution role
resource "aws_iam_role" "execution" {
  name               = local.execution_role_name
  description        = "Assumed by SageMaker training jobs and endpoints of ${local.p}"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_trust.json

  tags = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "sagemaker-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}
