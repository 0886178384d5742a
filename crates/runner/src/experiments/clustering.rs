//! Clustering without labels: the adversarial autoencoder with a 16-way categorical code
//! (Makhzani et al. 2015, section 6), against k-means with 16 clusters on the pixels and on
//! a plain autoencoder's codes; the error of each on the test set, every cluster labelled
//! with its majority digit.

use layers::Module as _;
use layers::summary::thousands;
use models::ModelKind;
use models::aae_clusters::STYLE;
use serde::{Deserialize, Serialize};
use tensor::Tensor;

use super::{Experiment, Lab, LabInfo, Section, Timing, tp1};
use crate::instruments::cluster::{assign, cluster_error, kmeans};
use crate::report::markdown::{count, table};
use crate::train::clustering::{ClusterConfig, ClusterRun};
use crate::train::{RunConfig, TrainError};

/// Clustering without labels.
pub struct Clustering;

/// Clusters, as in the paper's MNIST experiment.
pub const CLUSTERS: usize = 16;

/// Lloyd iterations at most for k-means.
const KMEANS_ITERATIONS: usize = 100;

/// What the clustering experiment measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The categorical AAE's clusters.
    pub clusters: usize,
    /// Values of its style code.
    pub style: usize,
    /// Its parameters.
    pub parameters: usize,
    /// Lloyd iterations at most for k-means.
    pub kmeans_iterations: usize,
    /// The test error of each method: the AAE, k-means on the pixels, k-means on the codes.
    pub methods: Vec<Method>,
    /// Clusters of the AAE that hold at least one test image.
    pub used: usize,
    /// Ten test images per AAE cluster.
    pub figure: String,
    /// The figure's rows, top to bottom: the clusters that hold a test image.
    #[serde(default)]
    pub rows: Vec<ClusterRow>,
    /// The timings of the runs used: the deep dense autoencoder, then the AAE.
    pub timings: Vec<Timing>,
}

/// One cluster of the AAE, as a row of the figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterRow {
    /// The cluster's index.
    pub cluster: usize,
    /// Test images assigned to it.
    pub size: usize,
    /// The digit most of them are.
    pub digit: u8,
    /// The share of its test images that are that digit.
    pub share: f64,
}

/// One way of clustering and its test error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Method {
    /// What the clusters come from, in a phrase.
    pub name: String,
    /// Share of test images whose digit is not their cluster's majority digit.
    pub error: f64,
}

impl Experiment for Clustering {
    const NAME: &'static str = "clustering";
    const ABOUT: &'static str =
        "Clustering without labels: a categorical adversarial autoencoder against k-means";
    type Results = Results;

    fn measure(lab: &mut Lab) -> Result<Results, TrainError> {
        let seed = lab.settings.seed;
        let config = RunConfig {
            model: ClusterConfig::new(CLUSTERS),
            schedule: lab.schedule(),
        };
        let dir = lab.exercise_dir(Self::NAME).join("aae_cat16");
        let mut aae = crate::train::train::<ClusterRun>(&config, &lab.splits, &dir, lab.options())?;

        let train = &lab.splits.train;
        let n_train = train.len();
        let test = lab.splits.test.all_images();
        let n_test = lab.splits.test.len();
        let labels = lab.splits.test.labels.clone();
        let aae_clusters = aae.trainee.model.assign(&test);
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
        let centroids = kmeans(&pixels_train, k, KMEANS_ITERATIONS, seed);
        let pixel_clusters = assign(&pixels_test, &centroids);
        let kind = ModelKind::Dense2Relu;
        let run = lab.ensure(tp1::Exercise1::NAME, kind.id(), kind, None)?;
        let timings = vec![Timing::of(run), Timing::of(&aae)];
        let dim = run.code_size();
        let codes_train = Tensor::from_vec(&[n_train, dim], run.codes(train_images.data()));
        let codes_test = Tensor::from_vec(&[n_test, dim], run.codes(test.data()));
        let code_centroids = kmeans(&codes_train, k, KMEANS_ITERATIONS, seed);
        let code_clusters = assign(&codes_test, &code_centroids);
        let methods = vec![
            Method {
                name: "adversarial autoencoder, categorical code".into(),
                error: cluster_error(&aae_clusters, &labels, CLUSTERS),
            },
            Method {
                name: "k-means on the pixels".into(),
                error: cluster_error(&pixel_clusters, &labels, k),
            },
            Method {
                name: format!("k-means on the deep dense autoencoder's {dim}-value codes"),
                error: cluster_error(&code_clusters, &labels, k),
            },
        ];
        // Ten test images of each AAE cluster, one row per cluster, and what each row is.
        let mut rows = Vec::new();
        let mut cluster_rows = Vec::new();
        for c in 0..CLUSTERS {
            let members: Vec<usize> = (0..n_test).filter(|&i| aae_clusters[i] == c).collect();
            if members.is_empty() {
                continue;
            }
            let mut counts = [0usize; 10];
            members
                .iter()
                .for_each(|&i| counts[labels[i] as usize] += 1);
            let digit = (0..10).max_by_key(|&d| (counts[d], 9 - d)).unwrap_or(0);
            cluster_rows.push(ClusterRow {
                cluster: c,
                size: members.len(),
                digit: digit as u8,
                share: counts[digit] as f64 / members.len() as f64,
            });
            let first: Vec<usize> = members.into_iter().take(10).collect();
            rows.push(lab.splits.test.images(&first).into_data());
        }
        let figure = lab.save_grid(Self::NAME, "clusters.png", &rows)?;
        Ok(Results {
            clusters: CLUSTERS,
            style: STYLE,
            parameters: aae.trainee.model.num_parameters(),
            kmeans_iterations: KMEANS_ITERATIONS,
            methods,
            used,
            figure,
            rows: cluster_rows,
            timings,
        })
    }

