//! Prints a jobspec as the job JSON the API would take, or its errors.
//!
//! `cargo run -p nomadish-jobspecs --example dump_jobspec -- FILE.hcl`
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump_jobspec FILE.hcl");
        std::process::exit(2);
    };
    match nomadish_jobspecs::parse_file(std::path::Path::new(&path)) {
        Ok(job) => match serde_json::to_string_pretty(&job) {
            Ok(json) => println!("{json}"),
            Err(err) => eprintln!("{err}"),
        },
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(1);
        }
    }
}
