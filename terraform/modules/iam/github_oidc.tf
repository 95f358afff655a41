# GitHub Actions reaches AWS through OIDC, never with stored keys. One deploy role per environment:
# its trust names the repository and the GitHub environment exactly (StringEquals on "sub", no
# wildcards), so only a job that declares `environment: <env>` in this repository can assume it, and
# GitHub's environment protection rules (required reviewers for production) gate that job.

locals {
  github_oidc_host         = "token.actions.githubusercontent.com"
  github_oidc_provider_arn = var.github_oidc_provider_arn != null ? var.github_oidc_provider_arn : aws_iam_openid_connect_provider.github[0].arn
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.github_oidc_provider_arn == null ? 1 : 0

  url            = "https://${local.github_oidc_host}"
  client_id_list = ["sts.amazonaws.com"]

  tags = var.tags
}

data "aws_iam_policy_document" "deploy_trust" {
  for_each = toset(var.environments)

  statement {
    sid     = "GitHubActionsEnvironment"
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
      values   = ["repo:${var.github_repository}:environment:${each.key}"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  for_each = toset(var.environments)

  name                 = "${local.p}-${each.key}-deploy"
  description          = "GitHub Actions deploys to ${each.key} (repo ${var.github_repository}, environment ${each.key})"
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust[each.key].json
  max_session_duration = var.max_session_duration

  tags = merge(var.tags, { Environment = each.key })
}

resource "aws_iam_role_policy_attachment" "deploy" {
  for_each = local.deploy_attachments

  role       = aws_iam_role.deploy[each.value.env].name
  policy_arn = aws_iam_policy.block[each.value.block].arn
}
