//! A tour of Spindle, section by section, the way the asyncio tutorial introduces the event
//! loop: coroutines that take turns, tasks and their handles, a thread pool for blocking
//! calls, and sockets. Run it with `cargo run --release --example tour`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::{AsyncReadExt, AsyncWriteExt};
use spindle::net::{TcpListener, TcpStream};
use spindle::runtime::{Builder, Handle};
use spindle::task::{self, JoinSet};

fn section(title: &str) {
    println!("\n== {title} ==");
}

/// func1 and func2 from the tutorial: each prints, yields to the loop, prints again.
fn coroutines() {
    section("1. coroutines take turns (asyncio: await asyncio.sleep(0))");
    let rt = Builder::new_current_thread().build().expect("runtime");
    let order = Arc::new(Mutex::new(Vec::new()));
    let (o1, o2) = (order.clone(), order.clone());
    rt.block_on(async move {
        let func1 = spindle::spawn(async move {
            println!("1");
            o1.lock().unwrap().push(1);
            task::yield_now().await;
            println!("2");
            o1.lock().unwrap().push(2);
        });
        let func2 = spindle::spawn(async move {
            println!("3");
            o2.lock().unwrap().push(3);
            task::yield_now().await;
            println!("4");
            o2.lock().unwrap().push(4);
        });
        func1.await.unwrap();
        func2.await.unwrap();
    });
    println!("order: {:?}", order.lock().unwrap());
}

async fn tasks() {
    section("2. tasks: spawn, name, join, abort (asyncio.create_task)");
    let named = task::Builder::new()
        .name("n1")
        .spawn(async { "result of n1" })
        .expect("spawn");
    println!(
        "task {} finished with {:?}",
        named.id(),
        named.await.unwrap()
    );

    let mut set = JoinSet::new();
    for i in 1..=5u64 {
        set.spawn(async move { i * i });
    }
    let mut squares = Vec::new();
    while let Some(square) = set.join_next().await {
        squares.push(square.unwrap());
    }
    squares.sort();
    println!("JoinSet collected {squares:?}");

    let forever = task::Builder::new()
        .name("forever")
        .spawn(std::future::pending::<()>())
        .expect("spawn");
    task::yield_now().await;
    println!("live tasks: {:?}", Handle::current().tasks());
    forever.abort();
    println!("aborted: {}", forever.await.unwrap_err());

    // The default panic hook would print a backtrace for the panic we are about to cause.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let panicked = spindle::spawn(async { panic!("a task may panic; the runtime keeps serving") });
    let err = panicked.await.unwrap_err();
    std::panic::set_hook(hook);
    println!("panicked: {err}");
}

async fn blocking() {
    section("3. blocking calls on the thread pool (loop.run_in_executor)");
    let start = Instant::now();
    let calls: Vec<_> = (0..4)
        .map(|i| {
            spindle::spawn_blocking(move || {
                std::thread::sleep(std::time::Duration::from_millis(100));
                i
            })
        })
        .collect();
    // The loop stays responsive while the pool sleeps.
    let ticks = spindle::spawn(async {
        let mut n = 0u32;
        for _ in 0..1000 {
            task::yield_now().await;
            n += 1;
        }
        n
    });
    let mut done = Vec::new();
    for call in calls {
        done.push(call.await.unwrap());
    }
    println!(
        "4 blocking sleeps of 100 ms finished in {:?} while another task yielded {} times",
        start.elapsed(),
        ticks.await.unwrap()
    );
}

async fn sockets() {
    section("4. sockets: a TCP echo server and 20 concurrent clients");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let server = spindle::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                break;
            };
            spindle::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let mut clients = JoinSet::new();
    for i in 0..20 {
        clients.spawn(async move {
            let mut stream = TcpStream::connect(addr).await?;
            let msg = format!("hello from client {i}");
            stream.write_all(msg.as_bytes()).await?;
            let mut back = vec![0u8; msg.len()];
            stream.read_exact(&mut back).await?;
            Ok::<_, std::io::Error>(back == msg.as_bytes())
        });
    }
    let mut echoed = 0;
    while let Some(ok) = clients.join_next().await {
        echoed += usize::from(ok.unwrap().unwrap());
    }
    server.abort();
    println!("{echoed}/20 clients got their message echoed back from {addr}");
}

fn main() {
    println!("Spindle tour");
    coroutines();
    spindle::run(async {
        tasks().await;
        blocking().await;
        sockets().await;
        let metrics = Handle::current().metrics();
        section("metrics");
        println!(
            "workers {}, tasks spawned {}, polls {}, steals {}, parks {}, blocking threads {}",
            metrics.workers,
            metrics.spawned_tasks,
            metrics.polls,
            metrics.steals,
            metrics.parks,
            metrics.blocking_threads
        );
    });
}
