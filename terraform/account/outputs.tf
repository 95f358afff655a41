output "bucket_names" {
  description = "DVC remote and model artifact buckets, by key (dvc, models)."
  value       = module.storage.bucket_names
}

output "log_bucket_name" {
  description = "Access-log bucket (also receives the environments' load balancer logs)."
  value       = module.storage.log_bucket_name
}

output "storage_kms_key_arn" {
  description = "KMS key of the buckets, the ECR repository and the Studio domain."
  value       = module.storage.kms_key_arn
}

output "ecr_repository_url" {
  description = "Image repository URL (without tag or digest)."
  value       = module.ecr.repository_url
}

output "persona_role_arns" {
  description = "Persona roles people assume, by persona."
  value       = module.iam.persona_role_arns
}

output "sagemaker_execution_role_arn" {
  description = "Role of SageMaker training jobs and endpoints."
  value       = module.iam.sagemaker_execution_role_arn
}

output "github_role_arns" {
  description = "Role ARNs for the GitHub variables of docs/using-this-template.md: AWS_CI_ROLE_ARN, AWS_PLAN_ROLE_ARN, and per environment AWS_DEPLOY_ROLE_ARN (<env>) and AWS_APPLY_ROLE_ARN (infra-<env>)."
  value = {
    AWS_CI_ROLE_ARN     = module.iam.ci_role_arn
    AWS_PLAN_ROLE_ARN   = module.iam.terraform_plan_role_arn
    AWS_DEPLOY_ROLE_ARN = module.iam.deploy_role_arns
    AWS_APPLY_ROLE_ARN  = module.iam.terraform_apply_role_arns
  }
}

output "studio_domain_id" {
  description = "SageMaker Studio domain."
  value       = module.sagemaker.domain_id
}

output "model_package_group_name" {
  description = "Model Registry group."
  value       = module.sagemaker.model_package_group_name
}
