output "domain_id" {
  description = "ID of the SageMaker Studio domain."
  value       = aws_sagemaker_domain.this.id
}

output "domain_url" {
  description = "URL of the Studio domain (reached from inside the VPC)."
  value       = aws_sagemaker_domain.this.url
}

output "user_profile_arns" {
  description = "ARNs of the user profiles, by profile name."
  value       = { for name, profile in aws_sagemaker_user_profile.this : name => profile.arn }
}

output "security_group_id" {
  description = "Security group of the Studio apps."
  value       = aws_security_group.studio.id
}

output "model_package_group_name" {
  description = "Name of the Model Registry group."
  value       = aws_sagemaker_model_package_group.this.model_package_group_name
}

output "model_package_group_arn" {
  description = "ARN of the Model Registry group."
  value       = aws_sagemaker_model_package_group.this.arn
}
