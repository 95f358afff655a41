variable "alias" {
  type        = string
  description = "Alias name without the \"alias/\" prefix, e.g. \"mlops-template-data\"."

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.alias)) && !startswith(var.alias, "aws/")
    error_message = "alias may hold letters, digits, '/', '_' and '-' and must not start with aws/."
  }
}

variable "description" {
  type        = string
  description = "What the key protects (shown in the KMS console)."
}

variable "deletion_window_in_days" {
  type        = number
  description = "Waiting period between scheduling the key's deletion and its deletion (7-30 days)."
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "log_group_arn_patterns" {
  type        = list(string)
  description = "CloudWatch Logs log group ARNs (wildcards allowed) whose data the regional CloudWatch Logs service may encrypt with this key. Empty: the service gets no access."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Tags added to the key."
  default     = {}
}
