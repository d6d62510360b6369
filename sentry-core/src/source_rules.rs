//! The run-time side of the Elixir client's source options: which files are the application's
//! own (`root_source_code_paths`) and, with the `source-rules` feature, which frames may show
//! source (`source_code_exclude_patterns`, `source_code_path_pattern`). What is embedded is
//! decided in `build.rs`; these rules apply on top, without a rebuild.

use crate::event::{Frame, Stacktrace};
use crate::ClientOptions;
#[cfg(feature = "source-rules")]
use crate::Error;

/// Compiled source rules of a client.
#[derive(Debug, Default)]
pub(crate) struct SourceRules {
    #[cfg(feature = "source-rules")]
    matchers: Matchers,
    roots: Vec<String>,
}

/// The compiled exclude regexes and path glob (feature `source-rules`).
#[cfg(feature = "source-rules")]
#[derive(Debug, Default)]
struct Matchers {
    exclude: Vec<regex::Regex>,
    pattern: Option<glob::Pattern>,
}

#[cfg(feature = "source-rules")]
impl Matchers {
    /// Compiles the patterns of validated options (one that fails to compile is skipped:
    /// [`validate`] has already rejected it).
    fn new(o: &ClientOptions) -> Matchers {
        Matchers {
            exclude: o
                .source_code_exclude_patterns
                .iter()
                .filter_map(|p| regex::Regex::new(p).ok())
                .collect(),
            pattern: (o.source_code_path_pattern != "**/*.rs")
                .then(|| glob::Pattern::new(&o.source_code_path_pattern).ok())
                .flatten(),
        }
    }

    fn is_empty(&self) -> bool {
        self.exclude.is_empty() && self.pattern.is_none()
    }

    /// True when none of `paths` may show source lines.
    fn hides(&self, paths: &[String]) -> bool {
        let excluded = paths
            .iter()
            .any(|p| self.exclude.iter().any(|re| re.is_match(p)));
        let outside_pattern = self
            .pattern
            .as_ref()
            .is_some_and(|g| !paths.iter().any(|p| g.matches(p)));
        excluded || outside_pattern
    }
}

/// Checks that the exclude patterns are regexes and the path pattern a glob.
#[cfg(feature = "source-rules")]
pub(crate) fn validate(o: &ClientOptions) -> Result<(), Error> {
    for p in &o.source_code_exclude_patterns {
        regex::Regex::new(p).map_err(|e| {
            Error::option(
                "source_code_exclude_patterns",
                format!("`{p}` is not a valid regex: {e}"),
            )
        })?;
    }
    glob::Pattern::new(&o.source_code_path_pattern).map_err(|e| {
        Error::option(
            "source_code_path_pattern",
            format!("`{}` is not a valid glob: {e}", o.source_code_path_pattern),
        )
    })?;
    Ok(())
}

impl SourceRules {
    /// Compiles the rules of validated options.
    pub(crate) fn new(o: &ClientOptions) -> SourceRules {
        SourceRules {
            #[cfg(feature = "source-rules")]
            matchers: Matchers::new(o),
            roots: o
                .root_source_code_paths
                .iter()
                .map(|p| {
                    p.to_string_lossy()
                        .replace('\\', "/")
                        .trim_end_matches('/')
                        .to_owned()
                })
                .filter(|p| !p.is_empty())
                .collect(),
        }
    }

    fn is_empty(&self) -> bool {
        #[cfg(feature = "source-rules")]
        if !self.matchers.is_empty() {
            return false;
        }
        self.roots.is_empty()
    }

    /// Marks frames under a root as in-app and removes source lines the rules keep out.
    pub(crate) fn apply(&self, trace: &mut Stacktrace) {
        if self.is_empty() {
            return;
        }
        for frame in &mut trace.frames {
            self.apply_to_frame(frame);
        }
    }

    fn apply_to_frame(&self, frame: &mut Frame) {
        let paths: Vec<String> = [&frame.abs_path, &frame.filename]
            .into_iter()
            .flatten()
            .map(|p| p.replace('\\', "/"))
            .collect();
        if paths
            .iter()
            .any(|p| self.roots.iter().any(|r| p.starts_with(&format!("{r}/"))))
        {
            frame.in_app = Some(true);
        }
        #[cfg(feature = "source-rules")]
        if frame.context_line.is_some() && self.matchers.hides(&paths) {
            frame.pre_context.clear();
            frame.context_line = None;
            frame.post_context.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(path: &str) -> Frame {
        Frame {
            filename: Some(path.to_owned()),
            abs_path: Some(format!("/build/app/{path}")),
            context_line: Some("let x = 1;".into()),
            pre_context: vec!["fn a() {".into()],
            ..Default::default()
        }
    }

    #[cfg(feature = "source-rules")]
    #[test]
    fn excluded_paths_lose_their_source_lines() {
        let rules =
            SourceRules::new(&ClientOptions::new().source_code_exclude_patterns([r"/secrets?/"]));
        let mut t = Stacktrace::new(vec![frame("src/secret/keys.rs"), frame("src/main.rs")]);
        rules.apply(&mut t);
        assert_eq!(t.frames[0].context_line, None);
        assert!(t.frames[0].pre_context.is_empty());
        assert_eq!(t.frames[1].context_line.as_deref(), Some("let x = 1;"));
    }

    #[cfg(feature = "source-rules")]
    #[test]
    fn only_files_matching_the_pattern_keep_source_lines() {
        let rules =
            SourceRules::new(&ClientOptions::new().source_code_path_pattern("**/handlers/*.rs"));
        let mut t = Stacktrace::new(vec![frame("src/handlers/cart.rs"), frame("src/db.rs")]);
        rules.apply(&mut t);
        assert!(t.frames[0].context_line.is_some());
        assert!(t.frames[1].context_line.is_none());
    }

    #[test]
    fn frames_under_a_root_are_in_app() {
        let rules = SourceRules::new(
            &ClientOptions::new().root_source_code_paths(["/build/app/vendor/ours"]),
        );
        let mut t = Stacktrace::new(vec![frame("vendor/ours/lib.rs"), frame("src/main.rs")]);
        t.frames[0].in_app = Some(false);
        rules.apply(&mut t);
        assert_eq!(t.frames[0].in_app, Some(true));
        assert_eq!(t.frames[1].in_app, None);
    }
}
