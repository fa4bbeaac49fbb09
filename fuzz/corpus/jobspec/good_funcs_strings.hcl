# String functions.
variable "name" {
  default = "  Hello World  "
}

job "funcs_strings" {
  group "g" {
    task "t" {
      driver = "docker"

      config {
        image      = format("%s:%d", "redis", 7)
        formatted  = formatlist("%s=%03d", ["a", "b"], [1, 22])
        joined     = join("-", ["a", "b"], ["c"])
        split      = split(",", "x,y,z")
        upper      = upper(trimspace(var.name))
        lower      = lower("ABC")
        title      = title("hello nomad world")
        replaced   = replace("1 + 2 + 3", "+", "-")
        re_replace = replace("hello world", "/o(\\w)/", "0$1")
        regex_rep  = regex_replace("hello world", "w.*d", "everybody")
        trimmed    = [trim("?!hi!?", "!?"), trimprefix("helloworld", "hello"), trimsuffix("helloworld", "world")]
        regex      = regex("(\\d+)-(\\d+)", "ports 80-90")
        named      = regex("(?P<user>\\w+)@(?P<host>\\w+)", "me@example")
        regexall   = regexall("[a-z]+", "1abc2de3")
        substr     = substr("hello world", 6, -1)
        strrev     = strrev("stressed")
        indent     = indent(2, "a\nb")
        chomp      = chomp("line\n\n")
      }
    }
  }
}
