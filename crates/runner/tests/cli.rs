//! `tp` end to end, as a user runs it: the whole lab on a few hundred images, the files it
//! writes, bad input, and reproducibility across thread counts.

use std::path::{Path, PathBuf};
use std::process::Command;

fn tp() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tp"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    c
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tp-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `tp all` on 300 training and 200 test images for one epoch into `out`, on
/// `threads` threads (set through rayon's variable, so that the command line, which
/// `config.json` records, is the same whatever the count).
fn tiny_all(out: &Path, threads: &str) -> String {
    let output = tp()
        .env("RAYON_NUM_THREADS", threads)
        .args([
            "all",
            "--epochs",
            "1",
            "--limit",
            "300",
            "--test-limit",
            "200",
        ])
        .args(["--noise-levels", "0.3,0.5", "--out"])
        .arg(out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "tp all failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
    (reader.info().width, reader.info().height)
}

#[test]
fn all_writes_the_report_its_figures_and_every_runs_files() {
    let out = scratch("all");
    let stdout = tiny_all(&out, "2");
    assert!(stdout.contains("committed MNIST sample"), "{stdout}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for needle in [
        "## Exercise 1",
        "## Exercise 2",
        "## Exercise 3",
        "## Timings",
        "300 training images, 200 test images",
        "101,200",
        "218,192",
        "210,369",
        "4,385",
        "(tp1/reconstructions.png)",
        "(tp2/losses.svg)",
        "## Translations",
        "MSE 4 px / 0 px",
        "(translation/mse_vs_shift.svg)",
        "(translation/moved.png)",
        "(tp3/denoising.png)",
        "SSIM",
        "## Variational autoencoders",
        "807,700",
        "20,549",
        "test −ELBO",
        "(vae/manifold.png)",
        "(vae/means-vae.svg)",
        "(vae/interpolations.png)",
        "## Adversarial autoencoders",
        "MMD²",
        "(aae/codes-aae_mixture_conditional.svg)",
        "(aae/conditional.png)",
        "## Sparse autoencoder",
        "402,448",
        "(sparse/features-l1_0.001.png)",
        "## Contractive autoencoder",
        "‖J‖²_F",
        "## PCA, the linear baseline",
        "(pca/components.png)",
        "5-NN accuracy",
        "(pca/plane-ae.svg)",
        "## Compression",
        "bits / image",
        "(compression/quantized.png)",
        "## Super-resolution",
        "bilinear upsampling",
        "(super_res/super_res.png)",
        "## Inpainting",
        "MSE inside the holes",
        "(inpaint/inpainting.png)",
        "## Anomaly detection",
        "ROC-AUC",
        "(anomaly/extremes.png)",
        "## Features and pre-training",
        "pre-trained encoder",
        "## Clustering",
        "k-means on the pixels",
        "(clustering/clusters.png)",
        "(clustering/clusters_self_augmented.png)",
        "(clustering/game.svg)",
        "Why this is hard, measured.",
        "What finds the digits: a self-augmented cluster head, measured.",
        "## Semi-supervised classification",
        "the same encoder, labelled images alone",
    ] {
        assert!(report.contains(needle), "report.md lacks {needle:?}");
    }
    // Every linked figure exists and is a sensible picture: 10 tiles of 84 px and gaps.
    for (grid, rows) in [
        ("tp1/reconstructions.png", 4),
        ("tp2/reconstructions.png", 4),
        ("tp3/denoising.png", 3),
        ("vae/samples.png", 4),
        ("vae/interpolations.png", 8),
        ("aae/samples.png", 3),
        ("aae/conditional.png", 10),
        ("compression/quantized.png", 7),
        ("super_res/super_res.png", 4),
        ("inpaint/inpainting.png", 3),
        ("anomaly/extremes.png", 2),
    ] {
        let (w, h) = png_size(&out.join(grid));
        assert_eq!(w, (10 * 30 + 2) * 3, "{grid}");
        assert_eq!(h, (rows * 30 + 2) * 3, "{grid}");
    }
    // One image moved 0 to 4 px, and the five models' reconstructions under it.
    assert_eq!(
        png_size(&out.join("translation/moved.png")),
        ((5 * 30 + 2) * 3, (6 * 30 + 2) * 3)
    );
    // Square grids: the VAE's 20×20 manifold and the sparse model's 16×16 features.
    for (grid, side) in [
        ("vae/manifold.png", 20),
        ("sparse/features-l1_0.png", 16),
        ("sparse/features-l1_0.001.png", 16),
    ] {
        let size = (side * 30 + 2) * 3;
        assert_eq!(png_size(&out.join(grid)), (size, size), "{grid}");
    }
    // Scatter plots: one point per test code drawn (200 here), ten digits in the legend.
    for chart in [
        "vae/means-vae.svg",
        "vae/means-conv_vae.svg",
        "aae/codes-aae_gaussian.svg",
        "aae/codes-ae_plain.svg",
    ] {
        let svg = std::fs::read_to_string(out.join(chart)).unwrap();
        assert!(svg.contains("digit 9") && svg.contains("z₁"), "{chart}");
        assert!(svg.matches("<circle").count() >= 200, "{chart}");
    }
    for (chart, axis, legend) in [
        ("tp1/losses.svg", "epoch", "test"),
        ("tp2/losses.svg", "epoch", "test"),
        ("tp3/losses.svg", "epoch", "test"),
        ("vae/elbo.svg", "epoch", "conv VAE"),
        ("aae/game.svg", "epoch", "discriminator"),
        ("pca/mse_vs_k.svg", "code size K", "PCA"),
        ("anomaly/roc.svg", "false positive rate", "AUC"),
        ("anomaly/one-class-losses.svg", "epoch", "digit 9"),
    ] {
        let svg = std::fs::read_to_string(out.join(chart)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{chart}"
        );
        assert!(
            svg.contains(axis) && svg.contains(legend),
            "{chart}: axis or legend missing"
        );
        assert!(svg.len() > 2_000, "{chart}: {} bytes", svg.len());
    }
    for run in [
        "tp1/dense1_none",
        "tp1/dense1_relu",
        "tp1/dense2_relu",
        "tp2/conv",
        "tp2/conv_pool",
        "tp3/denoise_conv",
        "vae/vae",
        "vae/conv_vae",
        "sparse/l1_0",
        "sparse/l1_0.001",
        "contractive/lambda_0",
        "contractive/lambda_0.03",
        "pca/dense1_none_k8",
        "super_res/super_res",
        "inpaint/inpaint_conv",
        "anomaly/conv_no9",
        "anomaly/vae_no9",
    ] {
        let dir = out.join(run);
        let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0], "epoch,train_mse,test_mse,train_objective,seconds",
            "{run}"
        );
        assert_eq!(lines.len(), 2, "{run}: one line per epoch");
        let fields: Vec<f64> = lines[1].split(',').map(|f| f.parse().unwrap()).collect();
        assert_eq!(fields[0], 1.0);
        assert!(
            fields[1] > 0.0 && fields[1] < 0.5,
            "{run}: train loss {}",
            fields[1]
        );
        assert!(
            fields[2] > 0.0 && fields[2] < 0.5,
            "{run}: test loss {}",
            fields[2]
        );
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(config["seed"], 0, "{run}");
        assert_eq!(config["epochs"], 1, "{run}");
        if run.starts_with("anomaly") {
            // Every digit but the held-out 9.
            assert_eq!(config["exclude_digit"], 9, "{run}");
            assert!(config["n_train"].as_u64().unwrap() < 300, "{run}");
        } else {
            assert_eq!(config["n_train"], 300, "{run}");
        }
        assert!(config.get("only_digit").is_none(), "{run}: one digit only?");
        assert!(
            config.get("threads").is_none(),
            "{run}: threads are no setting"
        );
        assert!(config["command"].to_string().contains("--limit"), "{run}");
        assert!(
            std::fs::read_to_string(dir.join("summary.txt"))
                .unwrap()
                .contains("Total params")
        );
        assert!(
            std::fs::metadata(dir.join("model.safetensors"))
                .unwrap()
                .len()
                > 1_000
        );
        assert!(dir.join("checkpoint/checkpoint.json").exists(), "{run}");
    }
    // Anomaly detection's one-class runs: one digit's images, twice the lab's epochs at three
    // times its learning rate for each of three seeds, or the lab's schedule (`_lab`).
    for (run, digit, epochs, lr) in [
        ("anomaly/conv_only0_seed0", 0, 2, 0.003),
        ("anomaly/conv_only9_seed2", 9, 2, 0.003),
        ("anomaly/vae_only4_seed1", 4, 2, 0.003),
        ("anomaly/conv_only7_lab", 7, 1, 0.001),
    ] {
        let dir = out.join(run);
        let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        assert_eq!(csv.lines().count(), epochs + 1, "{run}: one line per epoch");
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(config["only_digit"], digit, "{run}");
        assert_eq!(config["epochs"], epochs, "{run}");
        assert!((config["lr"].as_f64().unwrap() - lr).abs() < 1e-12, "{run}");
        let (n_train, n_test) = (
            config["n_train"].as_u64().unwrap(),
            config["n_test"].as_u64().unwrap(),
        );
        assert!(
            n_train > 0 && n_train < 100,
            "{run}: {n_train} training images"
        );
        assert!(n_test > 0 && n_test < 100, "{run}: {n_test} test images");
    }
    assert!(report.contains("### One digit as the normal class"));
    assert!(report.contains("(anomaly/one-class-losses.svg)"));
    let denoise: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("tp3/denoise_conv/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(denoise["corruption"]["noise"]["std"], 0.5);
    assert_eq!(denoise["corruption"]["noise"]["clip"], true);
    // The categorical AAEs: every seed of each cluster count with the self-augmented cluster
    // head, the AAE alone, the paper's soft code and the digits-as-code yardstick once (the
    // self-augmented head with the critic kept is quoted, not trained); the semi-supervised
    // runs (self-augmented on every seed, the AAE alone and its released arm, branched from
    // the checkpoint it kept, on the first) with their labels-only twins.
    for run in [
        "clustering/aae_selfaug16_s0",
        "clustering/aae_selfaug16_s2",
        "clustering/aae_selfaug30_s1",
        "clustering/aae_gumbel16_s0",
        "clustering/aae_gumbel30_s0",
        "clustering/aae_digits16_s0",
        "clustering/aae_soft16_s0",
        "semisupervised/aae_100_s0",
        "semisupervised/selfaug_100_s2",
        "semisupervised/labels_only_100_s2",
        "semisupervised/released_100_s0",
    ] {
        let dir = out.join(run);
        for file in [
            "metrics.csv",
            "model.safetensors",
            "checkpoint/checkpoint.json",
        ] {
            assert!(dir.join(file).exists(), "{run}/{file}");
        }
    }
    // Ten runs, no more: six self-augmented, two alone, the soft code, the yardstick.
    let mut runs: Vec<String> = std::fs::read_dir(out.join("clustering"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("aae_"))
        .collect();
    runs.sort();
    assert_eq!(
        runs,
        [
            "aae_digits16_s0",
            "aae_gumbel16_s0",
            "aae_gumbel30_s0",
            "aae_selfaug16_s0",
            "aae_selfaug16_s1",
            "aae_selfaug16_s2",
            "aae_selfaug30_s0",
            "aae_selfaug30_s1",
            "aae_selfaug30_s2",
            "aae_soft16_s0",
        ]
    );
    assert!(
        out.join("semisupervised/aae_100_s0/checkpoint-epoch1/checkpoint.json")
            .exists()
    );
    let metrics =
        std::fs::read_to_string(out.join("clustering/aae_gumbel16_s0/metrics.csv")).unwrap();
    assert!(
        metrics.starts_with("epoch,reconstruction_bce,discriminators_loss,generator_loss,supervised_loss,test_error,clusters_used,test_bce,"),
        "{metrics}"
    );
    // Every experiment left its results, and `tp report` writes the same report from them
    // alone.
    for entry in tp_runner::experiments::EXPERIMENTS {
        assert!(
            out.join(entry.name).join("results.json").exists(),
            "{}",
            entry.name
        );
    }
    std::fs::remove_file(out.join("report.md")).unwrap();
    let o = tp().args(["report", "--out"]).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(out.join("report.md")).unwrap(),
        report
    );
    // The adversarial runs: their own metrics, every loss finite and positive.
    for run in [
        "aae_gaussian",
        "aae_mixture",
        "aae_uniform",
        "aae_mixture_conditional",
    ] {
        let csv = std::fs::read_to_string(out.join("aae").join(run).join("metrics.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "epoch,reconstruction_bce,discriminator_loss,generator_loss,test_mse,seconds"
        );
        let fields: Vec<f64> = lines[1].split(',').map(|f| f.parse().unwrap()).collect();
        assert!(
            fields[1..5].iter().all(|v| v.is_finite() && *v > 0.0),
            "{run}: {fields:?}"
        );
        assert!(out.join("aae").join(run).join("model.safetensors").exists());
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// A JSON value without the fields that hold wall times.
fn without_times(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for key in ["seconds", "seconds_per_epoch", "timing"] {
                map.remove(key);
            }
            map.values_mut().for_each(without_times);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_times),
        _ => {}
    }
}

/// The contents of the file `file` of the output folder `out`, timings aside and the
/// folder's own name (which `config.json` quotes in its command line) replaced.
fn timeless(out: &Path, file: &Path) -> Vec<u8> {
    let path = out.join(file);
    let bytes = std::fs::read(&path).unwrap();
    let bytes = match String::from_utf8(bytes) {
        Ok(text) => text
            .replace(&out.display().to_string(), "<out>")
            .into_bytes(),
        Err(e) => e.into_bytes(),
    };
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    if name == "metrics.csv" {
        // The last column is the epoch's seconds.
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<String> = text
            .lines()
            .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head).to_string())
            .collect();
        return lines.join("\n").into_bytes();
    }
    if name.ends_with(".json") {
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        without_times(&mut v);
        return v.to_string().into_bytes();
    }
    if name.ends_with(".md") {
        let text = String::from_utf8(bytes).unwrap();
        return tp_runner::report::without_timings(&text)
            .as_bytes()
            .to_vec();
    }
    bytes
}

