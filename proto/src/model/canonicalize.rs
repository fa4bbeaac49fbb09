//! Fills Nomad's context-dependent defaults into a job (see `Job::canonicalize`).
