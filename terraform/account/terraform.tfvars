# Names from project.yaml (`make init` keeps them in step; tests/infra/test_terraform_structure.py checks).
project           = "mlops-template"
model_name        = "penguins"
github_repository = "your-org/mlops-template"
aws_account_id    = "123456789012"
aws_region        = "eu-west-1"
environments      = ["staging", "production"]

availability_zones = ["eu-west-1a", "eu-west-1b"]
