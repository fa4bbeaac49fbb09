# A service job using every block and attribute nomadish supports.
job "api" {
  name        = "API server"
  region      = "eu"
  namespace   = "prod"
  type        = "service"
  priority    = 70
  all_at_once = false
  datacenters = ["eu-west-1a", "eu-west-1b"]
  node_pool   = "linux"

  meta {
    team  = "platform"
    owner = "ops@example.com"
  }

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  constraint {
    attribute = "${attr.cpu.arch}"
    operator  = "regexp"
    value     = "^(amd64|arm64)$"
  }

  update {
    max_parallel     = 2
    min_healthy_time = "15s"
    auto_revert      = true
  }

  reschedule {
    delay     = "1m"
    max_delay = "30m"
  }

  group "api" {
    count          = 3
    shutdown_delay = "5s"

    constraint {
      distinct_hosts = true
    }

    constraint {
      distinct_property = "${meta.rack}"
      value             = "2"
    }

    restart {
      attempts = 5
      delay    = "10s"
      mode     = "delay"
    }

    ephemeral_disk {
      size   = 500
      sticky = true
    }

    network {
      mode = "host"

      port "http" {
        to = 8080
      }

      port "metrics" {
        static = 9100
      }
    }

    meta = {
      tier = "frontend"
    }

    task "server" {
      driver         = "docker"
      user           = "nobody"
      leader         = true
      kill_timeout   = "20s"
      kill_signal    = "SIGTERM"
      shutdown_delay = "2s"

      config {
        image   = "example/api:1.4.2"
        ports   = ["http", "metrics"]
        command = "/bin/api"
        args    = ["--listen", ":${NOMAD_PORT_http}"]
      }

      env {
        LOG_LEVEL = "info"
        WORKERS   = 4
        ALLOC     = "${NOMAD_ALLOC_ID}"
      }

      meta {
        version = "1.4.2"
      }

      constraint {
        attribute = "${meta.gpu}"
        operator  = "is_not_set"
      }

      resources {
        cpu        = 500
        memory     = 256
        memory_max = 512
      }

      restart {
        attempts = 2
      }

      logs {
        max_files     = 5
        max_file_size = 20
      }
    }

    task "sidecar" {
      driver = "raw_exec"

      config {
        command = "/usr/local/bin/agent"
      }

      resources {
        cores  = 1
        memory = 64
      }
    }
  }
}
