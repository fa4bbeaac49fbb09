# for expressions: list and object results, filters, key/value iteration and grouping.
variable "services" {
  default = [
    { name = "api", port = 8080, public = true },
    { name = "admin", port = 9090, public = false },
    { name = "web", port = 80, public = true },
  ]
}

variable "owners" {
  default = {
    api   = "team-a"
    admin = "team-b"
    web   = "team-a"
  }
}

job "for_expressions" {
  group "g" {
    task "t" {
      driver = "docker"

      config {
        image    = "nginx:1"
        names    = [for s in var.services : upper(s.name)]
        public   = [for s in var.services : s.port if s.public]
        by_name  = { for s in var.services : s.name => s.port }
        by_team  = { for svc, team in var.owners : team => svc...}
        indexed  = [for i, s in var.services : "${i}:${s.name}"]
        doubled  = [for n in [1, 2, 3] : n * 2]
        key_list = [for k, v in var.owners : "${k}=${v}"]
      }
    }
  }
}
