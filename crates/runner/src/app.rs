//! What each subcommand does, from parsed flags to files (`main` only parses and exits).

use std::path::PathBuf;
use std::time::Instant;

use crate::cli::{Action, Common, LabArgs, PageArgs, TrainArgs};
use crate::data::dataset::{self, Splits};
use crate::experiments::{self, Lab, Settings};
use crate::figures::grid::ImageGrid;
use crate::report::{self, ResultsFile, WallTime};
use crate::train::autoencoder::{Corruption, test_inputs_for};
use crate::train::{
    self, AeConfig, AeRun, Noise, Objective, Options, RunConfig, Schedule, Trainee,
};

/// Runs a parsed command line.
pub fn run(action: Action) -> Result<(), String> {
    let threads = match &action {
        Action::Experiments { args, .. } => args.common.threads,
        Action::Train(t) => t.common.threads,
        Action::Bench(b) => b.threads,
        Action::Page(p) => p.lab.common.threads,
        Action::Report(_) => None,
    };
    // Every kernel runs in the pool, but set the calling thread's mode too, for anything
    // that runs here before or after it.
    tensor::parallel::flush_subnormals();
    thread_pool(threads)?.install(|| match action {
        Action::Experiments { names, all, args } => run_experiments(&args, &names, all),
        Action::Report(r) => {
            let files = report::read_all(&r.out)?;
            let path = report::write(&r.out, &files, "report.md")?;
            println!(
                "report: {} (from {} results files)",
                path.display(),
                files.len()
            );
            Ok(())
        }
        Action::Train(t) => train_one(&t),
        Action::Bench(_) => crate::bench::run(),
        Action::Page(p) => write_page(&p),
    })
}

/// The pool every subcommand runs in: `threads` threads (rayon's default, one per core,
/// if `None`), each flushing subnormal floats to zero from its start
/// ([`tensor::parallel::flush_subnormals`]), so that no thread computes differently from
/// another and none slows down on Adam's decayed moments.
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, String> {
    let mut pool =
        rayon::ThreadPoolBuilder::new().start_handler(|_| tensor::parallel::flush_subnormals());
    if let Some(n) = threads {
        pool = pool.num_threads(n);
    }
    pool.build().map_err(|e| format!("thread pool: {e}"))
}

/// The data folder of `--data`, or the default one; with a description for the report.
fn data_source(common: &Common) -> Result<(PathBuf, String), String> {
    match &common.data {
        Some(dir) if dataset::has_idx_files(dir) => Ok((
            dir.clone(),
            "the MNIST-format folder given with --data".into(),
        )),
        Some(dir) => Err(format!(
            "{}: no MNIST-format dataset here (need train-images-idx3-ubyte, \
             train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each \
             plain or .gz)",
            dir.display()
        )),
        None => {
            let (dir, what) = dataset::default_data_dir();
            if dataset::has_idx_files(&dir) {
                Ok((dir, what))
            } else {
                Err(format!(
                    "{}: the committed MNIST sample is missing (run from the repository \
                     root, or pass --data DIR)",
                    dir.display()
                ))
            }
        }
    }
}

/// `tp page`: the data as the experiments read it, then the page folder.
fn write_page(args: &PageArgs) -> Result<(), String> {
    let splits = load(&args.lab.common)?;
    let line = crate::page::write(args, splits)?;
    println!("{line}");
    Ok(())
}

fn load(common: &Common) -> Result<Splits, String> {
    let (dir, description) = data_source(common)?;
    let splits = Splits::load(&dir, description, common.limit, common.test_limit)?;
    println!(
        "data: {} ({}): {} training, {} test images",
        splits.description,
        dir.display(),
        splits.train.len(),
        splits.test.len()
    );
    Ok(splits)
}

