//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds the files that
//! exist at compile time, and cargo only watches those, not new files in the folders.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
