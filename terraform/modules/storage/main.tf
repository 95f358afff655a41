# Hardened S3 buckets: the data buckets named in var.buckets plus one bucket that receives their
# server access logs (and, optionally, load balancer access logs).
#
# Data buckets: versioned, SSE-KMS with a customer managed key (bucket keys on), ACLs disabled, all
# public access blocked, a policy that refuses plain HTTP, TLS below 1.2 and uploads encrypted with any
# other KMS key, and a lifecycle rule that expires old versions.
# Log bucket: the same, except SSE-S3 (AES256): S3 server access logging and ELB access logging can
# only deliver to buckets encrypted with S3-managed keys.
#
# Deny statements name {"AWS": "*"} rather than the bare "*" principal: for a Deny both mean everyone,
# and the object form is what the local AWS emulator's log-delivery check can parse.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_elb_service_account" "current" {}

locals {
  account_id      = data.aws_caller_identity.current.account_id
  log_bucket_name = "${var.name_prefix}-${local.account_id}-${var.log_bucket_suffix}"
  bucket_names    = { for key, _ in var.buckets : key => "${var.name_prefix}-${local.account_id}-${key}" }
}

module "kms_key" {
  source = "../kms_key"

  alias       = var.kms_key_alias
  description = "Encrypts the ${var.name_prefix} S3 buckets: ${join(", ", keys(var.buckets))}"
  tags        = var.tags
}

# ------------------------------------------------------------------------------------------ data buckets
resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost and needs a second region; enable it per compliance needs, versioning already protects against deletes.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object events yet; DVC and the promotion code read by key.
  for_each = var.buckets

  bucket        = local.bucket_names[each.key]
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = local.bucket_names[each.key], Purpose = each.value.description })
}

resource "aws_s3_bucket_ownership_controls" "data" {
  for_each = var.buckets

  bucket = aws_s3_bucket.data[each.key].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  for_each = var.buckets

  bucket                  = aws_s3_bucket.data[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "data" {
  for_each = var.buckets

  bucket = aws_s3_bucket.data[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  for_each = var.buckets

  bucket = aws_s3_bucket.data[each.key].id
  rule {
    bucket_key_enabled = true
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = module.kms_key.key_arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  for_each = var.buckets

  bucket = aws_s3_bucket.data[each.key].id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = each.value.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.data]
}

resource "aws_s3_bucket_logging" "data" {
  for_each = var.buckets

  bucket        = aws_s3_bucket.data[each.key].id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${local.bucket_names[each.key]}/"

  depends_on = [aws_s3_bucket_policy.logs]
}

data "aws_iam_policy_document" "data" {
  for_each = var.buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.data[each.key].arn, "${aws_s3_bucket.data[each.key].arn}/*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyTlsOlderThan12"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.data[each.key].arn, "${aws_s3_bucket.data[each.key].arn}/*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }

  statement {
    sid       = "DenyOtherKmsKeys"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.data[each.key].arn}/*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEqualsIfExists"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [module.kms_key.key_arn]
    }
  }
}

resource "aws_s3_bucket_policy" "data" {
  for_each = var.buckets

  bucket = aws_s3_bucket.data[each.key].id
  policy = data.aws_iam_policy_document.data[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.data]
}

# -------------------------------------------------------------------------------------------- log bucket
resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target; logging it into itself would log its own log deliveries without end.
  #checkov:skip=CKV_AWS_145:S3 server access logs and ELB access logs can only be delivered to buckets encrypted with SSE-S3 (AES256), not SSE-KMS.
  #checkov:skip=CKV_AWS_144:Access logs are kept in-region for their retention period; replicate them only if compliance requires it.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events on log objects.
  bucket        = local.log_bucket_name
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = local.log_bucket_name, Purpose = "access logs" })
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}

    expiration {
      days = var.log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "S3ServerAccessLogDelivery"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    # Only this module's buckets may deliver here.
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:s3:::${var.name_prefix}-${local.account_id}-*"]
    }
  }

  dynamic "statement" {
    for_each = var.allow_load_balancer_logs ? [1] : []

    content {
      sid       = "LoadBalancerAccessLogDelivery"
      effect    = "Allow"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.logs.arn}/alb/*"]

      # Regions opened before August 2022 deliver from the regional ELB account; newer ones use the
      # log delivery service principal. Naming both works everywhere.
      principals {
        type        = "AWS"
        identifiers = [data.aws_elb_service_account.current.arn]
      }

      principals {
        type        = "Service"
        identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs.json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}
