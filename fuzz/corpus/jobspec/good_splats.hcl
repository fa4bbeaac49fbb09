# Splat expressions over lists of objects, in both forms.
variable "backends" {
  default = [
    { host = "10.0.0.1", ports = [80, 81] },
    { host = "10.0.0.2", ports = [82] },
  ]
}

locals {
  hosts = var.backends[*].host
}

job "splats" {
  group "g" {
    task "t" {
      driver = "docker"

      config {
        image       = "haproxy:2"
        hosts       = local.hosts
        attr_splat  = var.backends.*.host
        first_ports = var.backends[*].ports[0]
        all_ports   = flatten(var.backends[*].ports)
      }

      env {
        HOSTS = join(" ", var.backends[*].host)
      }
    }
  }
}
