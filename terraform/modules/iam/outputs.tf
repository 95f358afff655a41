output "persona_role_arns" {
  description = "ARNs of the persona roles people assume, by persona (data-scientist, ml-engineer, mlops-engineer)."
  value       = { for persona, role in aws_iam_role.persona : persona => role.arn }
}

output "studio_execution_role_arns" {
  description = "ARNs of the SageMaker Studio execution roles, by persona; give each to that persona's user profile."
  value       = { for persona, role in aws_iam_role.studio : persona => role.arn }
}

output "sagemaker_execution_role_arn" {
  description = "ARN of the role SageMaker training jobs and endpoints run as (<prefix>-sagemaker-execution)."
  value       = aws_iam_role.execution.arn
}

output "deploy_role_arns" {
  description = "ARNs of the GitHub Actions deploy roles, by environment (variable AWS_DEPLOY_ROLE_ARN of GitHub environment <env>)."
  value       = { for env in var.environments : env => aws_iam_role.github["deploy-${env}"].arn }
}

output "terraform_apply_role_arns" {
  description = "ARNs of the GitHub Actions terraform apply roles, by environment (variable AWS_APPLY_ROLE_ARN of GitHub environment infra-<env>)."
  value       = { for env in var.environments : env => aws_iam_role.github["apply-${env}"].arn }
}

output "terraform_plan_role_arn" {
  description = "ARN of the read-only terraform plan role (repository variable AWS_PLAN_ROLE_ARN)."
  value       = aws_iam_role.github["terraform-plan"].arn
}

output "ci_role_arn" {
  description = "ARN of the CI role that publishes artifacts and copies images to ECR (repository variable AWS_CI_ROLE_ARN)."
  value       = aws_iam_role.github["ci"].arn
}

output "github_oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider (created here unless one was passed in)."
  value       = local.github_oidc_provider_arn
}

output "policy_arns" {
  description = "ARNs of the customer managed policy blocks, by block name."
  value       = { for block, policy in aws_iam_policy.block : block => policy.arn }
}

output "role_policy_blocks" {
  description = "Which policy blocks each role carries, by persona name or GitHub role key (ci, terraform-plan, deploy-<env>, apply-<env>)."
  value = merge(
    local.persona_blocks,
    { for key, role in local.oidc_roles : key => role.blocks },
  )
}
