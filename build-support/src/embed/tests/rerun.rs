//! Reruns: unchanged files reuse the previous run's chunks, and the table stays byte-identical to
//! a fresh build's.

use super::*;
use crate::cache::{self, ChunkCache};

const MAIN: &[u8] = b"fn main() {\n    println!(\"hello\");\n}\n";
const A: &[u8] = b"pub fn a() -> u32 {\n    1\n}\n";
const B: &[u8] = b"pub fn b() -> u32 {\n    2\n}\n";

fn three_files() -> Fixture {
    Fixture::new(&[("src/main.rs", MAIN), ("src/a.rs", A), ("src/b.rs", B)])
}

/// Runs `embed` and returns the summary and the table.
fn run_table(fx: &Fixture, embed: SourceEmbed) -> (Summary, Vec<u8>) {
    let summary = fx.run(embed, &fx.env()).0.unwrap();
    let table = fs::read(&summary.path).unwrap();
    (summary, table)
}

/// The table a first build of the same sources writes, into an empty `OUT_DIR`.
fn fresh_table(fx: &Fixture, embed: SourceEmbed) -> Vec<u8> {
    let out = tempfile::tempdir().unwrap();
    let env = BuildEnv {
        out_dir: out.path().to_path_buf(),
        ..fx.env()
    };
    let summary = fx.run(embed, &env).0.unwrap();
    assert_eq!(summary.reused, 0, "a first build has nothing to reuse");
    fs::read(summary.path).unwrap()
}

fn cache_path(fx: &Fixture) -> PathBuf {
    cache::path_for(&fx.env().out_dir.join(DEFAULT_FILE_NAME))
}

/// Each key in `table` with its inflated contents.
fn contents(table: &[u8]) -> Vec<(String, Vec<u8>)> {
    let sections = Sections::of(table).unwrap();
    let files = (sections.modules - sections.files) / FILE_ENTRY_LEN;
    let at = |at: usize| u32_at(table, at).unwrap() as usize;
    let chunks = (0..files).map(|i| {
        let entry = sections.files + i * FILE_ENTRY_LEN;
        let (off, len) = (at(entry + 8), at(entry + 12));
        let chunk = &table[sections.data + off..sections.data + off + len];
        miniz_oxide::inflate::decompress_to_vec(chunk).unwrap()
    });
    keys(table).into_iter().zip(chunks).collect()
}

#[test]
fn unchanged_rerun_reuses_every_chunk() {
    let fx = three_files();
    let (first, table) = run_table(&fx, SourceEmbed::new());
    assert_eq!((first.files, first.reused), (3, 0));
    let (second, again) = run_table(&fx, SourceEmbed::new());
    assert_eq!(second.reused, 3);
    assert_eq!(again, table);
}

#[test]
fn changed_file_gets_new_bytes_and_the_rest_are_reused() {
    let fx = three_files();
    run_table(&fx, SourceEmbed::new());
    // Same length, so only the hash tells the versions apart.
    fs::write(fx.dir.path().join("app/src/a.rs"), B).unwrap();
    let (summary, table) = run_table(&fx, SourceEmbed::new());
    assert_eq!(summary.reused, 2);
    let a = contents(&table)
        .into_iter()
        .find(|(k, _)| k == "app/src/a.rs");
    assert_eq!(a.unwrap().1, B);
    assert_eq!(table, fresh_table(&fx, SourceEmbed::new()));
}

#[test]
fn removed_file_is_dropped_from_the_cache() {
    let fx = three_files();
    run_table(&fx, SourceEmbed::new());
    fs::remove_file(fx.dir.path().join("app/src/b.rs")).unwrap();
    let (summary, table) = run_table(&fx, SourceEmbed::new());
    assert_eq!((summary.files, summary.reused), (2, 2));
    let cache = ChunkCache::load(&cache_path(&fx));
    assert_eq!(cache.keys(), ["app/src/a.rs", "app/src/main.rs"]);
    assert_eq!(table, fresh_table(&fx, SourceEmbed::new()));
}

#[test]
fn added_file_is_compressed_and_cached() {
    let fx = three_files();
    run_table(&fx, SourceEmbed::new());
    fs::write(fx.dir.path().join("app/src/c.rs"), A).unwrap();
    let (summary, table) = run_table(&fx, SourceEmbed::new());
    assert_eq!((summary.files, summary.reused), (4, 3));
    assert_eq!(ChunkCache::load(&cache_path(&fx)).keys().len(), 4);
    assert_eq!(table, fresh_table(&fx, SourceEmbed::new()));
}

