# The model server on EC2: an Auto Scaling group of private instances behind an application load
# balancer. Each instance runs the serving image by digest (templates/user-data.sh.tftpl); the ALB
# terminates TLS, redirects HTTP to HTTPS, writes access logs and health-checks the readiness path.
#
# Releases after the first are made by the promotion module, not by Terraform: it adds a launch
# template version with the new digest, starts an instance refresh with auto rollback and, once that
# succeeded, makes the version the template's default (see README). The group follows the default
# version, so Terraform sees no drift after a release, successful or not, and its own changes
# (instance type, AMI) roll out through the same instance refresh.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

data "aws_ssm_parameter" "al2023" {
  count = var.ami_id == null ? 1 : 0

  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

locals {
  name           = "${var.name_prefix}-${var.environment}"
  container_name = "${var.model_name}-server"
  log_group_name = "/${var.name_prefix}/${var.environment}/serving"
  log_group_arn  = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"
  ami_id         = var.ami_id != null ? var.ami_id : nonsensitive(data.aws_ssm_parameter.al2023[0].value)

  # Tags the deploy roles' rights depend on (modules/iam): set here, not only through default_tags.
  scope_tags = { Project = var.name_prefix, Environment = var.environment }
  tags       = merge(var.tags, local.scope_tags)

  # s3://bucket/prefix -> arn:aws:s3:::bucket/prefix/*
  model_objects_arn = var.model_uri == null ? null : "arn:${data.aws_partition.current.partition}:s3:::${trimsuffix(trimprefix(var.model_uri, "s3://"), "/")}/*"

  # Everything the bootstrap script is rendered with. tests/infra/test_user_data.py renders the same
  # template with the same keys.
  user_data_vars = {
    image               = "${var.image_repository_url}@${var.image_digest}"
    container_name      = local.container_name
    container_port      = var.container_port
    container_user      = var.container_user
    container_command   = var.container_command
    readiness_path      = var.readiness_path
    readiness_timeout_s = var.readiness_timeout_seconds
    region              = data.aws_region.current.name
    log_group           = local.log_group_name
    server_environment = merge(
      var.model_uri == null ? {} : { MODEL_SERVER_MODEL_URI = var.model_uri },
      var.server_environment,
    )
  }
}

# -------------------------------------------------------------------------------------------------- logs
module "logs_key" {
  source = "../kms_key"

  alias                  = "${local.name}-serving-logs"
  description            = "Encrypts the container logs of ${local.name}"
  log_group_arn_patterns = [local.log_group_arn]
  tags                   = local.tags
}

resource "aws_cloudwatch_log_group" "serving" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = module.logs_key.key_arn

  tags = local.tags
}

