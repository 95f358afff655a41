# Run once per account, before anything else: the S3 bucket that holds every stack's Terraform state
# (versioned, KMS-encrypted, TLS-only, access-logged) and the DynamoDB table that locks it.

provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = {
      Project   = var.project
      Stack     = "bootstrap"
      ManagedBy = "terraform"
    }
  }
}

module "state" {
  source = "../modules/storage"

  name_prefix       = var.project
  kms_key_alias     = "${var.project}-tfstate"
  log_bucket_suffix = "tfstate-logs"
  buckets = {
    tfstate = {
      description                        = "Terraform state"
      noncurrent_version_expiration_days = var.state_version_retention_days
    }
  }
}

resource "aws_dynamodb_table" "lock" {
  name                        = "${var.project}-tfstate-lock"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "LockID"
  deletion_protection_enabled = true

  attribute {
    name = "LockID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.state.kms_key_arn
  }
}
