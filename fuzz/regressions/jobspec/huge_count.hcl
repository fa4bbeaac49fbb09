job "huge" {
  datacenters = ["dc1"]
  group "g" {
    count = 1000000000000
    task "t" {
      driver = "docker"
      config {
        image = "nginx"
      }
    }
  }
}
