terraform {
  required_version = ">= 1.5.0"

  # The state of this stack stays local (terraform.tfstate here, kept out of git): it creates the
  # bucket every other stack keeps its state in. Back the file up, or migrate it into the bucket
  # afterwards with a backend "s3" block and `terraform init -migrate-state`.

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}