    fn render(r: &Results, lab: &LabInfo) -> Section {
        let clusters = r.clusters;
        let noun = &lab.dataset.noun;
        let mut body = String::from("## Clustering\n\n");
        body += &format!(
            "> The adversarial autoencoder with a categorical code (Makhzani et al. 2015, \
             section 6: 16 clusters), unsupervised; clustering error on the test set (each \
             cluster labelled with its majority digit), against k-means on pixels and on a \
             plain autoencoder's codes.\n\n\
             The encoder (784-256-256) ends in two heads: a softmax over {clusters} clusters, \
             y, and a {}-value style code, z; the decoder redraws the image from [y, z]. One \
             discriminator pushes y towards one-hot samples of a uniform categorical prior, \
             another z towards N(0, I) (the cluster discriminator also sees the batch's mean \
             y, so that sending every image to one cluster is caught; the adversarial phases \
             at a fifth of the reconstruction's learning rate); trained {} without labels on \
             the {} training images (reconstruction, both discriminators, then the encoder \
             against both, each step; {} parameters). k-means: k-means++ seeding, at most {} \
             Lloyd iterations, fitted on the training set. Every method then assigns the {} \
             test images to clusters; each cluster is labelled with the {noun} most of its test \
             images are, and the error is the share of images whose {noun} is not their \
             cluster's.\n\n",
            r.style,
            count(lab.epochs, "epoch"),
            thousands(lab.n_train as u64),
            thousands(r.parameters as u64),
            r.kmeans_iterations,
            thousands(lab.n_test as u64),
        );
        body += &table(
            &["clusters from", "test error"],
            &r.methods
                .iter()
                .map(|m| vec![m.name.clone(), format!("{:.1}%", 100.0 * m.error)])
                .collect::<Vec<_>>(),
        );
        if let Some(best) = r.methods.iter().min_by(|a, b| a.error.total_cmp(&b.error)) {
            body += &format!(
                "\nThe lowest error is that of {}, {:.1}%. The AAE uses {} of its {clusters} \
                 clusters on the test set. (Makhzani et al. report 9.55% with 16 clusters on \
                 the full MNIST after far longer training; here the game has {} on {} \
                 images.)\n\n",
                best.name,
                100.0 * best.error,
                r.used,
                count(lab.epochs, "epoch"),
                thousands(lab.n_train as u64),
            );
        }
        body += &format!("![ten test images per cluster]({})\n\n", r.figure);
        body += "*One row per cluster of the adversarial autoencoder: its first ten test images \
                 (clusters with no test image are left out).";
        if r.rows.is_empty() {
            body += "*\n\n";
        } else {
            body += &format!(
                " Row by row, top to bottom: the cluster, its test images, the {noun} most of \
                 them are and their share.*\n\n"
            );
            let mut headers = vec!["row".to_string()];
            headers.extend((1..=r.rows.len()).map(|i| i.to_string()));
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            let line = |name: &str, cell: &dyn Fn(&ClusterRow) -> String| {
                std::iter::once(name.to_string())
                    .chain(r.rows.iter().map(cell))
                    .collect::<Vec<String>>()
            };
            body += &table(
                &headers,
                &[
                    line("cluster", &|c| c.cluster.to_string()),
                    line("test images", &|c| thousands(c.size as u64)),
                    line(&format!("majority {noun}"), &|c| {
                        lab.dataset
                            .classes
                            .get(c.digit as usize)
                            .cloned()
                            .unwrap_or_else(|| c.digit.to_string())
                    }),
                    line("its share", &|c| format!("{:.0}%", 100.0 * c.share)),
                ],
            );
            body.push('\n');
        }
        Section {
            body,
            timings: r.timings.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::tp1::tests::lab;

    fn results(aae: f64, pixels: f64, codes: f64) -> Results {
        let method = |name: &str, error| Method {
            name: name.into(),
            error,
        };
        Results {
            clusters: 16,
            style: 2,
            parameters: 1000,
            kmeans_iterations: 100,
            methods: vec![
                method("the AAE", aae),
                method("k-means on the pixels", pixels),
                method("k-means on the codes", codes),
            ],
            used: 15,
            figure: "clustering/clusters.png".into(),
            rows: vec![
                ClusterRow {
                    cluster: 0,
                    size: 1234,
                    digit: 7,
                    share: 0.41,
                },
                ClusterRow {
                    cluster: 2,
                    size: 1,
                    digit: 0,
                    share: 1.0,
                },
            ],
            timings: Vec::new(),
        }
    }

    #[test]
    fn the_lowest_error_is_named() {
        let body = Clustering::render(&results(0.595, 0.32, 0.465), &lab()).body;
        assert!(
            body.contains("The lowest error is that of k-means on the pixels, 32.0%."),
            "{body}"
        );
        assert!(body.contains("uses 15 of its 16 clusters"), "{body}");
        // The figure's rows, labelled.
        for line in [
            "| row | 1 | 2 |",
            "| cluster | 0 | 2 |",
            "| test images | 1,234 | 1 |",
            "| majority digit | 7 | 0 |",
            "| its share | 41% | 100% |",
        ] {
            assert!(body.contains(line), "{line:?} in {body}");
        }
        let body = Clustering::render(&results(0.1, 0.32, 0.465), &lab()).body;
        assert!(
            body.contains("The lowest error is that of the AAE, 10.0%."),
            "{body}"
        );
        let body = Clustering::render(&results(0.5, 0.32, 0.2), &lab()).body;
        assert!(
            body.contains("The lowest error is that of k-means on the codes, 20.0%."),
            "{body}"
        );
    }
}
