variable "name_prefix" {
  type        = string
  description = "Prefix of every bucket name. Buckets are named \"<name_prefix>-<account id>-<key>\" (e.g. mlops-template-123456789012-models), which keeps them globally unique."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix must be 2-31 lowercase letters, digits or hyphens."
  }
}

variable "buckets" {
  type = map(object({
    description                        = string
    noncurrent_version_expiration_days = optional(number, 90)
  }))
  description = "Data buckets to create, keyed by the suffix of their name (\"dvc\", \"models\", \"tfstate\"). Every one is versioned, encrypted with the module's KMS key, private, TLS-only and logged to the log bucket; a version expires noncurrent_version_expiration_days after it stops being current."

  validation {
    condition     = length(var.buckets) > 0 && alltrue([for key in keys(var.buckets) : can(regex("^[a-z0-9][a-z0-9-]{0,15}$", key))])
    error_message = "Give at least one bucket; keys must be up to 16 lowercase letters, digits or hyphens."
  }

  validation {
    condition     = alltrue([for b in values(var.buckets) : b.noncurrent_version_expiration_days >= 1])
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "log_bucket_suffix" {
  type        = string
  description = "Suffix of the access-log bucket's name (\"<name_prefix>-<account id>-<suffix>\"). Two stacks that share a prefix in one account need different suffixes."
  default     = "logs"
}

variable "log_retention_days" {
  type        = number
  description = "Days to keep S3 server access logs and load balancer access logs."
  default     = 365
}

variable "allow_load_balancer_logs" {
  type        = bool
  description = "Let Elastic Load Balancing write access logs under the \"alb/\" prefix of the log bucket."
  default     = false
}

variable "kms_key_alias" {
  type        = string
  description = "Alias (without \"alias/\") of the KMS key this module creates for the data buckets."
}

variable "force_destroy" {
  type        = bool
  description = "Let `terraform destroy` delete buckets that still hold objects. Only for throwaway stacks (tests); leave false wherever the data matters."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
