variable "name_prefix" {
  type        = string
  description = "Project name; the domain is \"<name_prefix>-studio\"."
}

variable "vpc_id" {
  type        = string
  description = "VPC the domain's apps run in. With VPC-only access it must reach SageMaker, STS, S3 and the other services Studio calls through VPC endpoints."
}

variable "vpc_cidr_block" {
  type        = string
  description = "CIDR of that VPC; Studio apps may open HTTPS to it (VPC endpoints)."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets for the domain, in at least two availability zones."

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "A SageMaker domain needs subnets in at least two availability zones."
  }
}

variable "s3_prefix_list_id" {
  type        = string
  description = "Prefix list of the VPC's S3 gateway endpoint; Studio apps may open HTTPS to it."
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key that encrypts the domain's home file system (EFS) and volumes."
}

variable "default_execution_role_arn" {
  type        = string
  description = "Execution role for user profiles that name none: the least privileged persona (data scientist)."
}

variable "user_profiles" {
  type        = map(string)
  description = "Studio user profiles to create: profile name => execution role ARN (one per persona)."
}

variable "model_package_group_name" {
  type        = string
  description = "Model Registry group for the model (\"<project>-<model_name>\"); training registers versions in it, promotion deploys approved ones."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
