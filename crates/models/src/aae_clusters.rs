//! The adversarial autoencoder with a categorical code, for clustering without labels
//! (Makhzani et al. 2015, section 6). The encoder gives each image a softmax over `K`
//! clusters, `y`, and a continuous "style" code, `z`; the decoder redraws the image from
//! both. Two discriminators make `y` look like one-hot samples of a uniform categorical
//! prior (so each image picks one cluster, and all clusters get used) and `z` like `N(0, I)`
//! (what the prior asks: each image in one cluster, every cluster used; how far a run gets
//! there is for the report to measure). The cluster of an image is `argmax y`.
//!
//! One change from the paper, for a run of minutes rather than thousands of epochs: the
//! cluster discriminator sees each `y` next to its batch's mean `y` (minibatch features,
//! Salimans et al. 2016). A batch of one-hot prior samples has a mean near uniform; an
//! encoder that sends every image to one cluster has a one-hot mean, which the discriminator
//! spots at once. Without it the encoder wins the game by sending everything to the same
//! cluster (on the sample, 1 cluster of 16 used after ten epochs).

use layers::optim::{Adam, Optimizer};
use layers::{Activation, Flatten, Graph, Linear, Loss, Module, Sequential, StepError, Unflatten};
use rand_distr::{Distribution, Uniform};
use tensor::{Reduction, Rng, Tensor, Var};

/// The style code's size.
pub const STYLE: usize = 2;

/// The losses of one training step, each a batch mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClusterLosses {
    /// Reconstruction BCE per pixel.
    pub reconstruction: f32,
    /// The two discriminators' losses, summed (each ln 4 ≈ 1.39 at chance).
    pub discriminators: f32,
    /// The encoder's loss for fooling both, summed (each ln 2 ≈ 0.69 at chance).
    pub generator: f32,
}

/// Encoder trunk (784-256-256), cluster head (to `K` logits, then softmax), style head (to
/// [`STYLE`]), decoder (`K + STYLE`-256-256-784), and a discriminator for each code half
/// (`2K`-128-128-1, `y` and its batch mean, and `STYLE`-128-128-1).
pub struct ClusterAae {
    /// Images to features.
    pub trunk: Sequential,
    /// Features to cluster logits.
    pub cluster: Linear,
    /// Features to the style code.
    pub style: Linear,
    /// `[y, z]` to images.
    pub decoder: Sequential,
    /// Tells one-hot prior samples from `y`.
    pub cluster_critic: Sequential,
    /// Tells `N(0, I)` samples from `z`.
    pub style_critic: Sequential,
}

/// The adversarial phases' learning rate, as a share of the reconstruction's.
pub const ADVERSARIAL: f32 = 0.2;

/// The step's optimizers: reconstruction, both discriminators, and the encoder's half.
pub struct ClusterOptimizers {
    /// Encoder and decoder on the reconstruction.
    pub reconstruction: Adam,
    /// The cluster code's discriminator.
    pub cluster_critic: Adam,
    /// The style code's discriminator.
    pub style_critic: Adam,
    /// The encoder, on fooling both.
    pub generator: Adam,
}

impl ClusterOptimizers {
    /// Four Adams with learning rate `lr`.
    pub fn new(lr: f32) -> ClusterOptimizers {
        ClusterOptimizers {
            reconstruction: Adam::new(lr),
            cluster_critic: Adam::new(lr * ADVERSARIAL),
            style_critic: Adam::new(lr * ADVERSARIAL),
            generator: Adam::new(lr * ADVERSARIAL),
        }
    }
}

fn critic(inputs: usize, rng: &mut Rng) -> Sequential {
    Sequential::new()
        .push(Linear::new(inputs, 128, rng))
        .push(Activation::Relu)
        .push(Linear::new(128, 128, rng))
        .push(Activation::Relu)
        .push(Linear::new(128, 1, rng))
}

impl ClusterAae {
    /// A freshly initialised model with `clusters` clusters.
    pub fn new(clusters: usize, rng: &mut Rng) -> ClusterAae {
        let trunk = Sequential::new()
            .push(Flatten)
            .push(Linear::new(784, 256, rng))
            .push(Activation::Relu)
            .push(Linear::new(256, 256, rng))
            .push(Activation::Relu);
        let cluster = Linear::new(256, clusters, rng);
        let style = Linear::new(256, STYLE, rng);
        let decoder = Sequential::new()
            .push(Linear::new(clusters + STYLE, 256, rng))
            .push(Activation::Relu)
            .push(Linear::new(256, 256, rng))
            .push(Activation::Relu)
            .push(Linear::new(256, 784, rng))
            .push(Activation::Sigmoid)
            .push(Unflatten::new(&[1, 28, 28]));
        ClusterAae {
            trunk,
            cluster,
            style,
            decoder,
            cluster_critic: critic(2 * clusters, rng),
            style_critic: critic(STYLE, rng),
        }
    }

