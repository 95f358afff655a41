output "load_balancer_dns_name" {
  description = "DNS name of the load balancer (point the service's DNS record at it)."
  value       = aws_lb.this.dns_name
}

output "load_balancer_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "target_group_arn" {
  description = "ARN of the target group; the promotion module checks target health here."
  value       = aws_lb_target_group.this.arn
}

output "autoscaling_group_name" {
  description = "Name of the Auto Scaling group (\"<prefix>-<environment>-serving\")."
  value       = aws_autoscaling_group.this.name
}

output "launch_template_id" {
  description = "ID of the launch template; each version pins one image digest."
  value       = aws_launch_template.this.id
}

output "launch_template_default_version" {
  description = "Default launch template version, which the Auto Scaling group runs."
  value       = aws_launch_template.this.default_version
}

output "instance_role_arn" {
  description = "ARN of the instance role (deploy roles may pass it to EC2)."
  value       = aws_iam_role.instance.arn
}

output "log_group_name" {
  description = "CloudWatch Logs group of the container logs (one stream per instance ID)."
  value       = aws_cloudwatch_log_group.serving.name
}

output "security_group_ids" {
  description = "Security groups of the load balancer and of the instances."
  value       = { alb = aws_security_group.alb.id, instances = aws_security_group.instances.id }
}
