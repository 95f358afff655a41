variable "name" {
  type        = string
  description = "Repository name (the promotion code and sagemaker/config.yaml use the project name)."

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name))
    error_message = "name must be a valid ECR repository name (lowercase, digits, '.', '_', '-' and '/')."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key that encrypts the images. null: the AWS managed key for ECR (aws/ecr)."
  default     = null
}

variable "untagged_image_expiry_days" {
  type        = number
  description = "Days after which untagged images (layers left behind by failed or superseded pushes) expire. Tagged images never expire: a running deployment may still pull them by digest."
  default     = 14
}

variable "tags" {
  type        = map(string)
  description = "Tags added to the repository."
  default     = {}
}
