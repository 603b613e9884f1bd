//! Step 09's command line: what rank 0 decides before any array moves, and the one message of
//! integers that tells every other rank the same decision.
//!
//! Only rank 0 reads the arguments, checks memory and prints; the other ranks learn the
//! outcome from a broadcast, so a bad argument ends every rank with the same exit code and a
//! single line on the terminal, and no rank is left waiting for a message that never comes.

use workload::cli::{self, Exit, USAGE_EXIT};
use workload::machine::check_memory;
use workload::{matmul, MatmulArgs};

/// What rank 0 broadcasts: `[stop, size, tasks, chunksize, json]`, where `stop` is 0 to go
/// and the exit code plus one to stop.
pub(crate) type Verdict = [u64; 5];

/// Rank 0: parse and check the arguments for a world of `ranks` processes, print the help or
/// the one-line error if there is one, and return the verdict for every rank.
pub(crate) fn decide(step: &'static str, about: &'static str, ranks: usize) -> Verdict {
    match check(step, about, ranks) {
        Ok(go) => go,
        Err((code, text)) => {
            if code == 0 {
                workload::say!("{text}");
            } else {
                eprintln!("{text}");
            }
            [code as u64 + 1, 0, 0, 0, 0]
        }
    }
}

/// The exit code a stopping verdict carries.
pub(crate) fn exit_code(v: &Verdict) -> i32 {
    v[0].saturating_sub(1) as i32
}

/// [`decide`] without printing: the verdict, or the exit code and the text to print.
fn check(step: &'static str, about: &'static str, ranks: usize) -> Result<Verdict, (i32, String)> {
    let args: MatmulArgs = match cli::try_parse_from(step, about, std::env::args_os()) {
        Ok(args) => args,
        Err(Exit::Help(text)) => return Err((0, text.trim_end().to_string())),
        Err(Exit::Usage(line)) => return Err((USAGE_EXIT, format!("error: {line}"))),
    };
    let usage = |line: String| Err((USAGE_EXIT, format!("error: {line}")));
    if ranks < 2 {
        return usage(format!(
            "{step} needs at least 2 MPI ranks, got {ranks}: run it as `mpirun -n 2 target/release/examples/{step}`"
        ));
    }
    if args.trace.is_some() {
        return usage("--trace does not apply: step 09 records no trace".into());
    }
    if args.workers.is_some() {
        return usage(
            "--workers does not apply: the ranks are the workers, `mpirun -n N` sets them".into(),
        );
    }
    // pairs per rank per round: by default one round; never more than there are pairs
    let chunk = (args.chunksize)
        .unwrap_or(args.tasks.div_ceil(ranks))
        .min(args.tasks);
    // MPI counts and displacements are C ints: one round must stay within 2^31-1 elements
    let per_round = 2 * (args.size as u128).pow(2) * ranks as u128 * chunk as u128;
    if per_round > i32::MAX as u128 {
        let most = i32::MAX as u128 / (2 * (args.size as u128).pow(2) * ranks as u128);
        return usage(format!(
            "a round of {per_round} matrix elements exceeds MPI's count limit of 2^31-1; {}",
            if most == 0 {
                "choose a smaller --size".to_string()
            } else {
                format!("pass --chunksize {most} or less")
            }
        ));
    }
    // rank 0 holds every pair and product; on one machine each other rank holds a chunk's worth
    let extra = (ranks - 1).saturating_mul(chunk).saturating_mul(3);
    let what = format!(
        "{} pairs of {n}x{n} matrices on {ranks} ranks",
        args.tasks,
        n = args.size
    );
    if let Err(line) = check_memory(matmul::footprint(args.tasks, args.size, extra), &what) {
        return usage(line);
    }
    Ok([
        0,
        args.size as u64,
        args.tasks as u64,
        chunk as u64,
        args.json as u64,
    ])
}
