variable "name" {
  type        = string
  description = "Name of the VPC and prefix of everything in it, e.g. \"mlops-template-staging\"."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "cidr_block" {
  type        = string
  description = "IPv4 CIDR of the VPC. Each subnet takes a /(prefix + subnet_newbits) slice of it."

  validation {
    condition     = can(cidrnetmask(var.cidr_block))
    error_message = "cidr_block must be an IPv4 CIDR such as 10.20.0.0/16."
  }
}

variable "subnet_newbits" {
  type        = number
  description = "Bits added to the VPC prefix for each subnet (4 turns a /16 into /20 subnets)."
  default     = 4
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones to spread subnets over, one private (and optionally one public) subnet in each. At least two: an ALB and a SageMaker Domain both need two."

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) == length(distinct(var.availability_zones))
    error_message = "Give at least two distinct availability zones."
  }
}

variable "create_public_subnets" {
  type        = bool
  description = "Create public subnets and an internet gateway (for an internet-facing load balancer). Instances never get public addresses either way."
  default     = false
}

variable "interface_endpoint_services" {
  type        = set(string)
  description = "AWS services reached through interface VPC endpoints instead of the internet, by short name (\"ecr.api\", \"ecr.dkr\", \"logs\", \"sts\", \"sagemaker.api\" ...). The private subnets have no NAT: whatever they call must be listed here or reached through the S3 gateway endpoint."
  default     = ["ecr.api", "ecr.dkr", "logs"]
}

variable "flow_log_retention_days" {
  type        = number
  description = "Days to keep VPC flow logs in CloudWatch Logs."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention period CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ..., 365, ..., 3653)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource (the provider's default_tags apply as well)."
  default     = {}
}
