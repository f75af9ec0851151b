//! Criterion: template-miner throughput on mixed raw log lines.
//!
//! The lines are generated (a fixed-seed LCG over six shapes: HDFS, sshd, Apache, Zookeeper,
//! a Java stack frame and a test failure), so the bench needs no dataset. `mine/raw_10k` mines
//! 10,000 lines into a fresh miner with header stripping, the path `qapms patterns mine` and the
//! Splunk import take; `mine/content_10k` the same lines without headers; `mask/line` masking
//! alone. `template_compare.py` is the side-by-side with Drain3 on real Loghub lines.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qapms_core::patterns::templates::{LogLine, MinerConfig, TemplateMiner, mask};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn lines(n: usize) -> Vec<String> {
    let mut rng = Lcg(42);
    let users = ["root", "admin", "test", "oracle", "guest", "ubuntu"];
    (0..n)
        .map(|i| {
            let a = rng.next();
            let b = rng.next();
            match a % 6 {
                0 => format!(
                    "081109 {:06} {} INFO dfs.DataNode$PacketResponder: PacketResponder {} for block blk_{}{} terminating",
                    b % 240_000, b % 999, a % 3, if b.is_multiple_of(2) { "-" } else { "" }, b
                ),
                1 => format!(
                    "Dec 10 {:02}:{:02}:{:02} LabSZ sshd[{}]: Failed password for invalid user {} from 10.{}.{}.{} port {} ssh2",
                    a % 24, b % 60, i % 60, b % 30_000, users[(b % 6) as usize], a % 256, b % 256, i % 256, 1024 + b % 60_000
                ),
                2 => format!(
                    "[Sun Dec 04 04:{:02}:{:02} 2005] [error] [client 218.{}.{}.{}] Directory index forbidden by rule: /var/www/html/",
                    a % 60, b % 60, a % 256, b % 256, i % 256
                ),
                3 => format!(
                    "2015-07-29 19:{:02}:{:02},{:03} - INFO  [NIOServerCxn.Factory:0.0.0.0/0.0.0.0:2181:NIOServerCnxn@1001] - Closed socket connection for client /10.10.34.{}:{} which had sessionid 0x{:x}",
                    a % 60, b % 60, i % 1000, b % 40, 30_000 + a % 20_000, a << 8 | b
                ),
                4 => format!(
                    "\tat com.example.orders.OrderService.place(OrderService.java:{})",
                    100 + b % 400
                ),
                _ => format!(
                    "AssertionError: expected status 200 but got {} for GET https://api.example.test/v1/orders/{}",
                    500 + b % 4, a
                ),
            }
        })
        .collect()
}

fn template_mining(c: &mut Criterion) {
    let raw = lines(10_000);
    let content: Vec<String> = raw
        .iter()
        .map(|l| LogLine::parse(l).content.to_owned())
        .collect();
    let mut group = c.benchmark_group("mine");
    group.throughput(Throughput::Elements(raw.len() as u64));
    group.bench_function("raw_10k", |b| {
        b.iter(|| {
            let mut miner = TemplateMiner::new(MinerConfig {
                strip_headers: true,
                ..MinerConfig::default()
            });
            for l in &raw {
                black_box(miner.add(l).cluster_size);
            }
            miner.len()
        });
    });
    group.bench_function("content_10k", |b| {
        b.iter(|| {
            let mut miner = TemplateMiner::new(MinerConfig::default());
            for l in &content {
                black_box(miner.add(l).cluster_size);
            }
            miner.len()
        });
    });
    group.finish();
    let line = &raw[1];
    c.bench_function("mask/line", |b| b.iter(|| mask(black_box(line))));
}

criterion_group!(benches, template_mining);
criterion_main!(benches);
