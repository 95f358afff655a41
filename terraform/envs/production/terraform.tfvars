# Names from project.yaml (`make init` keeps them in step; tests/infra/test_terraform_structure.py checks).
project        = "mlops-template"
model_name     = "penguins"
environment    = "production"
aws_account_id = "123456789012"
aws_region     = "eu-west-1"

# Sizes and network of this environment.
vpc_cidr           = "10.30.0.0/16"
availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
instance_type      = "c7i.large"
min_size           = 2
max_size           = 6
desired_capacity   = 2

# Issue a certificate in ACM for the service's DNS name and put its ARN here.
certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"

# The image the first launch-template version runs: put the digest CI built (and copied to ECR) here
# before the first apply. Later releases go through the promotion module, not this line.
image_digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