    /// The number of clusters.
    pub fn clusters(&self) -> usize {
        self.cluster.features().1
    }

    /// `(y, z)`: the cluster probabilities `[N, K]` and the style `[N, STYLE]`.
    pub fn encode_parts(&mut self, g: &mut Graph, x: Var) -> (Var, Var) {
        let h = self.trunk.forward(g, x);
        let logits = self.cluster.forward(g, h);
        (g.softmax(logits), self.style.forward(g, h))
    }

    /// The cluster discriminator's input: each row of `y` with the batch's mean row beside it.
    fn with_batch_mean(g: &mut Graph, y: Var) -> Var {
        let n = g.shape(y)[0];
        let mean = g.mean(y, &[0], true);
        let ones = g.input(Tensor::ones(&[n, 1]));
        let spread = g.mul(ones, mean);
        g.concat(&[y, spread], 1)
    }

    fn step_encoder(
        opt: &mut Adam,
        m: &mut ClusterAae,
        grads: &tensor::Gradients,
    ) -> Result<(), StepError> {
        opt.step(&mut m.trunk, grads)?;
        opt.step(&mut m.cluster, grads)?;
        opt.step(&mut m.style, grads)
    }

    /// One training step on `x [N, 1, 28, 28]`: reconstruction, both discriminators, then
    /// the encoder against both. Prior samples come from `rng`.
    pub fn train_step(
        &mut self,
        opts: &mut ClusterOptimizers,
        x: &Tensor,
        rng: &mut Rng,
    ) -> Result<ClusterLosses, StepError> {
        let n = x.shape()[0];
        let k = self.clusters();
        // 1. Reconstruction through [y, z].
        let mut g = Graph::new();
        let xv = g.input(x.clone());
        let (y, z) = self.encode_parts(&mut g, xv);
        let code = g.concat(&[y, z], 1);
        let out = self.decoder.forward(&mut g, code);
        let loss = Loss::Bce.apply(&mut g, out, xv, Reduction::Mean);
        let reconstruction = g.value(loss).item();
        let grads = g.backward(loss);
        Self::step_encoder(&mut opts.reconstruction, self, &grads)?;
        opts.reconstruction.step(&mut self.decoder, &grads)?;

        // 2. The discriminators: prior samples real, codes (off the tape) fake.
        let (y_fake, z_fake) = {
            let mut g = Graph::no_grad();
            let xv = g.input(x.clone());
            let (y, z) = self.encode_parts(&mut g, xv);
            (g.value(y).clone(), g.value(z).clone())
        };
        let pick = Uniform::new(0, k).expect("at least one cluster");
        let mut y_real = Tensor::zeros(&[n, k]);
        for row in y_real.data_mut().chunks_exact_mut(k) {
            row[pick.sample(rng)] = 1.0;
        }
        let z_real = Tensor::normal(&[n, STYLE], 0.0, 1.0, rng);
        let mut discriminators = 0.0;
        for (critic, opt, real, fake, is_cluster) in [
            (
                &mut self.cluster_critic,
                &mut opts.cluster_critic,
                y_real,
                y_fake,
                true,
            ),
            (
                &mut self.style_critic,
                &mut opts.style_critic,
                z_real,
                z_fake,
                false,
            ),
        ] {
            let mut g = Graph::new();
            let (mut real, mut fake) = (g.input(real), g.input(fake));
            if is_cluster {
                real = Self::with_batch_mean(&mut g, real);
                fake = Self::with_batch_mean(&mut g, fake);
            }
            let (lr, lf) = (critic.forward(&mut g, real), critic.forward(&mut g, fake));
            let ones = g.input(Tensor::ones(&[n, 1]));
            let zeros = g.input(Tensor::zeros(&[n, 1]));
            let a = g.bce_with_logits_loss(lr, ones, Reduction::Mean);
            let b = g.bce_with_logits_loss(lf, zeros, Reduction::Mean);
            let loss = g.add(a, b);
            discriminators += g.value(loss).item();
            let grads = g.backward(loss);
            opt.step(critic, &grads)?;
        }

        // 3. The encoder fools both (codes labelled real); only the encoder steps.
        let mut g = Graph::new();
        let xv = g.input(x.clone());
        let (y, z) = self.encode_parts(&mut g, xv);
        let y = Self::with_batch_mean(&mut g, y);
        let (ly, lz) = (
            self.cluster_critic.forward(&mut g, y),
            self.style_critic.forward(&mut g, z),
        );
        let ones = g.input(Tensor::ones(&[n, 1]));
        let a = g.bce_with_logits_loss(ly, ones, Reduction::Mean);
        let b = g.bce_with_logits_loss(lz, ones, Reduction::Mean);
        let loss = g.add(a, b);
        let generator = g.value(loss).item();
        let grads = g.backward(loss);
        Self::step_encoder(&mut opts.generator, self, &grads)?;
        Ok(ClusterLosses {
            reconstruction,
            discriminators,
            generator,
        })
    }

