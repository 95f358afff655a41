variable "project" {
  type        = string
  description = "Project name (project.yaml: project); prefixes every resource."
}

variable "model_name" {
  type        = string
  description = "Model name (project.yaml: model_name)."
}

variable "environment" {
  type        = string
  description = "This environment's name (one of project.yaml: environments); must match its folder terraform/envs/<env>."
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

variable "vpc_cidr" {
  type        = string
  description = "CIDR of this environment's serving VPC."
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones the load balancer and instances spread over (at least two)."
}

variable "interface_endpoints" {
  type        = set(string)
  description = "Interface VPC endpoints of the serving VPC (instances have no NAT: ECR, logs and SSM go through these)."
  default     = ["ecr.api", "ecr.dkr", "logs", "ssm", "ssmmessages", "ec2messages"]
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate of the HTTPS listener (issue it for the service's DNS name first)."
}

variable "allowed_ingress_cidrs" {
  type        = list(string)
  description = "CIDRs that may reach the load balancer."
  default     = ["0.0.0.0/0"]
}

variable "image_digest" {
  type        = string
  description = "Digest of the image the FIRST launch-template version runs. Later releases go through the promotion module, and Terraform ignores this value once the template exists."
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the serving instances."
}

variable "min_size" {
  type        = number
  description = "Fewest serving instances."
}

variable "max_size" {
  type        = number
  description = "Most serving instances."
}

variable "desired_capacity" {
  type        = number
  description = "Serving instances at creation."
}
