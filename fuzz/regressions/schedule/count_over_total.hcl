job "over" {
  group "a" {
    count = 60000
    task "t" {
      driver = "docker"
    }
  }
  group "b" {
    count = 60000
    task "t" {
      driver = "docker"
    }
  }
}
