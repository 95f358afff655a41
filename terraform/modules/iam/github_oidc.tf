# GitHub Actions reaches AWS through OIDC, never with stored keys. Each role's trust names the repository
# and ONE kind of job exactly (StringEquals on "sub", no wildcards over repositories, branches or
# environments) and the audience sts.amazonaws.com:
#
#   <p>-ci                       repo:OWNER/REPO:ref:refs/heads/main        publish artifacts, push images
#   <p>-terraform-plan           repo:OWNER/REPO:pull_request, ...:ref:refs/heads/main
#                                                                            read-only plans
#   <p>-<env>-deploy             repo:OWNER/REPO:environment:<env>           promote a digest to <env>
#   <p>-<env>-terraform-apply    repo:OWNER/REPO:environment:infra-<env>     apply a reviewed plan of <env>
#                                (terraform/service with envs/<env>'s variables and state key)
#
# GitHub environment protection rules (required reviewers for production and infra-*) gate the jobs
# that can present those subjects. docs/using-this-template.md lists the variables that hold the ARNs.
# terraform/account itself (personas, these roles) is applied by an administrator, not by CI.

locals {
  github_oidc_host         = "token.actions.githubusercontent.com"
  github_oidc_provider_arn = var.github_oidc_provider_arn != null ? var.github_oidc_provider_arn : aws_iam_openid_connect_provider.github[0].arn
  repo_subject             = "repo:${var.github_repository}"
  aws_managed_policy       = "arn:${local.partition}:iam::aws:policy"

  oidc_roles = merge(
    {
      "ci" = {
        name        = "${local.p}-ci"
        description = "GitHub Actions on main: publish model artifacts and copy images to ECR"
        subjects    = ["${local.repo_subject}:ref:refs/heads/main"]
        blocks      = ["inspect", "publish"]
        managed     = []
        tags        = {}
      }
      "terraform-plan" = {
        name        = "${local.p}-terraform-plan"
        description = "GitHub Actions pull requests and main: read-only terraform plan"
        subjects    = ["${local.repo_subject}:pull_request", "${local.repo_subject}:ref:refs/heads/main"]
        blocks      = ["terraform-state", "guard-terraform-plan"]
        managed     = ["${local.aws_managed_policy}/ReadOnlyAccess"]
        tags        = {}
      }
    },
    {
      for env in var.environments : "deploy-${env}" => {
        name        = "${local.p}-${env}-deploy"
        description = "GitHub Actions environment ${env}: promote an image digest to ${env}"
        subjects    = ["${local.repo_subject}:environment:${env}"]
        blocks      = local.deploy_blocks[env]
        managed     = []
        tags        = { Environment = env }
      }
    },
    {
      for env in var.environments : "apply-${env}" => {
        name        = "${local.p}-${env}-terraform-apply"
        description = "GitHub Actions environment infra-${env}: apply a reviewed plan of terraform/envs/${env}"
        subjects    = ["${local.repo_subject}:environment:infra-${env}"]
        blocks      = ["terraform-state", "apply-${env}"]
        managed     = ["${local.aws_managed_policy}/PowerUserAccess"]
        tags        = { Environment = env }
      }
    },
  )

  oidc_block_attachments = merge([
    for key, role in local.oidc_roles : {
      for block in role.blocks : "${key}/${block}" => { role = key, block = block }
    }
  ]...)

  oidc_managed_attachments = merge([
    for key, role in local.oidc_roles : {
      for arn in role.managed : "${key}/${basename(arn)}" => { role = key, policy_arn = arn }
    }
  ]...)
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.github_oidc_provider_arn == null ? 1 : 0

  url            = "https://${local.github_oidc_host}"
  client_id_list = ["sts.amazonaws.com"]

  tags = var.tags
}

data "aws_iam_policy_document" "github_trust" {
  for_each = local.oidc_roles

  statement {
    sid     = "GitHubActions"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:sub"
      values   = each.value.subjects
    }
  }
}

resource "aws_iam_role" "github" {
  for_each = local.oidc_roles

  name                 = each.value.name
  description          = each.value.description
  assume_role_policy   = data.aws_iam_policy_document.github_trust[each.key].json
  max_session_duration = var.max_session_duration

  tags = merge(var.tags, each.value.tags)

  lifecycle {
    precondition {
      condition     = alltrue([for s in each.value.subjects : !strcontains(s, "*") && !strcontains(s, "?")])
      error_message = "GitHub OIDC subjects must be exact, without wildcards."
    }
  }
}

resource "aws_iam_role_policy_attachment" "github_blocks" {
  for_each = local.oidc_block_attachments

  role       = aws_iam_role.github[each.value.role].name
  policy_arn = aws_iam_policy.block[each.value.block].arn
}

resource "aws_iam_role_policy_attachment" "github_managed" {
  for_each = local.oidc_managed_attachments

  role       = aws_iam_role.github[each.value.role].name
  policy_arn = each.value.policy_arn
}
