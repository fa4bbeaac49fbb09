variable "replicas" {
  type    = number
  default = 50

  validation {
    condition     = var.replicas <= 10
    error_message = "replicas must be between 1 and 10"
  }
}

job "x" {
  group "g" {
    count = var.replicas
    task "t" {
      driver = "raw_exec"
    }
  }
}
