//! The README's taste of a Poem app is the getting-started program's own
//! code: each of its Rust blocks is a run of lines of
//! `examples/getting_started.rs`, which `cargo test` compiles and
//! `tests/getting_started.rs` drives through a login.

const README: &str = include_str!("../../README.md");
const PROGRAM: &str = include_str!("../examples/getting_started.rs");

fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_readme_shows_the_getting_started_program() {
    let program = lines(PROGRAM);
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in README.lines() {
        match &mut current {
            None if line.trim() == "```rust" => current = Some(String::new()),
            Some(block) if line.trim() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    assert_eq!(blocks.len(), 2, "the README's Rust blocks");
    for block in blocks {
        let block = lines(&block);
        assert!(
            program.windows(block.len()).any(|w| w == block.as_slice()),
            "this README block is not in examples/getting_started.rs:\n{}",
            block.join("\n")
        );
    }
}
