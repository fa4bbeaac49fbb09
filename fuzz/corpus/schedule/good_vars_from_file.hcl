# Defaults overridden by the sibling vars_from_file.vars (passed as -var-file).
variable "image" {
  type    = string
  default = "redis:6"
}

variable "memory" {
  type    = number
  default = 128
}

variable "args" {
  type    = list(string)
  default = []
}

variable "kept" {
  type    = string
  default = "from the default"
}

job "from_file" {
  group "g" {
    task "t" {
      driver = "docker"

      config {
        image = var.image
        args  = var.args
      }

      env {
        KEPT = var.kept
      }

      resources {
        memory = var.memory
      }
    }
  }
}
