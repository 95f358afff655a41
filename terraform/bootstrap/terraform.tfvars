# Names from project.yaml (`make init` keeps them in step; tests/infra/test_terraform_structure.py checks).
project        = "mlops-template"
aws_account_id = "123456789012"
aws_region     = "eu-west-1"