    /// The cluster of each image of `x` (`argmax y`), in evaluation mode.
    pub fn assign(&mut self, x: &Tensor) -> Vec<usize> {
        let k = self.clusters();
        let mut out = Vec::with_capacity(x.shape()[0]);
        for start in (0..x.shape()[0]).step_by(500) {
            let rows: Vec<usize> = (start..(start + 500).min(x.shape()[0])).collect();
            let mut g = Graph::no_grad();
            let xv = g.input(x.index_select(0, &rows));
            let (y, _) = self.encode_parts(&mut g, xv);
            for row in g.value(y).data().chunks_exact(k) {
                out.push(
                    (0..k)
                        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                        .expect("clusters"),
                );
            }
        }
        out
    }
}

impl Module for ClusterAae {
    /// Evaluation: the reconstruction from `[y, z]`.
    fn forward(&mut self, g: &mut Graph, x: Var) -> Var {
        let (y, z) = self.encode_parts(g, x);
        let code = g.concat(&[y, z], 1);
        self.decoder.forward(g, code)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        vec![
            ("trunk", &self.trunk),
            ("cluster", &self.cluster),
            ("style", &self.style),
            ("decoder", &self.decoder),
            ("cluster_critic", &self.cluster_critic),
            ("style_critic", &self.style_critic),
        ]
    }

    fn children_mut(&mut self) -> Vec<(&str, &mut dyn Module)> {
        vec![
            ("trunk", &mut self.trunk),
            ("cluster", &mut self.cluster),
            ("style", &mut self.style),
            ("decoder", &mut self.decoder),
            ("cluster_critic", &mut self.cluster_critic),
            ("style_critic", &mut self.style_critic),
        ]
    }

    /// Both heads read the trunk's features; the decoder reads `[y, z]`, the cluster critic
    /// `y` beside its batch mean, the style critic `z`.
    fn child_input_shapes(&self, input: &[usize]) -> Vec<Vec<usize>> {
        let h = self.trunk.output_shape(input);
        let (n, k) = (input[0], self.clusters());
        vec![
            input.to_vec(),
            h.clone(),
            h,
            vec![n, k + STYLE],
            vec![n, 2 * k],
            vec![n, STYLE],
        ]
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        vec![input[0], 1, 28, 28]
    }

    fn type_name(&self) -> String {
        "ClusterAAE".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensor::rng;

    #[test]
    fn every_part_steps_and_clusters_are_valid() {
        let mut m = ClusterAae::new(16, &mut rng(0));
        // 784·256 + 256 + 256·256 + 256 (trunk), 256·16 + 16 and 256·STYLE + STYLE (heads),
        // (16 + STYLE)·256 + 256 + 65,792 + 256·784 + 784 (decoder), and the critics: 32 inputs
        // (y and its batch mean) and STYLE, each then 128-128-1.
        let trunk = 784 * 256 + 256 + 256 * 256 + 256;
        let heads = 256 * 16 + 16 + 256 * STYLE + STYLE;
        let decoder = (16 + STYLE) * 256 + 256 + 256 * 256 + 256 + 256 * 784 + 784;
        let critic = |i: usize| i * 128 + 128 + 128 * 128 + 128 + 128 + 1;
        assert_eq!(
            m.num_parameters(),
            trunk + heads + decoder + critic(32) + critic(STYLE)
        );
        let x = Tensor::uniform(&[8, 1, 28, 28], 0.0, 1.0, &mut rng(1));
        let mut opts = ClusterOptimizers::new(1e-3);
        let before = m.state_dict();
        let l = m.train_step(&mut opts, &x, &mut rng(2)).unwrap();
        assert!(l.reconstruction > 0.0 && l.discriminators > 0.0 && l.generator > 0.0);
        let after = m.state_dict();
        assert!(
            before.iter().zip(&after).all(|(b, a)| b.1 != a.1),
            "every tensor moves"
        );
        assert!(m.assign(&x).iter().all(|&c| c < 16));
    }
}
