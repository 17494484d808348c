//! One frame benchmark of `hoplab bench`, with a frame count of your choosing, for
//! instruction counts: `valgrind --tool=callgrind target/release/examples/hotpath nat 20000`.
//! Running it at two counts and dividing the difference of the totals by the difference of
//! the counts gives the cost of one frame, setup excluded.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(key), Some(n)) = (args.get(1), args.get(2).and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: hotpath bridge|nat|udp_nat|nft_nat|forward6|nat6 FRAMES");
        std::process::exit(2);
    };
    let mpps = match key.as_str() {
        "bridge" => hoplab::bench::bridge_mpps_frames(n),
        "nat" => hoplab::bench::nat::nat_mpps(n),
        "udp_nat" => hoplab::bench::nat::udp_nat_mpps(n),
        "nft_nat" => hoplab::bench::nat::nft_nat_mpps(n),
        "forward6" => hoplab::bench::route6::forward6_mpps(n),
        "nat6" => hoplab::bench::route6::nat6_mpps(n),
        _ => {
            eprintln!("unknown key {key}: bridge, nat, udp_nat, nft_nat, forward6 or nat6");
            std::process::exit(2);
        }
    };
    println!("{key} {n} {mpps:.3}");
}
