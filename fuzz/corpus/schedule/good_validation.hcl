# Validation blocks that pass, and a sensitive variable (its value is never printed in errors).
variable "replicas" {
  type    = number
  default = 3

  validation {
    condition     = var.replicas > 0 && var.replicas <= 10
    error_message = "replicas must be between 1 and 10"
  }
}

variable "token" {
  type      = string
  default   = "s3cr3t"
  sensitive = true

  validation {
    condition     = length(var.token) >= 6
    error_message = "token is too short"
  }
}

job "validation" {
  group "g" {
    count = var.replicas

    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/true"
      }

      env {
        TOKEN = var.token
      }
    }
  }
}
