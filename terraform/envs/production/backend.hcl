# State of the production stack, in the bucket and lock table that terraform/bootstrap creates.
bucket         = "mlops-template-123456789012-tfstate"
key            = "envs/production/terraform.tfstate"
region         = "eu-west-1"
# No `encrypt = true`: that would ask for SSE-S3, while the bucket encrypts with its own KMS key by default.
dynamodb_table = "mlops-template-tfstate-lock"
