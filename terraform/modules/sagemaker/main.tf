# SageMaker Studio for the personas and the Model Registry group for the model.
#
# The domain uses VPC-only network access: Studio apps get no internet and reach AWS through the VPC's
# endpoints. Authentication is IAM: people open their own user profile through the persona role they
# assumed (modules/iam lets each persona open only its own profile), and code in the profile runs as
# that persona's Studio execution role.

resource "aws_security_group" "studio" {
  #checkov:skip=CKV2_AWS_5:Attached through the domain's default_user_settings, default_space_settings and each user profile, which checkov's graph does not follow.
  name        = "${var.name_prefix}-studio"
  description = "SageMaker Studio apps: traffic between them, HTTPS to VPC endpoints and S3"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name_prefix}-studio" })
}

resource "aws_vpc_security_group_ingress_rule" "studio_nfs" {
  security_group_id            = aws_security_group.studio.id
  description                  = "NFS from Studio apps to the domain home file system"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = aws_security_group.studio.id
}

resource "aws_vpc_security_group_ingress_rule" "studio_apps" {
  security_group_id            = aws_security_group.studio.id
  description                  = "Studio app-to-app traffic (Jupyter server and kernel gateways)"
  ip_protocol                  = "tcp"
  from_port                    = 8192
  to_port                      = 65535
  referenced_security_group_id = aws_security_group.studio.id
}

resource "aws_vpc_security_group_egress_rule" "studio_nfs" {
  security_group_id            = aws_security_group.studio.id
  description                  = "NFS to the domain home file system"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = aws_security_group.studio.id
}

resource "aws_vpc_security_group_egress_rule" "studio_apps" {
  security_group_id            = aws_security_group.studio.id
  description                  = "Studio app-to-app traffic"
  ip_protocol                  = "tcp"
  from_port                    = 8192
  to_port                      = 65535
  referenced_security_group_id = aws_security_group.studio.id
}

resource "aws_vpc_security_group_egress_rule" "studio_endpoints" {
  security_group_id = aws_security_group.studio.id
  description       = "HTTPS to the VPC interface endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr_block
}

resource "aws_vpc_security_group_egress_rule" "studio_s3" {
  security_group_id = aws_security_group.studio.id
  description       = "HTTPS to S3 through the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = var.s3_prefix_list_id
}

resource "aws_sagemaker_domain" "this" {
  domain_name             = "${var.name_prefix}-studio"
  auth_mode               = "IAM"
  vpc_id                  = var.vpc_id
  subnet_ids              = var.subnet_ids
  app_network_access_type = "VpcOnly"
  kms_key_id              = var.kms_key_arn

  default_user_settings {
    execution_role  = var.default_execution_role_arn
    security_groups = [aws_security_group.studio.id]
  }

  default_space_settings {
    execution_role  = var.default_execution_role_arn
    security_groups = [aws_security_group.studio.id]
  }

  retention_policy {
    home_efs_file_system = "Retain"
  }

  tags = var.tags
}

resource "aws_sagemaker_user_profile" "this" {
  for_each = var.user_profiles

  domain_id         = aws_sagemaker_domain.this.id
  user_profile_name = each.key

  user_settings {
    execution_role  = each.value
    security_groups = [aws_security_group.studio.id]
  }

  tags = merge(var.tags, { Persona = each.key })
}

resource "aws_sagemaker_model_package_group" "this" {
  model_package_group_name        = var.model_package_group_name
  model_package_group_description = "Versions of ${var.model_package_group_name}, registered by training with their artifact digest and metrics; approval gates production."

  tags = var.tags
}
