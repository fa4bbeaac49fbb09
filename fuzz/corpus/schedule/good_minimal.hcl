# The smallest useful jobspec: every other field takes Nomad's default.
job "minimal" {
  group "app" {
    task "server" {
      driver = "raw_exec"
    }
  }
}
