variable "name_prefix" {
  type        = string
  description = "Project name; resources are named \"<name_prefix>-<environment>-...\"."
}

variable "environment" {
  type        = string
  description = "Environment this serving stack belongs to (tags Environment=<environment>, which the deploy roles' launch-template rights are scoped by)."
}

variable "model_name" {
  type        = string
  description = "Model name; the container is called \"<model_name>-server\"."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the load balancer and instances."
}

variable "vpc_cidr_block" {
  type        = string
  description = "CIDR of the VPC; instances may open HTTPS to it (VPC interface endpoints)."
}

variable "public_subnet_ids" {
  type        = list(string)
  description = "Subnets of the load balancer (public ones for an internet-facing ALB), at least two."

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An application load balancer needs subnets in at least two availability zones."
  }
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets the Auto Scaling group spreads instances across, at least two."

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "Spread the instances over at least two availability zones."
  }
}

variable "s3_prefix_list_id" {
  type        = string
  description = "Prefix list of the VPC's S3 gateway endpoint (image layers, packages); instances may open HTTPS to it."
}

variable "internal_load_balancer" {
  type        = bool
  description = "Make the load balancer internal (reachable only from inside the VPC)."
  default     = false
}

variable "allowed_ingress_cidrs" {
  type        = list(string)
  description = "IPv4 CIDRs that may reach the load balancer on 80 (redirected) and 443."
  default     = ["0.0.0.0/0"]
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate of the HTTPS listener."
}

variable "ssl_policy" {
  type        = string
  description = "TLS policy of the HTTPS listener (TLS 1.2 and 1.3 only by default)."
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "access_logs_bucket" {
  type        = string
  description = "S3 bucket for the load balancer's access logs (it must let ELB write under \"alb/\"; modules/storage does with allow_load_balancer_logs)."
}

variable "image_repository_url" {
  type        = string
  description = "Image repository without tag or digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-template."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._:/-]*$", var.image_repository_url)) && !can(regex("@", var.image_repository_url)) && !can(regex(":[^/]*$", var.image_repository_url))
    error_message = "image_repository_url must name a repository without a tag or digest."
  }
}

variable "image_digest" {
  type        = string
  description = "Digest (sha256:<64 hex>) of the image the FIRST launch-template version runs. Later releases are made by the promotion module (python -m promotion asg ...), which Terraform then leaves alone (user_data is in ignore_changes)."

  validation {
    condition     = can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "image_digest must be sha256: followed by 64 lowercase hex digits."
  }
}

variable "ecr_repository_arn" {
  type        = string
  description = "ARN of the ECR repository the instances pull from."
}

variable "model_uri" {
  type        = string
  description = "MODEL_SERVER_MODEL_URI for the container. null: the model baked into the image. An s3:// URI grants the instance read access to that prefix and lets the container reach instance credentials (metadata hop limit 2)."
  default     = null

  validation {
    condition     = var.model_uri == null || can(regex("^s3://[a-z0-9.-]+/[A-Za-z0-9._/-]*$", var.model_uri))
    error_message = "model_uri must be null or s3://bucket/prefix."
  }
}

variable "model_kms_key_arn" {
  type        = string
  description = "KMS key that encrypts the bucket of model_uri (needed only with an s3:// model_uri)."
  default     = null
}

variable "server_environment" {
  type        = map(string)
  description = "Extra MODEL_SERVER_* settings for the container (see serving/settings.py), e.g. {MODEL_SERVER_LOG_LEVEL = \"INFO\"}."
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.server_environment : can(regex("^MODEL_SERVER_[A-Z0-9_]+$", k)) && can(regex("^[A-Za-z0-9_.:/@+=,-]*$", v))])
    error_message = "Keys must be MODEL_SERVER_<NAME>; values may hold letters, digits and _ . : / @ + = , - only."
  }

  validation {
    condition     = alltrue([for v in values(var.server_environment) : !strcontains(v, "sha256:")])
    error_message = "The user data must name exactly one digest, the image's (the promotion module replaces it); the model baked into the image is verified by its own metadata."
  }
}

variable "container_port" {
  type        = number
  description = "Port the model server listens on inside and outside the container (the target group's port)."
  default     = 8080
}

variable "container_user" {
  type        = string
  description = "Non-root uid:gid the container runs as (the image's own non-root user)."
  default     = "10001:10001"

  validation {
    condition     = can(regex("^[1-9][0-9]*:[1-9][0-9]*$", var.container_user))
    error_message = "container_user must be a non-root numeric uid:gid."
  }
}

variable "container_command" {
  type        = list(string)
  description = "Arguments after the image in `docker run` (the image's entry point understands \"serve\", as SageMaker requires)."
  default     = ["serve"]

  validation {
    condition     = alltrue([for a in var.container_command : can(regex("^[A-Za-z0-9_.:/=-]+$", a))])
    error_message = "Command arguments may hold letters, digits and _ . : / = - only."
  }
}

variable "readiness_path" {
  type        = string
  description = "HTTP path that answers 200 once the model is loaded and verified; used by the target group and the bootstrap script."
  default     = "/health/ready"
}

variable "readiness_timeout_seconds" {
  type        = number
  description = "How long the bootstrap script waits for readiness before it fails (and the instance is replaced)."
  default     = 300
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the serving instances."
  default     = "t3.medium"
}

variable "ami_id" {
  type        = string
  description = "AMI of the instances. null: the latest Amazon Linux 2023 AMI at plan time (resolved to an ID, as instance-refresh rollback requires)."
  default     = null
}

variable "root_volume_size_gb" {
  type        = number
  description = "Size of the encrypted root volume."
  default     = 20
}

variable "ebs_kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for the root volume. null: the account's default EBS key. A customer key must let the Auto Scaling service-linked role use it."
  default     = null
}

variable "min_size" {
  type        = number
  description = "Fewest instances."
  default     = 2
}

variable "max_size" {
  type        = number
  description = "Most instances."
  default     = 4
}

variable "desired_capacity" {
  type        = number
  description = "Instances at creation; afterwards target tracking owns it (ignored by Terraform)."
  default     = 2
}

variable "target_cpu_utilization" {
  type        = number
  description = "Average CPU utilisation (percent) that target tracking keeps the group at."
  default     = 50
}

variable "health_check_grace_period" {
  type        = number
  description = "Seconds after launch before failed load balancer health checks make the group replace an instance."
  default     = 300
}

variable "instance_warmup_seconds" {
  type        = number
  description = "Seconds a new instance needs before its metrics count and an instance refresh moves on."
  default     = 180
}

variable "min_healthy_percentage" {
  type        = number
  description = "Share of capacity an instance refresh keeps in service."
  default     = 90
}

variable "log_retention_days" {
  type        = number
  description = "Days to keep the container logs in CloudWatch Logs."
  default     = 365
}

variable "enable_ssm_session_manager" {
  type        = bool
  description = "Attach AmazonSSMManagedInstanceCore so operators can open shells with Session Manager (no SSH, no key pairs). Needs the ssm, ssmmessages and ec2messages VPC endpoints."
  default     = true
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the load balancer from deletion."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
