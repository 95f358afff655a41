output "state_bucket" {
  description = "Name of the state bucket (the `bucket` of every backend.hcl)."
  value       = module.state.bucket_names["tfstate"]
}

output "lock_table" {
  description = "Name of the DynamoDB lock table (the `dynamodb_table` of every backend.hcl)."
  value       = aws_dynamodb_table.lock.name
}

output "state_kms_key_arn" {
  description = "KMS key that encrypts the state bucket and the lock table (the `kms_key_id` of every backend.hcl)."
  value       = module.state.kms_key_arn
}