# ------------------------------------------------------------------------------------------ instance role
data "aws_iam_policy_document" "instance_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "instance" {
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid    = "PullServingImage"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid    = "WriteContainerLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.serving.arn}:log-stream:*"]
  }

  dynamic "statement" {
    for_each = var.model_uri == null ? [] : [1]

    content {
      sid       = "ReadModelArtifact"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = [local.model_objects_arn]
    }
  }

  dynamic "statement" {
    for_each = var.model_uri != null && var.model_kms_key_arn != null ? [1] : []

    content {
      sid       = "DecryptModelArtifact"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [var.model_kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "instance" {
  name               = "${local.name}-serving-instance"
  description        = "Serving instances of ${local.name}: pull the image, write container logs"
  assume_role_policy = data.aws_iam_policy_document.instance_trust.json

  tags = local.tags
}

resource "aws_iam_role_policy" "instance" {
  name   = "serving-instance"
  role   = aws_iam_role.instance.id
  policy = data.aws_iam_policy_document.instance.json
}

resource "aws_iam_role_policy_attachment" "ssm" {
  count = var.enable_ssm_session_manager ? 1 : 0

  role       = aws_iam_role.instance.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "instance" {
  name = "${local.name}-serving-instance"
  role = aws_iam_role.instance.name

  tags = local.tags
}

# ------------------------------------------------------------------------------------------ security groups
resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Load balancer of ${local.name}: HTTPS (and HTTP to redirect) in, the model server port out"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${local.name}-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = toset(var.allowed_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from clients"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  #checkov:skip=CKV_AWS_260:Port 80 only answers with a permanent redirect to HTTPS; no request reaches the server over HTTP.
  for_each = toset(var.allowed_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "HTTP from clients, redirected to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_instances" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the model server on the instances"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = aws_security_group.instances.id
}

resource "aws_security_group" "instances" {
  name        = "${local.name}-serving"
  description = "Serving instances of ${local.name}: the model server port from the load balancer only"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${local.name}-serving" })
}

resource "aws_vpc_security_group_ingress_rule" "instances_from_alb" {
  security_group_id            = aws_security_group.instances.id
  description                  = "Model server port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "instances_endpoints" {
  security_group_id = aws_security_group.instances.id
  description       = "HTTPS to the VPC interface endpoints (ECR, CloudWatch Logs, SSM)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr_block
}

resource "aws_vpc_security_group_egress_rule" "instances_s3" {
  security_group_id = aws_security_group.instances.id
  description       = "HTTPS to S3 through the gateway endpoint (image layers, OS packages)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = var.s3_prefix_list_id
}

# --------------------------------------------------------------------------------------------- load balancer
resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:A WAF web ACL is an account-level choice with its own cost; associate one with aws_wafv2_web_acl_association if the endpoint is public.
  name                       = substr(local.name, 0, 32)
  load_balancer_type         = "application"
  internal                   = var.internal_load_balancer
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  desync_mitigation_mode     = "strictest"
  enable_deletion_protection = var.deletion_protection

  access_logs {
    bucket  = var.access_logs_bucket
    prefix  = "alb/${local.name}"
    enabled = true
  }

  tags = local.tags
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; the hop to the instances stays inside private subnets, reachable only from the ALB's security group.
  name                 = substr("${local.name}-${var.container_port}", 0, 32)
  vpc_id               = var.vpc_id
  target_type          = "instance"
  protocol             = "HTTP"
  port                 = var.container_port
  deregistration_delay = 30

  health_check {
    enabled             = true
    protocol            = "HTTP"
    path                = var.readiness_path
    port                = tostring(var.container_port)
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = local.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = local.tags
}

resource "aws_lb_listener" "http_redirect" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }

  tags = local.tags
}

# ------------------------------------------------------------------------------------------ launch template
resource "aws_launch_template" "this" {
  #checkov:skip=CKV_AWS_341:The hop limit is 1 unless var.model_uri is an s3:// URI, when the container itself must reach instance credentials to read the model.
  name                   = "${local.name}-serving"
  description            = "Serving instances of ${local.name}; each version pins one image digest"
  image_id               = local.ami_id
  instance_type          = var.instance_type
  ebs_optimized          = true
  update_default_version = true
  user_data              = base64encode(templatefile("${path.module}/templates/user-data.sh.tftpl", local.user_data_vars))

  iam_instance_profile {
    arn = aws_iam_instance_profile.instance.arn
  }

  metadata_options {
    http_endpoint          = "enabled"
    http_tokens            = "required"
    instance_metadata_tags = "disabled"
    # One hop keeps containers away from the instance's credentials, unless they must read the model
    # from S3 themselves.
    http_put_response_hop_limit = var.model_uri == null ? 1 : 2
  }

  monitoring {
    enabled = true
  }

  network_interfaces {
    device_index                = 0
    associate_public_ip_address = false
    delete_on_termination       = true
    security_groups             = [aws_security_group.instances.id]
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_type           = "gp3"
      volume_size           = var.root_volume_size_gb
      encrypted             = true
      kms_key_id            = var.ebs_kms_key_arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.tags, { Name = "${local.name}-serving" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(local.tags, { Name = "${local.name}-serving" })
  }

  tags = local.tags

  lifecycle {
    # After the first version the image digest belongs to the promotion module.
    ignore_changes = [user_data]
  }
}

# ---------------------------------------------------------------------------------------- auto scaling
resource "aws_autoscaling_group" "this" {
  name                      = "${local.name}-serving"
  vpc_zone_identifier       = var.private_subnet_ids
  min_size                  = var.min_size
  max_size                  = var.max_size
  desired_capacity          = var.desired_capacity
  health_check_type         = "ELB"
  health_check_grace_period = var.health_check_grace_period
  default_instance_warmup   = var.instance_warmup_seconds
  target_group_arns         = [aws_lb_target_group.this.arn]
  termination_policies      = ["OldestLaunchTemplate", "OldestInstance"]
  wait_for_capacity_timeout = "15m"
  enabled_metrics = [
    "GroupDesiredCapacity",
    "GroupInServiceInstances",
    "GroupMaxSize",
    "GroupMinSize",
    "GroupPendingInstances",
    "GroupTerminatingInstances",
    "GroupTotalInstances",
  ]

  # The template's default version: Terraform makes each version it creates the default, and the
  # promotion module does so only after a release succeeded. A failed release leaves the default (and
  # so this group) on the last good version, and Terraform sees no drift.
  launch_template {
    id      = aws_launch_template.this.id
    version = aws_launch_template.this.default_version
  }

  instance_refresh {
    strategy = "Rolling"

    preferences {
      min_healthy_percentage = var.min_healthy_percentage
      instance_warmup        = tostring(var.instance_warmup_seconds)
      auto_rollback          = true
      skip_matching          = true
    }
  }

  dynamic "tag" {
    for_each = merge(local.tags, { Name = "${local.name}-serving" })

    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    # Target tracking changes the desired capacity; Terraform must not reset it.
    ignore_changes = [desired_capacity]

    precondition {
      condition     = var.min_size <= var.desired_capacity && var.desired_capacity <= var.max_size
      error_message = "desired_capacity must lie between min_size and max_size."
    }
  }
}

resource "aws_autoscaling_policy" "cpu" {
  name                      = "${local.name}-cpu-target"
  autoscaling_group_name    = aws_autoscaling_group.this.name
  policy_type               = "TargetTrackingScaling"
  estimated_instance_warmup = var.instance_warmup_seconds

  target_tracking_configuration {
    target_value = var.target_cpu_utilization

    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
  }
}
