//! Independent jobs side by side: small runs (a model repeated with other seeds, one model
//! per digit) that cannot keep every core busy alone, run one per core instead.

/// Runs `work` on each of `jobs` and returns the results in the jobs' order. With the current
/// pool's thread count as the number of lanes, lane `l` runs jobs `l`, `l + lanes`, … one
/// after the other, in a pool of its own with one thread (set up like the runner's pool,
/// subnormals flushed), so no job ever waits on another's kernels: in one shared pool, a
/// worker that helps one run while it waits would hold up the other.
///
/// A job's numbers do not depend on the threads it gets (the engine's kernels split work the
/// same way for any thread count); its timings do: a job here runs on one core while the
/// other lanes use the rest.
pub fn side_by_side<J: Sync, R: Send>(
    jobs: &[J],
    work: impl Fn(&J) -> Result<R, String> + Sync,
) -> Result<Vec<R>, String> {
    let lanes = rayon::current_num_threads().clamp(1, jobs.len().max(1));
    let work = &work;
    let per_lane: Vec<Result<Vec<R>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..lanes)
            .map(|lane| {
                scope.spawn(move || {
                    let pool = crate::app::thread_pool(Some(1))?;
                    pool.install(|| jobs.iter().skip(lane).step_by(lanes).map(work).collect())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a lane's thread panicked".into()))
            })
            .collect()
    });
    let mut lanes_out = Vec::with_capacity(lanes);
    for lane in per_lane {
        lanes_out.push(lane?.into_iter());
    }
    (0..jobs.len())
        .map(|i| {
            lanes_out[i % lanes]
                .next()
                .ok_or_else(|| "a lane returned fewer results than its jobs".to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_jobs_order_on_single_thread_lanes() {
        let pool = crate::app::thread_pool(Some(2)).unwrap();
        let jobs: Vec<u32> = (0..7).collect();
        let out = pool
            .install(|| side_by_side(&jobs, |&j| Ok((j * 10, rayon::current_num_threads()))))
            .unwrap();
        assert_eq!(
            out.iter().map(|o| o.0).collect::<Vec<_>>(),
            [0, 10, 20, 30, 40, 50, 60]
        );
        assert!(out.iter().all(|o| o.1 == 1), "{out:?}");
    }

    #[test]
    fn the_first_error_in_a_lane_is_returned() {
        let jobs = [1, 2, 3, 4];
        let out = side_by_side(&jobs, |&j| {
            if j == 3 {
                Err(format!("job {j}"))
            } else {
                Ok(j)
            }
        });
        assert_eq!(out.unwrap_err(), "job 3");
    }
}
