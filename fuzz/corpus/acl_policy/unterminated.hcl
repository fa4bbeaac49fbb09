namespace "x {
  policy = "read"
