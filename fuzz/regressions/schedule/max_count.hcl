job "max" {
  datacenters = ["*"]
  group "g" {
    count = 100000
    task "t" {
      driver = "docker"
      config {
        image = "nginx"
      }
    }
  }
}
