variable "msg" {
  type    = string
  default = "default"
}

variable "n" {
  type    = number
  default = 1
}

variable "tags" {
  type    = list(string)
  default = []
}

variable "secret" {
  type      = number
  default   = 7
  sensitive = true
}

job "j" {
  update {
    stagger = "10s"
  }
  group "g" {
    count = var.n
    task "t" {
      driver = "raw_exec"
      env {
        MSG  = var.msg
        TAGS = join(",", var.tags)
        S    = var.secret
      }
    }
  }
}
# fuzz-vars
n=3
msg=hello
tags=["a", "b"]
NOMAD_VAR_secret=9
