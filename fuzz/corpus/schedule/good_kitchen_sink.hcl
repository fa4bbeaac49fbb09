# Most of the language and most blocks at once: variables and locals feeding a service job with
# a prestart task, an artifact, a template, a service with checks, a host volume and a sticky
# ephemeral disk.
variable "env" {
  type    = string
  default = "staging"

  validation {
    condition     = contains(["staging", "production"], var.env)
    error_message = "env must be staging or production."
  }
}

variable "replicas" {
  type = map(number)
  default = {
    staging    = 1
    production = 3
  }
}

locals {
  name  = "shop-${var.env}"
  count = lookup(var.replicas, var.env, 1)
  tags  = [for t in ["shop", var.env] : upper(t)]
}

job "shop" {
  datacenters = ["dc1"]
  namespace   = "default"

  meta {
    owner = "team-shop"
  }

  update {
    max_parallel     = 1
    health_check     = "checks"
    min_healthy_time = "5s"
    healthy_deadline = "1m"
  }

  group "api" {
    count = local.count

    ephemeral_disk {
      size   = 500
      sticky = true
    }

    volume "uploads" {
      type      = "host"
      source    = "shop-uploads"
      read_only = false
    }

    network {
      port "http" {}
    }

    service {
      name     = local.name
      provider = "nomad"
      port     = "http"
      tags     = local.tags

      check {
        type     = "http"
        path     = "/healthz"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "migrate" {
      driver = "raw_exec"

      lifecycle {
        hook = "prestart"
      }

      config {
        command = "/usr/local/bin/shop"
        args    = ["migrate"]
      }
    }

    task "api" {
      driver = "raw_exec"

      config {
        command = "local/shop"
        args    = ["serve", "--port", "${NOMAD_PORT_http}"]
      }

      artifact {
        source      = "https://releases.example.com/shop/2.1.0/shop.tar.gz"
        destination = "local"

        options {
          checksum = "sha256:0f343b0931126a20f133d67c2b018a3b1e3a8d8c1b0e2f6d6b5f1d0c9e8a7b6c"
        }
      }

      template {
        data        = "ENV=${var.env}\nALLOC={{ env \"NOMAD_ALLOC_ID\" }}\n"
        destination = "local/shop.env"
        env         = true
      }

      volume_mount {
        volume      = "uploads"
        destination = "uploads"
      }

      resources {
        cpu    = 200
        memory = 128
      }
    }
  }
}
