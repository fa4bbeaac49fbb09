# file() reads relative to the jobspec; hashes, uuidv5 and fixed-time date functions.
locals {
  greeting = file("data/greeting.txt")
}

job "funcs_file" {
  group "g" {
    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/echo"
        args    = [chomp(local.greeting)]
      }

      meta {
        exists    = fileexists("data/greeting.txt")
        missing   = fileexists("data/nope.txt")
        basename  = basename("data/greeting.txt")
        dirname   = dirname("data/greeting.txt")
        md5       = md5(local.greeting)
        sha1      = sha1("hello world")
        sha256    = sha256("hello world")
        sha512    = substr(sha512("hello world"), 0, 16)
        b64sha256 = base64sha256("hello world")
        uuidv5    = uuidv5("dns", "nomadish.example")
        date      = formatdate("DD MMM YYYY hh:mm ZZZ", "2024-03-05T07:08:09Z")
        later     = timeadd("2024-03-05T07:08:09Z", "90m")
      }
    }
  }
}
