# Account-wide resources that every environment shares, applied once per AWS account:
#   storage    DVC remote and model artifact buckets (+ their access-log bucket, which also takes the
#              environments' load balancer logs) and their KMS key
#   ecr        the one image repository; every environment runs images from it by digest
#   iam        persona roles, the SageMaker execution role, the GitHub OIDC provider and one deploy
#              role per environment
#   network    the VPC of SageMaker Studio (VPC-only, no internet)
#   sagemaker  the Studio domain, a user profile per persona and the Model Registry group
# The per-environment stack (terraform/service, applied once per environment with envs/<env>'s variables
# and state) holds what differs by environment: the serving VPC and the Auto Scaling group behind its
# load balancer.

provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = {
      Project   = var.project
      Stack     = "account"
      ManagedBy = "terraform"
    }
  }
}

locals {
  personas = ["data-scientist", "ml-engineer", "mlops-engineer"]
}

# The state key that terraform/bootstrap created; the GitHub plan and apply roles decrypt state with it.
data "aws_kms_alias" "terraform_state" {
  name = "alias/${var.project}-tfstate"
}

module "storage" {
  source = "../modules/storage"

  name_prefix              = var.project
  kms_key_alias            = "${var.project}-data"
  allow_load_balancer_logs = true
  buckets = {
    dvc    = { description = "DVC remote: raw and prepared data", noncurrent_version_expiration_days = var.data_version_retention_days }
    models = { description = "Model artifacts by digest, training outputs and experiments", noncurrent_version_expiration_days = var.data_version_retention_days }
  }
}

module "ecr" {
  source = "../modules/ecr"

  name        = var.project
  kms_key_arn = module.storage.kms_key_arn
}

module "iam" {
  source = "../modules/iam"

  name_prefix                    = var.project
  model_name                     = var.model_name
  environments                   = var.environments
  ml_engineer_environments       = var.ml_engineer_environments
  build_environments             = var.build_environments
  github_repository              = var.github_repository
  persona_trusted_principal_arns = var.persona_trusted_principal_arns
  data_bucket_arn                = module.storage.bucket_arns["dvc"]
  models_bucket_arn              = module.storage.bucket_arns["models"]
  storage_kms_key_arn            = module.storage.kms_key_arn
  ecr_repository_arn             = module.ecr.repository_arn
  terraform_state_kms_key_arn    = data.aws_kms_alias.terraform_state.target_key_arn
  persona_studio_user_profiles   = { for persona in local.personas : persona => persona }
}

module "studio_network" {
  source = "../modules/network"

  name                        = "${var.project}-studio"
  cidr_block                  = var.studio_vpc_cidr
  availability_zones          = var.availability_zones
  create_public_subnets       = false
  interface_endpoint_services = var.studio_interface_endpoints
}

module "sagemaker" {
  source = "../modules/sagemaker"

  name_prefix                = var.project
  vpc_id                     = module.studio_network.vpc_id
  vpc_cidr_block             = module.studio_network.vpc_cidr_block
  subnet_ids                 = module.studio_network.private_subnet_ids
  s3_prefix_list_id          = module.studio_network.s3_prefix_list_id
  kms_key_arn                = module.storage.kms_key_arn
  default_execution_role_arn = module.iam.studio_execution_role_arns["data-scientist"]
  user_profiles              = { for persona in local.personas : persona => module.iam.studio_execution_role_arns[persona] }
  model_package_group_name   = "${var.project}-${var.model_name}"
}
