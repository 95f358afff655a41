output "load_balancer_dns_name" {
  description = "DNS name of this environment's load balancer."
  value       = module.serving.load_balancer_dns_name
}

output "autoscaling_group_name" {
  description = "Serving Auto Scaling group (the promotion module's target)."
  value       = module.serving.autoscaling_group_name
}

output "launch_template_id" {
  description = "Launch template whose versions pin the image digest."
  value       = module.serving.launch_template_id
}

output "target_group_arn" {
  description = "Target group whose health the promotion module checks."
  value       = module.serving.target_group_arn
}

output "vpc_id" {
  description = "Serving VPC."
  value       = module.network.vpc_id
}