#[test]
fn damaged_cache_is_ignored() {
    let fx = three_files();
    let (_, table) = run_table(&fx, SourceEmbed::new());
    let good = fs::read(cache_path(&fx)).unwrap();
    let mut flipped = good.clone();
    let in_a_chunk = good.len() - 20;
    flipped[in_a_chunk] ^= 0x40;
    let damaged: [(&str, Vec<u8>); 4] = [
        ("empty", Vec::new()),
        ("garbage", b"not a cache at all, just text".repeat(10)),
        ("truncated", good[..good.len() - 1].to_vec()),
        ("flipped", flipped),
    ];
    for (what, bytes) in damaged {
        fs::write(cache_path(&fx), bytes).unwrap();
        let (summary, again) = run_table(&fx, SourceEmbed::new());
        assert_eq!(summary.reused, 0, "{what}");
        assert_eq!(again, table, "{what}");
        assert_eq!(
            fs::read(cache_path(&fx)).unwrap(),
            good,
            "{what} is replaced"
        );
    }
}

#[test]
fn cache_path_taken_by_a_directory_does_not_fail_the_build() {
    let fx = three_files();
    fs::create_dir_all(cache_path(&fx)).unwrap();
    let (summary, table) = run_table(&fx, SourceEmbed::new());
    assert_eq!(summary.files, 3);
    assert_eq!(table, fresh_table(&fx, SourceEmbed::new()));
}

#[test]
fn level_change_compresses_everything_again() {
    let fx = three_files();
    run_table(&fx, SourceEmbed::new());
    let (summary, table) = run_table(&fx, SourceEmbed::new().compression_level(1));
    assert_eq!(summary.reused, 0);
    assert_eq!(
        table,
        fresh_table(&fx, SourceEmbed::new().compression_level(1))
    );
    let (summary, _) = run_table(&fx, SourceEmbed::new().compression_level(1));
    assert_eq!(summary.reused, 3);
}

#[test]
fn each_table_keeps_its_own_cache() {
    let fx = three_files();
    let other = || SourceEmbed::new().file_name("other.bin").exclude("main");
    run_table(&fx, SourceEmbed::new());
    run_table(&fx, other());
    assert_eq!(run_table(&fx, SourceEmbed::new()).0.reused, 3);
    assert_eq!(run_table(&fx, other()).0.reused, 2);
}

/// Runs `f`, printing how long it took.
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = std::time::Instant::now();
    let result = f();
    println!("{what:>12}: {:7.1} ms", start.elapsed().as_secs_f64() * 1e3);
    result
}

/// Compress-all against reuse-all, unoptimized as build scripts run. Point
/// `SENTRY_EMBED_BENCH_ROOT` at a tree of sources (default: this workspace) and run
/// `cargo test -p watchpost-build timing -- --ignored --nocapture`.
#[test]
#[ignore = "timing, prints numbers"]
fn timing_compress_all_vs_reuse_all() {
    let root = std::env::var_os("SENTRY_EMBED_BENCH_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
    let out = tempfile::tempdir().unwrap();
    let env = BuildEnv {
        manifest_dir: root.clone(),
        out_dir: out.path().to_path_buf(),
        pkg_name: "bench".to_owned(),
        pkg_version: "0.0.0".to_owned(),
        cargo: None,
        switch: None,
    };
    let embed = SourceEmbed::new()
        .root(&root)
        .report_deps(false)
        .max_total_bytes(u64::MAX);
    for what in ["compress all", "reuse all", "reuse all", "reuse all"] {
        let summary = timed(what, || embed.run(&env, &mut Vec::new()).unwrap());
        println!(
            "{:>12}  {} files, {} bytes -> {} bytes, {} reused",
            "", summary.files, summary.raw_bytes, summary.table_bytes, summary.reused
        );
    }
    let files: Vec<Vec<u8>> = timed("walk + read", || {
        let filters = crate::walk::Filters::new("**/*.rs", DEFAULT_EXCLUDES.iter().copied());
        let scan = scan_root(&root, &filters.unwrap(), out.path());
        scan.files
            .iter()
            .map(|(path, _)| fs::read(path).unwrap())
            .collect()
    });
    timed("hash only", || {
        files
            .iter()
            .map(|f| cache::content_hash(f))
            .collect::<Vec<_>>()
    });
}
