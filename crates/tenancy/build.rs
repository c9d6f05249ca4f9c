// refinery embeds the migrations (in the repository's `migrations/`) at compile time;
// without this, a new migration file is ignored until something else triggers a
// rebuild.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
