//! The README's taste of a Poem app is the getting-started program's own
//! code: each of its Rust blocks is a run of lines of
//! `examples/getting_started.rs`, which `cargo test` compiles and
//! `tests/getting_started.rs` drives through a login.

const README: &str = include_str!("../../README.md");
const PROGRAM: &str = include_str!("../examples/getting_started.rs");

#[test]
fn the_readme_shows_the_getting_started_program() {
    let blocks = guide_check::blocks(README, "rust");
    assert_eq!(blocks.len(), 2, "the README's Rust blocks");
    for block in blocks {
        assert!(
            guide_check::contains_block(PROGRAM, &block),
            "this README block is not in examples/getting_started.rs:\n{block}"
        );
    }
}
