// Not a library: `pub` items here are shared with the tests through `#[path]` modules,
// so the workspace's API lints (missing_docs, unreachable_pub, missing Debug) do not apply.
#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]

use spindle_executor::runtime::Builder;

#[test]
fn smoke_both_flavors() {
    for mut b in [Builder::new_multi_thread(), Builder::new_current_thread()] {
        let rt = b.worker_threads(2).build().unwrap();
        let sum = rt.block_on(async {
            let mut hs = Vec::new();
            for i in 0..1000u64 {
                hs.push(spindle_executor::spawn(async move {
                    spindle_executor::task::yield_now().await;
                    i
                }));
            }
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 999 * 1000 / 2);
    }
}
