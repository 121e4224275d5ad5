//! Checks that a page of `docs/` shows code the tests compile and run: its
//! fenced blocks compared with a program line by line (trimmed, blank lines
//! left out), and its `cargo add` lines compared with what the program uses.
//! A dev-dependency of the crates whose tests check a page.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The fenced blocks of `lang` in a Markdown page.
#[must_use]
pub fn blocks(page: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        let fence = line.trim_start();
        match &mut current {
            None if fence.starts_with("```") && fence[3..].trim() == lang => {
                current = Some(String::new());
            }
            Some(block) if fence.starts_with("```") => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

/// Lines as compared: trimmed, blank ones left out.
#[must_use]
pub fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Whether `block` is a run of lines of `text`.
#[must_use]
pub fn contains_block(text: &str, block: &str) -> bool {
    let (text, block) = (lines(text), lines(block));
    text.windows(block.len()).any(|w| w == block.as_slice())
}

/// A guide page and the example program it shows.
#[derive(Debug, Clone, Copy)]
pub struct Guide {
    /// The page's path, for messages (`docs/getting-started/poem.md`).
    pub path: &'static str,
    /// The page's text.
    pub page: &'static str,
    /// The example's text.
    pub example: &'static str,
    /// The command that runs the example, which the page must name.
    pub run: &'static str,
    /// Features the program needs beyond a crate's defaults, which the
    /// page's `cargo add` lines must ask for: `(crate, feature)`.
    pub features: &'static [(&'static str, &'static str)],
    /// Where the shown program ends, if not at the end of the file: the
    /// first line containing this is not shown.
    pub shown_until: Option<&'static str>,
}

impl Guide {
    /// The example without its leading `//!` comment (which is about this
    /// repository, not the reader's program), down to `shown_until`.
    fn program(&self) -> Vec<&'static str> {
        lines(self.example)
            .into_iter()
            .skip_while(|l| l.starts_with("//!"))
            .take_while(|l| self.shown_until.is_none_or(|end| !l.contains(end)))
            .collect()
    }

    /// Every Rust block of the page is a run of lines of the example.
    pub fn assert_every_block_is_in_the_example(&self) {
        let rust = blocks(self.page, "rust");
        assert!(!rust.is_empty(), "{} has no rust block", self.path);
        for block in &rust {
            assert!(
                contains_block(self.example, block),
                "this rust block of {} is not in the example (the guide shows the \
                 example as it is):\n{block}",
                self.path
            );
        }
    }

    /// The page's Rust blocks, in order, are the whole program: a reader
    /// who copies them has it.
    pub fn assert_the_page_shows_the_whole_program(&self) {
        let rust = blocks(self.page, "rust").concat();
        let shown = lines(&rust);
        let program = self.program();
        let differ = (0..shown.len().max(program.len())).find(|&i| shown.get(i) != program.get(i));
        if let Some(i) = differ {
            panic!(
                "the rust blocks of {}, in order, must be the example after its `//!` \
                 comment; they differ at line {i} of the program: the guide has {:?}, \
                 the example {:?}",
                self.path,
                shown.get(i),
                program.get(i)
            );
        }
    }

    /// The page's `cargo add` lines name every crate the program uses, with
    /// the features it needs, and the page names the command that runs it.
    pub fn assert_cargo_add_covers_the_program(&self) {
        let added = cargo_add_lines(self.page);
        for krate in crates_used(&self.program()) {
            assert!(
                added.iter().any(|(crates, _)| crates.contains(&krate)),
                "{}: no `cargo add` line names `{krate}`, which the program uses \
                 (cargo add lines: {added:?})",
                self.path
            );
        }
        for (krate, feature) in self.features {
            let with_feature = |(crates, features): &(Vec<String>, Vec<String>)| {
                crates.iter().any(|c| c == krate)
                    && features
                        .iter()
                        .any(|f| f == feature || *f == format!("{krate}/{feature}"))
            };
            assert!(
                added.iter().any(with_feature),
                "{}: no `cargo add {krate}` line asks for feature `{feature}`, which the \
                 program needs (cargo add lines: {added:?})",
                self.path
            );
        }
        assert!(
            self.page.contains(self.run),
            "{} names `{}`",
            self.path,
            self.run
        );
    }
}

/// The page's `cargo add` lines: the crates each names, and its features.
fn cargo_add_lines(page: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let shell = blocks(page, "sh").concat();
    let mut out = Vec::new();
    for line in shell.lines() {
        let Some(args) = line.trim().strip_prefix("cargo add ") else {
            continue;
        };
        let mut words = args
            .split('#')
            .next()
            .unwrap_or_default()
            .split_whitespace();
        let (mut crates, mut features) = (Vec::new(), Vec::new());
        while let Some(word) = words.next() {
            match word {
                "--features" | "-F" => {
                    let list = words.next().unwrap_or_default();
                    features.extend(list.split(',').map(str::to_owned));
                }
                w if w.starts_with('-') => {}
                w => crates.push(w.split('@').next().unwrap_or_default().to_owned()),
            }
        }
        out.push((crates, features));
    }
    out
}

/// The crates named by the program's `use` lines and attributes, as Cargo
/// names them.
fn crates_used(program: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in program {
        let path = line
            .strip_prefix("use ")
            .or_else(|| line.strip_prefix("#[").filter(|a| a.contains("::")));
        let Some(root) = path.and_then(|p| p.split("::").next()) else {
            continue;
        };
        if ["std", "core", "alloc", "crate", "self", "super"].contains(&root) {
            continue;
        }
        let krate = root.replace('_', "-");
        if !out.contains(&krate) {
            out.push(krate);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "text\n```rust\nuse a_b::c;\n\nfn main() {}\n```\n\n```sh\ncargo add a-b --features x\n```\n";

    #[test]
    fn a_page_that_shows_its_program_passes_and_one_that_does_not_fails() {
        let guide = Guide {
            path: "page.md",
            page: PAGE,
            example: "//! about\nuse a_b::c;\nfn main() {}\n",
            run: "cargo add",
            features: &[("a-b", "x")],
            shown_until: None,
        };
        guide.assert_every_block_is_in_the_example();
        guide.assert_the_page_shows_the_whole_program();
        guide.assert_cargo_add_covers_the_program();
        let drifted = Guide {
            example: "use a_b::c;\nfn main() { changed() }\n",
            ..guide
        };
        assert!(
            std::panic::catch_unwind(|| drifted.assert_every_block_is_in_the_example()).is_err()
        );
        let missing = Guide {
            features: &[("a-b", "y")],
            ..guide
        };
        assert!(
            std::panic::catch_unwind(|| missing.assert_cargo_add_covers_the_program()).is_err()
        );
    }
}