#[test]
fn every_file_is_the_same_for_one_and_two_threads_timings_aside() {
    let (one, two) = (scratch("threads1"), scratch("threads2"));
    tiny_all(&one, "1");
    tiny_all(&two, "2");
    let report = std::fs::read_to_string(one.join("report.md")).unwrap();
    assert!(report.len() > 5_000);
    let files = files_under(&one);
    assert_eq!(files, files_under(&two), "the two runs wrote other files");
    // Weights, optimizer states, figures, configurations, metrics, results, the report.
    for needle in [
        "optimizer-epoch1.safetensors",
        "results.json",
        ".png",
        ".svg",
    ] {
        assert!(
            files.iter().any(|f| f.to_string_lossy().contains(needle)),
            "no {needle} file"
        );
    }
    for file in &files {
        if file.file_name().unwrap() == ".lock" {
            continue;
        }
        assert!(
            timeless(&one, file) == timeless(&two, file),
            "{} differs between 1 and 2 threads",
            file.display()
        );
    }
    std::fs::remove_dir_all(&one).unwrap();
    std::fs::remove_dir_all(&two).unwrap();
}

#[test]
fn bad_input_is_a_clear_error_and_a_nonzero_exit() {
    let out = scratch("bad");
    let run = |args: &[&str]| {
        let o = tp().args(args).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, err) = run(&[
        "tp1",
        "--data",
        "/nonexistent",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("/nonexistent") && err.contains("no MNIST-format dataset"),
        "{err}"
    );

    let (code, err) = run(&["all", "--batch-size", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("at least 1"), "{err}");

    // A data folder whose label file holds a 200.
    let data = scratch("bad-data");
    std::fs::create_dir_all(&data).unwrap();
    let idx = |dims: &[u32], body: &[u8]| {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        dims.iter()
            .for_each(|d| b.extend_from_slice(&d.to_be_bytes()));
        b.extend_from_slice(body);
        b
    };
    for prefix in ["train", "t10k"] {
        std::fs::write(
            data.join(format!("{prefix}-images-idx3-ubyte")),
            idx(&[2, 28, 28], &[0; 1568]),
        )
        .unwrap();
        std::fs::write(
            data.join(format!("{prefix}-labels-idx1-ubyte")),
            idx(&[2], &[3, 200]),
        )
        .unwrap();
    }
    let (code, err) = run(&[
        "tp1",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("train-labels-idx1-ubyte") && err.contains("label 200"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    std::fs::remove_dir_all(&data).unwrap();
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_checkpoint_holding_a_nan_is_refused_at_resume_naming_its_file() {
    let out = scratch("nan");
    let base = [
        "train",
        "--model",
        "dense1-none",
        "--limit",
        "256",
        "--test-limit",
        "100",
    ];
    let ok = tp()
        .args(base)
        .args(["--epochs", "1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(ok.status.success());
    // Poison the checkpoint's weights, as a diverged update would, then resume.
    let ckpt_dir = out.join("train/dense1_none/checkpoint");
    let weights = ckpt_dir.join("model-epoch1.safetensors");
    let contents = layers::io::read_tensors(&weights).unwrap();
    let poisoned: Vec<(String, tensor::Tensor)> = contents
        .tensors
        .iter()
        .map(|(name, s)| (name.clone(), s.tensor.map(|_| f32::NAN)))
        .collect();
    let refs: Vec<(String, &tensor::Tensor, bool)> = poisoned
        .iter()
        .map(|(n, t)| (n.clone(), t, false))
        .collect();
    layers::io::write_tensors(&weights, &refs, contents.metadata).unwrap();
    let o = tp()
        .args(base)
        .args(["--epochs", "3", "--resume", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&weights.display().to_string()) && err.contains("NaN or an infinity"),
        "{err}"
    );
    let json = std::fs::read_to_string(ckpt_dir.join("checkpoint.json")).unwrap();
    assert!(json.contains("\"epoch\": 1,"), "{json}");
    std::fs::remove_dir_all(&out).unwrap();
}

/// Waits until the run folder's lock names `pid`.
fn wait_for_lock(lock: &Path, pid: u32) {
    let start = std::time::Instant::now();
    while std::fs::read_to_string(lock).ok().as_deref() != Some(pid.to_string().as_str()) {
        assert!(
            start.elapsed().as_secs() < 60,
            "{} never named {pid}",
            lock.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_second_writer_is_refused_and_a_killed_writer_does_not_block_resume() {
    let out = scratch("lock");
    let train = |epochs: &str| {
        let mut c = tp();
        c.args(["train", "--model", "conv", "--test-limit", "100"])
            .args(["--epochs", epochs, "--out"])
            .arg(&out);
        c
    };
    let lock = out.join("train/conv/.lock");
    let mut first = train("5")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_lock(&lock, first.id());
    let second = train("5").output().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&out.join("train/conv").display().to_string())
            && err.contains(&format!("process {}", first.id()))
            && err.contains("is writing this run folder"),
        "{err}"
    );
    // kill -9 the writer: its lock dies with it, and --resume goes on.
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(lock.exists());
    // Resume to the epoch it had reached (or train one, if it had finished none).
    let reached = std::fs::read_to_string(out.join("train/conv/checkpoint/checkpoint.json"))
        .ok()
        .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
        .and_then(|j| j["epoch"].as_u64())
        .unwrap_or(1);
    let resumed = train(&reached.to_string())
        .arg("--resume")
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    std::fs::remove_dir_all(&out).unwrap();
}
