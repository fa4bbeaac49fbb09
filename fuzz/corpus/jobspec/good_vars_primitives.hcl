# Variables of the primitive types, with defaults, used across the job.
variable "datacenter" {
  type        = string
  default     = "dc1"
  description = "Where the job runs"
}

variable "replicas" {
  type    = number
  default = 2
}

variable "debug" {
  type    = bool
  default = false
}

variable "untyped" {
  default = "anything"
}

job "primitives" {
  datacenters = [var.datacenter]
  priority    = var.replicas * 20

  group "web" {
    count = var.replicas

    task "server" {
      driver = "raw_exec"

      config {
        command = "/bin/echo"
        args    = [var.untyped, "debug=${var.debug}"]
      }

      env {
        LOG_LEVEL = var.debug ? "debug" : "info"
        REPLICAS  = var.replicas
      }
    }
  }
}
