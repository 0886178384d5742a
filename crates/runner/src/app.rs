//! What each subcommand does, from parsed flags to files (`main` only parses and exits).

use std::path::PathBuf;
use std::time::Instant;

use crate::cli::{Cli, Command, Common, LabArgs, TrainArgs};
use crate::dataset::{self, Splits};
use crate::figures::grid::ImageGrid;
use crate::lab::{
    Lab, Section, Settings, aae, anomaly, clustering, compression, contractive, features, inpaint,
    pca, sparse, super_res, tp1, tp2, tp3, vae,
};
use crate::report;
use crate::train::{self, Noise, Objective, TrainConfig};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), String> {
    let threads = match &cli.command {
        Command::Tp1(a)
        | Command::Tp2(a)
        | Command::Tp3(a)
        | Command::Vae(a)
        | Command::Aae(a)
        | Command::Sparse(a)
        | Command::Contractive(a)
        | Command::Pca(a)
        | Command::Compression(a)
        | Command::SuperRes(a)
        | Command::Inpaint(a)
        | Command::Anomaly(a)
        | Command::Features(a)
        | Command::Clustering(a)
        | Command::All(a) => a.common.threads,
        Command::Train(t) => t.common.threads,
        Command::Bench(b) => b.threads,
    };
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        pool = pool.num_threads(n);
    }
    let pool = pool.build().map_err(|e| format!("thread pool: {e}"))?;
    pool.install(|| match cli.command {
        Command::Tp1(a) => exercises(&a, &["tp1"], pool_size()),
        Command::Tp2(a) => exercises(&a, &["tp2"], pool_size()),
        Command::Tp3(a) => exercises(&a, &["tp3"], pool_size()),
        Command::Vae(a) => exercises(&a, &["vae"], pool_size()),
        Command::Aae(a) => exercises(&a, &["aae"], pool_size()),
        Command::Sparse(a) => exercises(&a, &["sparse"], pool_size()),
        Command::Contractive(a) => exercises(&a, &["contractive"], pool_size()),
        Command::Pca(a) => exercises(&a, &["pca"], pool_size()),
        Command::Compression(a) => exercises(&a, &["compression"], pool_size()),
        Command::SuperRes(a) => exercises(&a, &["super_res"], pool_size()),
        Command::Inpaint(a) => exercises(&a, &["inpaint"], pool_size()),
        Command::Anomaly(a) => exercises(&a, &["anomaly"], pool_size()),
        Command::Features(a) => exercises(&a, &["features"], pool_size()),
        Command::Clustering(a) => exercises(&a, &["clustering"], pool_size()),
        Command::All(a) => exercises(&a, ALL, pool_size()),
        Command::Train(t) => train_one(&t),
        Command::Bench(_) => crate::bench::run(),
    })
}

/// What `tp all` runs, in the report's order.
const ALL: &[&str] = &[
    "tp1",
    "tp2",
    "tp3",
    "vae",
    "aae",
    "sparse",
    "contractive",
    "pca",
    "compression",
    "super_res",
    "inpaint",
    "anomaly",
    "features",
    "clustering",
];

fn pool_size() -> usize {
    rayon::current_num_threads()
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

/// Runs the named exercises in order; `all` writes `<out>/report.md`, a single exercise
/// `<out>/report-<exercise>.md`.
fn exercises(args: &LabArgs, names: &[&str], threads: usize) -> Result<(), String> {
    let start = Instant::now();
    let splits = load(&args.common)?;
    let settings = Settings {
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
    };
    let mut lab = Lab::new(settings, splits);
    let mut sections: Vec<Section> = Vec::new();
    for name in names {
        println!("== {name}");
        let section = match *name {
            "tp1" => tp1::run(&mut lab),
            "tp2" => tp2::run(&mut lab),
            "tp3" => tp3::run(&mut lab),
            "vae" => vae::run(&mut lab),
            "aae" => aae::run(&mut lab),
            "sparse" => sparse::run(&mut lab),
            "contractive" => contractive::run(&mut lab),
            "pca" => pca::run(&mut lab),
            "compression" => compression::run(&mut lab),
            "super_res" => super_res::run(&mut lab),
            "inpaint" => inpaint::run(&mut lab),
            "anomaly" => anomaly::run(&mut lab),
            "features" => features::run(&mut lab),
            _ => clustering::run(&mut lab),
        }
        .map_err(|e| e.to_string())?;
        sections.push(section);
    }
    let file = if names == ALL {
        "report.md".to_string()
    } else {
        format!("report-{}.md", names[0])
    };
    let path = report::write(
        &lab,
        &sections,
        threads,
        start.elapsed().as_secs_f64(),
        &file,
    )?;
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
    if args.objective.is_some() && !args.model.takes_objective() {
        return Err(format!(
            "--objective does not apply to --model {}: its loss is its own (see tp train --help)",
            args.model.id()
        ));
    }
    let c = &args.common;
    let n_train = match args.exclude_digit {
        Some(d) => splits.train.labels.iter().filter(|&&l| l != d).count(),
        None => splits.train.len(),
    };
    let config = TrainConfig {
        n_train,
        objective: args.objective.unwrap_or(Objective::default_for(args.model)),
        beta: args.beta,
        sparsity: args.sparsity,
        contraction: args.contraction,
        hole: args.hole,
        exclude_digit: args.exclude_digit,
        noise,
        ..TrainConfig::new(
            args.model,
            args.latent,
            c.epochs,
            c.batch_size,
            c.lr,
            c.seed,
            &splits,
        )
    };
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
    let dir = args.common.out.join("train").join(name);
    let mut run = train::train(&config, &splits, &dir, args.common.resume, args.print_tape)
        .map_err(|e| e.to_string())?;
    println!("\n{}", run.summary);
    let count = splits.test.len().min(10);
    let indices: Vec<usize> = (0..count).collect();
    let size: usize = config.model.input_shape().iter().product();
    // The first images only: the whole test set as f32 would be 31 MB.
    let inputs = train::test_inputs_for(&splits.test.first(count), &config);
    let inputs = &inputs[..count * size];
    let corrupted = noise.is_some() || args.hole.is_some() || size != 784;
    let mut grid = ImageGrid::new(28, 28);
    // Low-resolution inputs are shown at 28×28, each pixel as a 2×2 block.
    if size == 784 {
        grid.push_row(inputs);
    } else {
        grid.push_row(&crate::corrupt::upsample_nearest(inputs));
    }
    grid.push_row(&run.reconstruct(inputs));
    if corrupted {
        grid.push_row(splits.test.images(&indices).data());
    }
    let figure = dir.join("reconstructions.png");
    grid.save(&figure)?;
    println!(
        "test MSE {:.5} after {} epochs; {} written (rows: inputs, outputs{})",
        run.test_mse(),
        run.history.len(),
        dir.display(),
        if corrupted { ", clean" } else { "" }
    );
    Ok(())
}
