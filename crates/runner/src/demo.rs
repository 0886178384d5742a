//! The main job until the lab's exercises land: train an autoencoder on an MNIST-format
//! folder, report its parameter table, its training and held-out losses, and save it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use layers::optim::{Adam, Optimizer};
use layers::{Graph, Module, Sequential, Summary};
use rand::seq::SliceRandom;
use tensor::{Reduction, rng};

use crate::dataset::Dataset;

/// What to train and on what.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Folder holding `train-images-idx3-ubyte[.gz]` and `train-labels-idx1-ubyte[.gz]`.
    pub data: PathBuf,
    /// `conv` (the lab's convolutional autoencoder) or `dense` (784-128-K-128-784).
    pub model: String,
    /// Latent size K of the dense model.
    pub latent: usize,
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per step.
    pub batch: usize,
    /// Images held out of training to measure generalisation.
    pub held_out: usize,
    /// Seed of initialisation and shuffling.
    pub seed: u64,
    /// Print the tape of one training step.
    pub print_tape: bool,
    /// Where to write the trained weights (safetensors), if anywhere.
    pub save: Option<PathBuf>,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            data: PathBuf::from("datasets/mnist-sample"),
            model: "conv".into(),
            latent: 32,
            epochs: 2,
            batch: 64,
            held_out: 1000,
            seed: 0,
            print_tape: false,
            save: Some(PathBuf::from("out/demo.safetensors")),
        }
    }
}

/// Mean squared reconstruction error over a whole dataset, without recording.
pub fn evaluate(model: &mut Sequential, data: &Dataset, batch: usize) -> f32 {
    model.eval();
    let mut total = 0.0f64;
    let indices: Vec<usize> = (0..data.len()).collect();
    for chunk in indices.chunks(batch) {
        let mut g = Graph::no_grad();
        let x = g.input(data.images(chunk));
        let y = model.forward(&mut g, x);
        let loss = g.mse_loss(y, x, Reduction::Sum);
        total += g.value(loss).item() as f64;
    }
    model.train();
    (total / (data.len() * data.height * data.width) as f64) as f32
}

/// Runs the demo, printing as it goes; returns the held-out MSE before and after training.
pub fn run(config: &DemoConfig) -> Result<(f32, f32), Box<dyn std::error::Error>> {
    let mut train = Dataset::load(&config.data, "train")?;
    if (train.height, train.width) != (28, 28) {
        return Err(format!(
            "{}: images are {}x{}, the lab's models take 28x28",
            config.data.display(),
            train.height,
            train.width
        )
        .into());
    }
    if train.len() <= config.held_out {
        return Err(format!(
            "{}: {} images, need more than the {} held out",
            config.data.display(),
            train.len(),
            config.held_out
        )
        .into());
    }
    let held_out = train.split_off(config.held_out);
    let mut r = rng(config.seed);
    let mut model = match config.model.as_str() {
        "conv" => models::conv::autoencoder(&mut r),
        "dense" => models::dense::deep_autoencoder(config.latent, &mut r),
        other => return Err(format!("unknown model {other:?}: use conv or dense").into()),
    };
    println!(
        "{} autoencoder, {} training and {} held-out images from {}\n",
        config.model,
        train.len(),
        held_out.len(),
        config.data.display()
    );
    println!("{}", Summary::new(&model, &[config.batch, 1, 28, 28]));

    let initial = evaluate(&mut model, &held_out, 256);
    let mut last = initial;
    println!("before training: held-out MSE {initial:.5}");
    let mut opt = Adam::new(1e-3);
    let mut order: Vec<usize> = (0..train.len()).collect();
    for epoch in 1..=config.epochs {
        order.shuffle(&mut r);
        let start = Instant::now();
        let (mut sum, mut steps) = (0.0f64, 0);
        for batch in order.chunks(config.batch) {
            let mut g = Graph::new();
            let x = g.input(train.images(batch));
            let y = model.forward(&mut g, x);
            let loss = g.mse_loss(y, x, Reduction::Mean);
            if config.print_tape && epoch == 1 && steps == 0 {
                println!("The tape of one training step:\n{}", g.tape().dump());
            }
            let grads = g.backward(loss);
            opt.step(&mut model, &grads);
            sum += g.value(loss).item() as f64;
            steps += 1;
        }
        let seconds = start.elapsed().as_secs_f64();
        last = evaluate(&mut model, &held_out, 256);
        println!(
            "epoch {epoch}: train MSE {:.5}, held-out MSE {last:.5}, {seconds:.2} s ({:.2} ms/step)",
            sum / steps as f64,
            1e3 * seconds / steps as f64
        );
    }
    if let Some(path) = &config.save {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        layers::io::save(path, &model)?;
        println!("weights written to {}", path.display());
    }
    Ok((initial, last))
}

/// Whether `path` looks like a folder of IDX files (for friendlier errors).
pub fn has_idx_files(path: &Path) -> bool {
    ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"]
        .iter()
        .any(|f| path.join(f).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-sample")
    }

    #[test]
    fn both_models_learn_on_the_sample() {
        for model in ["dense", "conv"] {
            let config = DemoConfig {
                data: sample(),
                model: model.into(),
                epochs: 1,
                held_out: 8000,
                save: None,
                ..DemoConfig::default()
            };
            let (before, after) = run(&config).unwrap();
            assert!(
                after < 0.6 * before,
                "{model}: held-out MSE {before} -> {after}"
            );
        }
    }

    /// Three Adam steps of the conv autoencoder give the same weights, bit for bit, in
    /// rayon pools of one and of two threads.
    #[test]
    fn training_is_bitwise_identical_for_one_and_two_threads() {
        let data = Dataset::load(&sample(), "train").unwrap();
        let train = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut model = models::conv::autoencoder(&mut rng(3));
                let mut opt = Adam::new(1e-3);
                for step in 0..3 {
                    let batch: Vec<usize> = (step * 64..(step + 1) * 64).collect();
                    let mut g = Graph::new();
                    let x = g.input(data.images(&batch));
                    let y = model.forward(&mut g, x);
                    let loss = g.mse_loss(y, x, Reduction::Mean);
                    let grads = g.backward(loss);
                    opt.step(&mut model, &grads);
                }
                model.state_dict()
            })
        };
        let (one, two) = (train(1), train(2));
        for ((name, a), (_, b)) in one.iter().zip(&two) {
            let bits =
                |t: &tensor::Tensor| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert!(bits(a) == bits(b), "{name} differs between 1 and 2 threads");
        }
    }

    #[test]
    fn bad_data_and_model_are_errors() {
        let missing = DemoConfig {
            data: "/nonexistent".into(),
            ..DemoConfig::default()
        };
        assert!(
            run(&missing)
                .unwrap_err()
                .to_string()
                .contains("/nonexistent")
        );
        let unknown = DemoConfig {
            data: sample(),
            model: "gan".into(),
            save: None,
            ..DemoConfig::default()
        };
        assert!(
            run(&unknown)
                .unwrap_err()
                .to_string()
                .contains("unknown model")
        );
    }
}
