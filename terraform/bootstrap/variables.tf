variable "project" {
  type        = string
  description = "Project name (project.yaml: project); prefixes the state bucket and lock table."
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

variable "state_version_retention_days" {
  type        = number
  description = "Days an old state version is kept after it was replaced."
  default     = 365
}
