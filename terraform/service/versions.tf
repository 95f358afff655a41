terraform {
  required_version = ">= 1.5.0"

  # Partial configuration: `terraform init -backend-config=../envs/<env>/backend.hcl` supplies the rest.
  backend "s3" {}

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}
