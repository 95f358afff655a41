# One environment: its serving VPC and the model server Auto Scaling group behind an ALB.
# The one root module of every environment: terraform/envs/<env>/ holds only what differs, its
# terraform.tfvars (-var-file) and backend.hcl (-backend-config, state key envs/<env>/terraform.tfstate).
# Shared resources (buckets, ECR, IAM, Studio) live in terraform/account and are looked up here by name.

provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = {
      Project     = var.project
      Environment = var.environment
      Stack       = "env"
      ManagedBy   = "terraform"
    }
  }
}

data "aws_ecr_repository" "serving" {
  name = var.project
}

locals {
  # Created by terraform/account (modules/storage): "<project>-<account id>-logs".
  log_bucket_name = "${var.project}-${var.aws_account_id}-logs"
}

module "network" {
  source = "../modules/network"

  name                        = "${var.project}-${var.environment}"
  cidr_block                  = var.vpc_cidr
  availability_zones          = var.availability_zones
  create_public_subnets       = true
  interface_endpoint_services = var.interface_endpoints
}

module "serving" {
  source = "../modules/serving_asg"

  name_prefix           = var.project
  environment           = var.environment
  model_name            = var.model_name
  vpc_id                = module.network.vpc_id
  vpc_cidr_block        = module.network.vpc_cidr_block
  public_subnet_ids     = module.network.public_subnet_ids
  private_subnet_ids    = module.network.private_subnet_ids
  s3_prefix_list_id     = module.network.s3_prefix_list_id
  certificate_arn       = var.certificate_arn
  allowed_ingress_cidrs = var.allowed_ingress_cidrs
  access_logs_bucket    = local.log_bucket_name
  image_repository_url  = data.aws_ecr_repository.serving.repository_url
  ecr_repository_arn    = data.aws_ecr_repository.serving.arn
  image_digest          = var.image_digest
  instance_type         = var.instance_type
  min_size              = var.min_size
  max_size              = var.max_size
  desired_capacity      = var.desired_capacity
}
