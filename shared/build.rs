//! The migrations in `sql/` are embedded at compile time (`store::migrations`); a new or
//! changed file there must rebuild this crate, which cargo does not know by itself.

fn main() {
    println!("cargo:rerun-if-changed=../sql");
}
