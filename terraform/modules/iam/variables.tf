variable "name_prefix" {
  type        = string
  description = "Project name; prefixes every role, policy and the SageMaker resources the policies allow (\"mlops-template\")."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix must be 2-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "model_name" {
  type        = string
  description = "Model name; the Model Registry group is \"<name_prefix>-<model_name>\"."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.model_name))
    error_message = "model_name must be lowercase letters, digits or hyphens."
  }
}

variable "environments" {
  type        = list(string)
  description = "Environments in promotion order. Each gets a GitHub deploy role, and its SageMaker endpoint, endpoint configs, models, alarms and Auto Scaling group are named \"<name_prefix>-<environment>...\"."

  validation {
    condition     = length(var.environments) > 0 && alltrue([for e in var.environments : can(regex("^[a-z][a-z0-9]{1,15}$", e))])
    error_message = "environments must be short lowercase names (letters and digits)."
  }
}

variable "ml_engineer_environments" {
  type        = list(string)
  description = "Environments ML engineers may deploy to (create and update endpoints). Every other environment is denied to them explicitly."
  default     = ["staging"]
}

variable "build_environments" {
  type        = list(string)
  description = "Environments whose deploy role may also build: push images to ECR, publish artifacts, run training jobs and register model versions. The others only deploy what was built."
  default     = ["staging"]
}

variable "github_repository" {
  type        = string
  description = "GitHub repository as OWNER/REPO. Deploy-role trust names it exactly: no wildcards."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/REPO (letters, digits, '.', '_', '-'), without wildcards."
  }
}

variable "github_oidc_provider_arn" {
  type        = string
  description = "ARN of an existing IAM OIDC provider for GitHub Actions. null: this module creates it (there can be one per account)."
  default     = null
}

variable "persona_trusted_principal_arns" {
  type        = list(string)
  description = "IAM principals (users, roles, or an identity provider's roles) that may assume the persona roles, with MFA. Empty: the account root, i.e. any IAM principal in the account whose own policy allows sts:AssumeRole on the role."
  default     = []
}

variable "data_bucket_arn" {
  type        = string
  description = "ARN of the DVC remote bucket (raw and prepared data)."
}

variable "models_bucket_arn" {
  type        = string
  description = "ARN of the model artifact bucket (training input channels, artifacts under models/, experiments under experiments/)."
}

variable "storage_kms_key_arn" {
  type        = string
  description = "ARN of the KMS key that encrypts both buckets; used only through S3 (kms:ViaService)."
}

variable "ecr_repository_arn" {
  type        = string
  description = "ARN of the ECR repository holding the serving and training image."
}

variable "terraform_state_kms_key_arn" {
  type        = string
  description = "KMS key of the Terraform state bucket and lock table (terraform/bootstrap's state_kms_key_arn). The plan and apply roles may use it through S3 and DynamoDB only. null: no key access (state encrypted otherwise)."
  default     = null
}

variable "persona_studio_user_profiles" {
  type        = map(string)
  description = "SageMaker Studio user profile name of each persona (keys data-scientist, ml-engineer, mlops-engineer); a persona may open only its own profile."
  default = {
    "data-scientist" = "data-scientist"
    "ml-engineer"    = "ml-engineer"
    "mlops-engineer" = "mlops-engineer"
  }
}

variable "max_session_duration" {
  type        = number
  description = "Longest session, in seconds, for the persona and deploy roles."
  default     = 3600
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every role and policy."
  default     = {}
}
