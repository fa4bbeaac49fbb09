# Variables of every collection type, with defaults.
variable "ports" {
  type    = list(number)
  default = [8080, 8081]
}

variable "zones" {
  type    = set(string)
  default = ["a", "b", "a"]
}

variable "labels" {
  type = map(string)
  default = {
    team = "web"
    tier = 1
  }
}

variable "db" {
  type = object({
    host = string
    port = number
    tls  = optional(bool)
  })
  default = {
    host = "db.internal"
    port = "5432"
  }
}

variable "pair" {
  type    = tuple([string, number])
  default = ["x", 1]
}

variable "blob" {
  type    = any
  default = { nested = [1, { deep = true }] }
}

job "collections" {
  meta = var.labels

  group "g" {
    task "t" {
      driver = "docker"

      config {
        image = "redis:7"
        ports = var.ports
        zones = var.zones
        db    = var.db
        pair  = var.pair
        blob  = var.blob
      }

      env {
        DB_URL = "postgres://${var.db.host}:${var.db.port}"
        FIRST  = var.ports[0]
      }
    }
  }
}
