output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per availability zone, in the order of var.availability_zones."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (empty unless create_public_subnets is true)."
  value       = aws_subnet.public[*].id
}

output "private_route_table_ids" {
  description = "IDs of the private route tables."
  value       = aws_route_table.private[*].id
}

output "s3_prefix_list_id" {
  description = "Prefix list of the S3 gateway endpoint, for security group egress rules to S3."
  value       = aws_vpc_endpoint.s3.prefix_list_id
}

output "endpoint_security_group_id" {
  description = "Security group of the interface VPC endpoints (HTTPS from the VPC)."
  value       = aws_security_group.endpoints.id
}

output "flow_log_group_name" {
  description = "CloudWatch Logs group that receives the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow_logs.name
}
