variable "project" {
  type        = string
  description = "Project name (project.yaml: project); prefixes every resource."
}

variable "model_name" {
  type        = string
  description = "Model name (project.yaml: model_name); the Model Registry group is \"<project>-<model_name>\"."
}

variable "github_repository" {
  type        = string
  description = "GitHub OWNER/REPO (project.yaml: github_repository) whose environments may assume the deploy roles."
}

variable "aws_account_id" {
  type        = string
  description = "AWS account (project.yaml: aws.account_id); the provider refuses to touch any other."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be 12 digits."
  }
}

variable "aws_region" {
  type        = string
  description = "AWS region (project.yaml: aws.region)."
}

variable "environments" {
  type        = list(string)
  description = "Environments in promotion order (project.yaml: environments); one deploy role each."
}

variable "ml_engineer_environments" {
  type        = list(string)
  description = "Environments ML engineers may deploy to."
  default     = ["staging"]
}

variable "build_environments" {
  type        = list(string)
  description = "Environments whose deploy role may push images, publish artifacts, train and register."
  default     = ["staging"]
}

variable "persona_trusted_principal_arns" {
  type        = list(string)
  description = "Principals that may assume the persona roles (with MFA). Empty: any IAM principal of the account that its own policy allows."
  default     = []
}

variable "studio_vpc_cidr" {
  type        = string
  description = "CIDR of the VPC the SageMaker Studio domain runs in."
  default     = "10.10.0.0/16"
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones of the Studio VPC's subnets (at least two)."
}

variable "studio_interface_endpoints" {
  type        = set(string)
  description = "Interface VPC endpoints of the Studio VPC (VPC-only Studio reaches AWS only through them)."
  default     = ["sagemaker.api", "sagemaker.runtime", "sts", "logs", "ecr.api", "ecr.dkr"]
}

variable "data_version_retention_days" {
  type        = number
  description = "Days a replaced object version is kept in the DVC and model buckets."
  default     = 90
}
