# Conditional expressions choose values, types and whole lists.
variable "production" {
  type    = bool
  default = true
}

variable "size" {
  type    = string
  default = "large"
}

job "conditionals" {
  type     = var.production ? "service" : "batch"
  priority = var.production ? 80 : 30

  group "g" {
    count = var.size == "large" ? 3 : 1

    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/sleep"
        args    = var.production ? ["3600"] : ["10"]
      }

      resources {
        cpu    = var.size == "large" ? 1000 : (var.size == "medium" ? 500 : 100)
        memory = !var.production || var.size != "large" ? 64 : 512
      }
    }
  }
}
