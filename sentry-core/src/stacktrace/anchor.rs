//! Making the known location (the panic's, or a `#[track_caller]` capture call's) the last frame.
//!
//! [`std::panic::Location`] works without debug info, so it is the one reliable "where it happened". When a
//! resolved frame has that file and line, everything on its callee side (`#[track_caller]` helpers
//! such as `Result::unwrap`) is dropped and it becomes the last frame. Otherwise, typically in a
//! release build without line tables, a frame is made from the location and appended, after
//! dropping standard-library frames on top (the `unwrap_failed` kind) that sit between the failing
//! code and the panic.
//!
//! A match also tells where the workspace root is: the resolved absolute path minus the
//! workspace-relative path Cargo gave rustc.

use super::{paths, trim};
use crate::event::Frame;

/// A source location to anchor a stack trace to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Anchor<'a> {
    /// The path as Cargo passed it to rustc (relative for workspace crates).
    pub(crate) file: &'a str,
    /// Line, 1-based.
    pub(crate) line: u32,
    /// Column, 1-based.
    pub(crate) column: u32,
}

impl Anchor<'_> {
    fn matches(&self, frame: &Frame) -> bool {
        frame.lineno == Some(self.line)
            && [&frame.abs_path, &frame.filename]
                .into_iter()
                .flatten()
                .any(|path| paths::ends_with_path(path, self.file))
    }
}

/// Makes `anchor` the last of `frames` (caller → callee). Returns the workspace root learned from
/// a matching frame, if any; `workspace_root` (known from earlier) completes a made-up frame's
/// absolute path.
pub(crate) fn anchor_location(
    frames: &mut Vec<Frame>,
    anchor: &Anchor<'_>,
    workspace_root: Option<&str>,
) -> Option<String> {
    let file = paths::normalize(anchor.file);
    let relative = !paths::is_absolute(&file);
    if let Some(i) = frames.iter().rposition(|f| anchor.matches(f)) {
        frames.truncate(i + 1);
        let frame = frames.last_mut()?;
        frame.colno = frame.colno.or(Some(anchor.column));
        if !relative {
            return None;
        }
        frame.filename = Some(file.to_string());
        let abs = paths::normalize(frame.abs_path.as_deref()?).into_owned();
        let root = abs.strip_suffix(file.as_ref())?.trim_end_matches('/');
        return (!root.is_empty()).then(|| root.to_owned());
    }
    if !paths::is_toolchain(&file) {
        while frames.last().is_some_and(trim::is_std_frame) {
            frames.pop();
        }
    }
    let mut frame = Frame::default();
    if relative {
        frame.abs_path =
            workspace_root.map(|root| format!("{}/{file}", root.trim_end_matches('/')));
        frame.filename = Some(file.into_owned());
    } else {
        frame.abs_path = Some(anchor.file.to_owned());
    }
    frame.lineno = Some(anchor.line);
    frame.colno = Some(anchor.column);
    frames.push(frame);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, package: &str, abs_path: Option<&str>, line: u32) -> Frame {
        Frame {
            function: Some(function.to_owned()),
            package: Some(package.to_owned()),
            abs_path: abs_path.map(str::to_owned),
            lineno: abs_path.map(|_| line),
            ..Frame::default()
        }
    }

    const ANCHOR: Anchor<'static> = Anchor {
        file: "crates/app/src/db.rs",
        line: 42,
        column: 9,
    };

    fn with_debug_info() -> Vec<Frame> {
        vec![
            frame(
                "app::main",
                "app",
                Some("/home/u/proj/crates/app/src/main.rs"),
                3,
            ),
            frame(
                "app::db::query",
                "app",
                Some("/home/u/proj/crates/app/src/db.rs"),
                42,
            ),
            frame(
                "core::result::Result<T,E>::unwrap",
                "core",
                Some("/rustc/abc/library/core/src/result.rs"),
                1100,
            ),
            frame(
                "core::result::unwrap_failed",
                "core",
                Some("/rustc/abc/library/core/src/result.rs"),
                1700,
            ),
        ]
    }

    #[test]
    fn a_matching_frame_becomes_the_last_one() {
        let mut frames = with_debug_info();
        let root = anchor_location(&mut frames, &ANCHOR, None);
        assert_eq!(frames.len(), 2);
        let last = &frames[1];
        assert_eq!(last.function.as_deref(), Some("app::db::query"));
        assert_eq!(last.filename.as_deref(), Some("crates/app/src/db.rs"));
        assert_eq!(last.colno, Some(9));
        assert_eq!(root.as_deref(), Some("/home/u/proj"));
    }

    #[test]
    fn a_match_that_is_already_last_is_kept_as_is() {
        let mut frames = with_debug_info();
        frames.truncate(2);
        let before = frames[0].clone();
        anchor_location(&mut frames, &ANCHOR, None);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0], before);
        assert_eq!(frames[1].lineno, Some(42));
    }

    #[test]
    fn a_line_mismatch_is_not_a_match() {
        let mut frames = with_debug_info();
        let anchor = Anchor { line: 41, ..ANCHOR };
        anchor_location(&mut frames, &anchor, None);
        // Nothing matched: the std frames on top are dropped and the location appended.
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[2].lineno, Some(41));
        assert_eq!(frames[2].function, None);
    }

    #[test]
    fn without_debug_info_a_frame_is_made_from_the_location() {
        let mut frames = vec![
            frame("app::main", "app", None, 0),
            frame("app::db::query", "app", None, 0),
            frame("core::result::unwrap_failed", "core", None, 0),
        ];
        let root = anchor_location(&mut frames, &ANCHOR, Some("/home/u/proj/"));
        assert_eq!(root, None);
        let names: Vec<_> = frames.iter().map(|f| f.function.as_deref()).collect();
        assert_eq!(names, [Some("app::main"), Some("app::db::query"), None]);
        let last = &frames[2];
        assert_eq!(last.filename.as_deref(), Some("crates/app/src/db.rs"));
        assert_eq!(
            last.abs_path.as_deref(),
            Some("/home/u/proj/crates/app/src/db.rs")
        );
        assert_eq!((last.lineno, last.colno), (Some(42), Some(9)));
    }

    #[test]
    fn an_empty_stack_gets_the_location_frame() {
        let mut frames = Vec::new();
        anchor_location(&mut frames, &ANCHOR, None);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].abs_path, None);
    }

    #[test]
    fn absolute_locations_match_and_teach_no_root() {
        let registry = "/home/u/.cargo/registry/src/i-1/dep-1.0.0/src/lib.rs";
        let mut frames = vec![
            frame("app::main", "app", None, 0),
            frame("dep::f", "dep", Some(registry), 7),
        ];
        let anchor = Anchor {
            file: registry,
            line: 7,
            column: 1,
        };
        assert_eq!(anchor_location(&mut frames, &anchor, None), None);
        assert_eq!(frames.len(), 2);

        let mut frames = vec![frame("app::main", "app", None, 0)];
        anchor_location(&mut frames, &Anchor { line: 8, ..anchor }, None);
        assert_eq!(frames[1].abs_path.as_deref(), Some(registry));
        assert_eq!(frames[1].filename, None);
    }

    #[test]
    fn std_frames_stay_when_the_location_is_in_std() {
        let std_file = "/rustc/abc/library/core/src/result.rs";
        let mut frames = vec![
            frame("app::main", "app", None, 0),
            frame("core::x", "core", None, 0),
        ];
        anchor_location(
            &mut frames,
            &Anchor {
                file: std_file,
                line: 1,
                column: 1,
            },
            None,
        );
        assert_eq!(frames.len(), 3);
    }
}
