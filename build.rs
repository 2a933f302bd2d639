//! The migrations are embedded with `embed_migrations!`; without this line a
//! new migration folder would not rebuild the binary. (The contract in
//! `proto/` is compiled by the `atelier-proto` crate in `clients/rust`.)

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
