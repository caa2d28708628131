//! The `download_images` example: the files arrive intact, and downloading them concurrently
//! takes about one server delay where sequentially takes about three.

// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![cfg(feature = "hyper")]

#[allow(dead_code)]
#[path = "../examples/download_images.rs"]
mod example;

use std::time::Duration;

#[test]
fn concurrent_download_is_much_faster_and_files_are_intact() {
    let dir = std::env::temp_dir().join(format!("spindle-images-test-{}", std::process::id()));
    let delay = Duration::from_millis(200);
    let t = spindle::run(example::compare(delay, &dir)).unwrap();
    for files in [&t.sequential_files, &t.concurrent_files] {
        assert_eq!(files.len(), example::IMAGES.len());
        for (path, name) in files.iter().zip(example::IMAGES) {
            assert_eq!(path.file_name().unwrap(), name);
            let bytes = std::fs::read(path).unwrap();
            assert!(
                bytes.starts_with(b"P6\n64 64\n255\n"),
                "{name} is a PPM image"
            );
            assert_eq!(bytes, example::image_bytes(name), "{name}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // Loose bounds: every request waits out the delay, so sequential >= 3 delays and
    // concurrent >= 1; concurrent well under 2/3 of sequential on any machine.
    assert!(t.sequential >= delay * 3, "{t:?}");
    assert!(t.concurrent >= delay, "{t:?}");
    assert!(t.concurrent * 3 < t.sequential * 2, "{t:?}");
}

#[test]
fn unknown_image_is_an_error() {
    spindle::run(async {
        let server = example::ImageServer::start(Duration::ZERO).await.unwrap();
        let err = example::fetch(server.addr, "/images/purple.ppm")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("404"), "{err}");
        let ok = example::fetch(server.addr, "/images/red.ppm")
            .await
            .unwrap();
        assert_eq!(ok, example::image_bytes("red.ppm"));
    });
}
