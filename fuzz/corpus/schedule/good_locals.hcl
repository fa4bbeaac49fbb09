# Several locals blocks; locals refer to variables, functions and each other (in any order).
variable "env" {
  type    = string
  default = "staging"
}

locals {
  name      = "${local.prefix}-api"
  full_name = upper(local.name)
}

locals {
  prefix = "${var.env}-svc"
  tags   = concat(["base"], local.extra)
  extra  = var.env == "prod" ? ["critical"] : ["test"]
}

job "locals" {
  name = local.name

  meta {
    full = local.full_name
    tags = join(",", local.tags)
  }

  group "g" {
    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/true"
      }
    }
  }
}
