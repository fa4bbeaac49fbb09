# meta at the job, group and task levels, as blocks and as attributes.
job "meta" {
  meta {
    team = "storage"
    tier = 1
  }

  group "g" {
    meta = {
      shard = "a"
    }

    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo $NOMAD_META_team $NOMAD_META_shard $NOMAD_META_role"]
      }

      meta {
        role = "primary"
      }
    }
  }
}
