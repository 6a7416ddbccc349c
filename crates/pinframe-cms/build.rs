//! Rebuild when a migration is added: `sqlx::migrate!` embeds the directory at compile time, and
//! cargo does not see new files in it on its own (sqlx's `migrate build-script` advice).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
