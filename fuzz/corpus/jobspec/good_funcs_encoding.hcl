# Encoding functions.
locals {
  settings = { port = 8080, hosts = ["a", "b"] }
}

job "funcs_encoding" {
  group "g" {
    task "t" {
      driver = "docker"

      config {
        image      = "busybox:1"
        b64        = base64encode("Hello World")
        b64_back   = base64decode("SGVsbG8gV29ybGQ=")
        json       = jsonencode(local.settings)
        json_back  = jsondecode("{\"a\": [1, 2]}")
        yaml       = yamlencode(local.settings)
        yaml_back  = yamldecode("x: 1\ny: [a, b]\n")
        csv        = csvdecode("name,port\napi,80\nweb,443\n")
        urlencoded = urlencode("a b&c=d/é")
        round_trip = jsondecode(jsonencode(local.settings)).hosts
      }
    }
  }
}
