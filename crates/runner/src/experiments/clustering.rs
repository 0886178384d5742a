//! Clustering without labels: the adversarial autoencoder with a 16-way categorical code
//! (Makhzani et al. 2015, section 6), against k-means with 16 clusters on the pixels and on
//! a plain autoencoder's codes; the error of each on the test set, every cluster labelled
//! with its majority digit.

use std::time::Instant;

use layers::Module as _;
use layers::summary::thousands;
use models::aae_clusters::{ClusterAae, ClusterOptimizers, STYLE};
use rand::seq::SliceRandom;
use tensor::{Tensor, rng};

use crate::report::markdown::{count, table};
use super::{Lab, Section, Timing, tp1};
use crate::instruments::cluster::{assign, cluster_error, kmeans};
use crate::fsutil::write_atomic;
use crate::train::TrainError;
use crate::zoo::ModelKind;

/// The experiment's folder name.
pub const NAME: &str = "clustering";

/// Clusters, as in the paper's MNIST experiment.
pub const CLUSTERS: usize = 16;

/// Lloyd iterations at most for k-means.
const KMEANS_ITERATIONS: usize = 100;

/// Trains the categorical AAE (`<out>/clustering/aae_cat16/`), runs k-means, returns the
/// section.
pub fn run(lab: &mut Lab) -> Result<Section, TrainError> {
    let s = lab.settings.clone();
    let train = &lab.splits.train;
    let n_train = train.len();
    let dir = lab.exercise_dir(NAME).join("aae_cat16");
    let mut r = rng(s.seed);
    let mut model = ClusterAae::new(CLUSTERS, &mut r);
    let mut opts = ClusterOptimizers::new(s.lr as f32);
    let mut csv =
        String::from("epoch,reconstruction_bce,discriminators_loss,generator_loss,seconds\n");
    let mut seconds = Vec::new();
    for epoch in 1..=s.epochs {
        model.train();
        let mut order: Vec<usize> = (0..n_train).collect();
        order.shuffle(&mut r);
        let start = Instant::now();
        let (mut rec, mut disc, mut generator, mut steps) = (0.0f64, 0.0f64, 0.0f64, 0usize);
        for (step, batch) in order.chunks(s.batch_size).enumerate() {
            let l = model
                .train_step(&mut opts, &train.images(batch), &mut r)
                .expect("every part of the model is on its phase's tape");
            if !(l.reconstruction.is_finite() && l.discriminators.is_finite()) {
                return Err(TrainError::NonFinite {
                    epoch,
                    step: step + 1,
                    dir: dir.clone(),
                });
            }
            rec += l.reconstruction as f64;
            disc += l.discriminators as f64;
            generator += l.generator as f64;
            steps += 1;
        }
        let secs = start.elapsed().as_secs_f64();
        seconds.push(secs);
        let steps = steps.max(1) as f64;
        println!(
            "{:>14} epoch {epoch:>2}/{}: BCE {:.4}, D {:.3}, G {:.3}, {secs:.2} s",
            "aae_cat16",
            s.epochs,
            rec / steps,
            disc / steps,
            generator / steps
        );
        csv += &format!(
            "{epoch},{:.8},{:.8},{:.8},{secs:.3}\n",
            rec / steps,
            disc / steps,
            generator / steps
        );
        write_atomic(&dir.join("metrics.csv"), csv.as_bytes())?;
    }
    layers::io::save(dir.join("model.safetensors"), &model).map_err(|e| e.to_string())?;
    let config = serde_json::json!({
        "model": "aae_categorical",
        "clusters": CLUSTERS,
        "style": STYLE,
        "epochs": s.epochs,
        "batch_size": s.batch_size,
        "lr": s.lr,
        "seed": s.seed,
        "data": lab.splits.dir.display().to_string(),
        "n_train": n_train,
        "command": std::env::args().collect::<Vec<_>>(),
    });
    write_atomic(
        &dir.join("config.json"),
        serde_json::to_string_pretty(&config)
            .expect("json")
            .as_bytes(),
    )?;
    model.eval();

    let test = lab.splits.test.all_images();
    let n_test = lab.splits.test.len();
    let labels = lab.splits.test.labels.clone();
    let aae_clusters = model.assign(&test);
    let used = {
        let mut seen = [false; CLUSTERS];
        aae_clusters.iter().for_each(|&c| seen[c] = true);
        seen.iter().filter(|&&b| b).count()
    };
    // k-means on the pixels and on the deep dense autoencoder's codes, fitted on the
    // training set like the AAE.
    let train_images = train.all_images();
    let pixels_train = train_images.reshape(&[n_train, 784]);
    let pixels_test = test.reshape(&[n_test, 784]);
    // As many clusters as there are training images, at most CLUSTERS (a tiny --limit).
    let k = CLUSTERS.min(n_train);
    let centroids = kmeans(&pixels_train, k, KMEANS_ITERATIONS, s.seed);
    let pixel_clusters = assign(&pixels_test, &centroids);
    let run = lab.ensure(
        tp1::NAME,
        ModelKind::Dense2Relu.id(),
        ModelKind::Dense2Relu,
        None,
    )?;
    let timings = vec![
        Timing::of(run),
        Timing {
            run: "aae_cat16".into(),
            epochs_trained: s.epochs,
            seconds_per_epoch: seconds.iter().sum::<f64>() / seconds.len().max(1) as f64,
        },
    ];
    let dim = ModelKind::Dense2Relu.code_size(run.config.latent);
    let codes_train = Tensor::from_vec(&[n_train, dim], run.codes(train_images.data()));
    let codes_test = Tensor::from_vec(&[n_test, dim], run.codes(test.data()));
    let code_centroids = kmeans(&codes_train, k, KMEANS_ITERATIONS, s.seed);
    let code_clusters = assign(&codes_test, &code_centroids);
    let results = [
        (
            "adversarial autoencoder, categorical code".to_string(),
            cluster_error(&aae_clusters, &labels, CLUSTERS),
        ),
        (
            "k-means on the pixels".to_string(),
            cluster_error(&pixel_clusters, &labels, k),
        ),
        (
            format!("k-means on the deep dense autoencoder's {dim}-value codes"),
            cluster_error(&code_clusters, &labels, k),
        ),
    ];
    // Ten test images of each AAE cluster, one row per cluster.
    let mut rows = Vec::new();
    for c in 0..CLUSTERS {
        let members: Vec<usize> = (0..n_test)
            .filter(|&i| aae_clusters[i] == c)
            .take(10)
            .collect();
        if !members.is_empty() {
            rows.push(lab.splits.test.images(&members).into_data());
        }
    }
    let figure = lab.save_grid(NAME, "clusters.png", &rows)?;

    let mut body = String::from("## Clustering\n\n");
    body += &format!(
        "> The adversarial autoencoder with a categorical code (Makhzani et al. 2015, section \
         6: 16 clusters), unsupervised; clustering error on the test set (each cluster \
         labelled with its majority digit), against k-means on pixels and on a plain \
         autoencoder's codes.\n\n\
         The encoder (784-256-256) ends in two heads: a softmax over {CLUSTERS} clusters, y, \
         and a {STYLE}-value style code, z; the decoder redraws the image from [y, z]. One \
         discriminator pushes y towards one-hot samples of a uniform categorical prior, \
         another z towards N(0, I) (the cluster discriminator also sees the batch's mean y, so \
         that sending every image to one cluster is caught; the adversarial phases at a fifth \
         of the reconstruction's learning rate); trained {} without labels on the {} training images \
         (reconstruction, both discriminators, then the encoder against both, each step; \
         {} parameters). k-means: k-means++ seeding, at most {KMEANS_ITERATIONS} Lloyd \
         iterations, fitted on the training set. Every method then assigns the {} test images \
         to clusters; each cluster is labelled with the digit most of its test images are, \
         and the error is the share of images whose digit is not their cluster's.\n\n",
        count(s.epochs, "epoch"),
        thousands(n_train as u64),
        thousands(model.num_parameters() as u64),
        thousands(n_test as u64),
    );
    body += &table(
        &["clusters from", "test error"],
        &results
            .iter()
            .map(|(w, e)| vec![w.to_string(), format!("{:.1}%", 100.0 * e)])
            .collect::<Vec<_>>(),
    );
    let best = results
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("three methods");
    body += &format!(
        "\nThe lowest error is that of {}, {:.1}%. The AAE uses {used} of its {CLUSTERS} \
         clusters on the test set. (Makhzani et al. report 9.55% with 16 clusters on the full \
         MNIST after far longer training; here the game has {} on {} images.)\n\n",
        best.0,
        100.0 * best.1,
        count(s.epochs, "epoch"),
        thousands(n_train as u64),
    );
    body += &format!("![ten test images per cluster]({figure})\n\n");
    body += "*One row per cluster of the adversarial autoencoder: its first ten test images \
             (clusters with no test image are left out).*\n\n";
    Ok(Section { body, timings })
}
