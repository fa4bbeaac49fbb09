# Driver config is free-form: attributes keep their JSON types, blocks become objects,
# repeated blocks become lists, labeled blocks nest under their labels.
job "shapes" {
  group "g" {
    task "t" {
      driver = "docker"

      config {
        image      = "redis:7"
        privileged = false
        cpu_hard   = true
        shm_size   = 67108864
        ratio      = 0.75
        labels = {
          "com.example.team" = "cache"
          tier               = 2
        }
        command = "redis-server"
        args    = ["--port", "6379", "--maxmemory", "64mb"]

        mount {
          type   = "bind"
          source = "local/data"
          target = "/data"
        }

        mount {
          type     = "tmpfs"
          target   = "/tmp"
          readonly = false
        }

        logging {
          type = "json-file"
          config {
            max-size = "10m"
          }
        }

        port_map "redis" {
          to = 6379
        }

        port_map "admin" {
          to = 8001
        }

        computed = 60 * 60 * 24
      }
    }
  }
}