/// The lab's settings from its flags.
pub(crate) fn lab_settings(args: &LabArgs) -> Settings {
    Settings {
        out: args.common.out.clone(),
        epochs: args.common.epochs,
        batch_size: args.common.batch_size,
        lr: args.common.lr,
        seed: args.common.seed,
        latent: args.latent,
        resume: args.common.resume,
        noise: Noise {
            std: args.noise,
            clip: !args.noise_flags.no_clip,
        },
        noise_levels: args.noise_levels.clone(),
        vae_latent: args.vae_latent,
        beta: args.beta,
        sparsity_weights: args.sparsity_weights.clone(),
        contraction: args.contraction,
        hole: args.hole,
        anomaly_digit: args.anomaly_digit,
    }
}

/// Measures the named experiments in order, writing each one's `results.json`, then the
/// report from those results: `<out>/report.md` for `all`, `<out>/report-<name>.md` for one.
fn run_experiments(args: &LabArgs, names: &[&str], all: bool) -> Result<(), String> {
    let start = Instant::now();
    let splits = load(&args.common)?;
    let settings = lab_settings(args);
    let mut lab = Lab::new(settings, splits);
    let mut files = Vec::new();
    for name in names {
        let entry = experiments::find(name).ok_or_else(|| format!("no experiment {name:?}"))?;
        println!("== {name}");
        let began = Instant::now();
        let results = (entry.measure)(&mut lab).map_err(|e| e.to_string())?;
        let file = ResultsFile {
            experiment: entry.name.to_string(),
            lab: lab.info(),
            results,
            timing: WallTime {
                threads: rayon::current_num_threads(),
                seconds: began.elapsed().as_secs_f64(),
            },
        };
        file.write(&lab.settings.out)?;
        files.push(file);
    }
    let report_name = if all {
        "report.md".to_string()
    } else {
        format!("report-{}.md", names[0])
    };
    let path = report::write(&lab.settings.out, &files, &report_name)?;
    println!(
        "report: {} ({:.1} s)",
        path.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `tp train`: one model into `<out>/train/<model>[-noise<σ>][-hole<h>][-no<d>]/`, with a
/// reconstruction grid.
fn train_one(args: &TrainArgs) -> Result<(), String> {
    let splits = load(&args.common)?;
    let noise = args.noise.map(|std| Noise {
        std,
        clip: !args.noise_flags.no_clip,
    });
    if args.objective.is_some() && !args.model.takes_loss() {
        return Err(format!(
            "--objective does not apply to --model {}: its loss is its own (see tp train --help)",
            args.model.id()
        ));
    }
    let c = &args.common;
    let mut model = AeConfig::new(args.model, args.latent);
    model.objective = args.objective.unwrap_or(Objective::default_for(args.model));
    model.beta = args.beta;
    model.sparsity = args.sparsity;
    model.contraction = args.contraction;
    model.corruption.noise = noise;
    model.corruption.hole = args.hole;
    model.exclude_digit = args.exclude_digit;
    model.only_digit = args.only_digit;
    let mut schedule = Schedule::new(c.epochs, c.batch_size, c.lr, c.seed, &splits);
    // What it trains and is tested on, when a digit is left out or kept alone.
    schedule.n_train = AeRun::training_set(&model, &splits).len();
    schedule.n_test = AeRun::test_set(&model, &splits).len();
    let config = RunConfig { model, schedule };
    let mut name = args.model.id().to_string();
    if let Some(n) = noise {
        name += &format!("-noise{}", n.std);
    }
    if let Some(h) = args.hole {
        name += &format!("-hole{h}");
    }
    if let Some(d) = args.exclude_digit {
        name += &format!("-no{d}");
    }
    if let Some(d) = args.only_digit {
        name += &format!("-only{d}");
    }
    let dir = args.common.out.join("train").join(name);
    let options = Options {
        resume: args.common.resume,
        print_tape: args.print_tape,
        ..Options::default()
    };
    let mut run =
        train::train::<AeRun>(&config, &splits, &dir, options).map_err(|e| e.to_string())?;
    println!("\n{}", run.summary);
    let count = splits.test.len().min(10);
    let indices: Vec<usize> = (0..count).collect();
    let corruption: Corruption = config.model.corruption;
    // The first images only: the whole test set as f32 would be 31 MB.
    let inputs = test_inputs_for(&splits.test.first(count), &corruption);
    let mut grid = ImageGrid::new(28, 28);
    // Low-resolution inputs are shown at 28×28, each pixel as a 2×2 block.
    if corruption.downsample {
        grid.push_row(&crate::data::corrupt::upsample_nearest(&inputs));
    } else {
        grid.push_row(&inputs);
    }
    grid.push_row(&run.reconstruct(&inputs));
    if !corruption.is_none() {
        grid.push_row(splits.test.images(&indices).data());
    }
    let figure = dir.join("reconstructions.png");
    grid.save(&figure)?;
    println!(
        "test MSE {:.5} after {} epochs; {} written (rows: inputs, outputs{})",
        run.test_mse(),
        run.history.len(),
        dir.display(),
        if corruption.is_none() { "" } else { ", clean" }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use layers::optim::{Adam, Optimizer};
    use layers::{Graph, Linear, Module};
    use tensor::{Reduction, Tensor, rng};

    /// Subnormal values left after 2,000 Adam steps of a small autoencoder (64-1024-64,
    /// ReLU) whose even hidden units die at step 10 (their bias set to −100, as one large
    /// step can do): in the optimizer's state, and in the last step's values and gradients.
    ///
    /// From step 10 on, the dead units' weights get gradients of exactly zero, so their
    /// Adam moments decay by 0.9 a step: they go subnormal near step 760 and stay (see
    /// [`tensor::parallel::flush_subnormals`]). The first layer's update is split over the
    /// pool's threads, so a worker without the flags would leave some.
    fn subnormals_after_dead_units(pool: &rayon::ThreadPool) -> (usize, usize) {
        pool.install(|| {
            let subnormals = |t: &Tensor| t.data().iter().filter(|v| v.is_subnormal()).count();
            let mut r = rng(0);
            let mut encoder = Linear::new(64, 1024, &mut r);
            let mut decoder = Linear::new(1024, 64, &mut r);
            let mut opt = Adam::new(1e-3);
            let mut in_values = 0;
            for step in 0..2_000 {
                if step == 10 {
                    let bias = encoder.bias.as_mut().unwrap().value.data_mut();
                    bias.iter_mut().step_by(2).for_each(|b| *b = -100.0);
                }
                let mut g = Graph::new();
                let x = g.input(Tensor::uniform(&[16, 64], 0.0, 1.0, &mut r));
                let h = encoder.forward(&mut g, x);
                let h = g.relu(h);
                let y = decoder.forward(&mut g, h);
                let loss = g.mse_loss(y, x, Reduction::Mean);
                let grads = g.backward(loss);
                opt.step(&mut encoder, &grads).unwrap();
                opt.step(&mut decoder, &grads).unwrap();
                in_values = g
                    .tape()
                    .nodes()
                    .iter()
                    .map(|n| subnormals(&n.value))
                    .sum::<usize>()
                    + grads.iter().map(|(_, d)| subnormals(d)).sum::<usize>();
            }
            let in_state = opt
                .state()
                .values()
                .flat_map(|s| s.slots.values())
                .map(subnormals)
                .sum();
            (in_state, in_values)
        })
    }

    #[test]
    fn the_runners_threads_leave_no_subnormal_in_adams_moments_of_dead_units() {
        // The set-up does make them, in a pool with the IEEE default...
        let plain = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let (in_state, _) = subnormals_after_dead_units(&plain);
        assert!(
            in_state > 10_000,
            "only {in_state} subnormal moments without the flags"
        );
        // ...and none in the runner's pool, on any of its threads.
        if cfg!(target_arch = "x86_64") {
            for threads in [1, 2] {
                let (in_state, in_values) =
                    subnormals_after_dead_units(&thread_pool(Some(threads)).unwrap());
                assert_eq!(
                    (in_state, in_values),
                    (0, 0),
                    "subnormal values in the optimizer's state and the last step, {threads} threads"
                );
            }
        }
    }
}
