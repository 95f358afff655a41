output "bucket_names" {
  description = "Names of the data buckets, by key (e.g. {dvc = \"mlops-template-123456789012-dvc\"})."
  value       = { for key, bucket in aws_s3_bucket.data : key => bucket.id }
}

output "bucket_arns" {
  description = "ARNs of the data buckets, by key."
  value       = { for key, bucket in aws_s3_bucket.data : key => bucket.arn }
}

output "log_bucket_name" {
  description = "Name of the access-log bucket."
  value       = aws_s3_bucket.logs.id
}

output "log_bucket_arn" {
  description = "ARN of the access-log bucket."
  value       = aws_s3_bucket.logs.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the data buckets; readers need kms:Decrypt on it."
  value       = module.kms_key.key_arn
}
