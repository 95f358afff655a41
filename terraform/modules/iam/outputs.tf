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
  description = "ARNs of the GitHub Actions deploy roles, by environment."
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
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
  description = "Which policy blocks each role carries: persona names and \"deploy-<environment>\"."
  value = merge(
    local.persona_blocks,
    { for env, blocks in local.deploy_blocks : "deploy-${env}" => blocks },
  )
}
