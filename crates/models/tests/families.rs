//! The families beyond the lab: parameter counts against PyTorch's formulas (by hand in the
//! comments), each family's special part against a hand computation, and a few hundred
//! steps on the committed MNIST sample that must bring each loss below a stated threshold.

use std::io::Read;

use layers::optim::{Adam, Optimizer};
use layers::{Graph, Module};
use models::aae::{Aae, AaeOptimizers, Prior};
use models::contractive::Contractive;
use models::vae::{Gaussian, Vae};
use models::{Autoencoder, sparse};
use tensor::{Tensor, rng};

/// The first `n` training images of the committed sample, `[n, 1, 28, 28]` in `[0, 1]`, and
/// their digits.
fn mnist(n: usize) -> (Tensor, Vec<usize>) {
    let read = |name: &str, header: usize, len: usize| -> Vec<u8> {
        let path = format!(
            "{}/../../datasets/mnist-sample/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut bytes = vec![0; header + len];
        flate2::read::GzDecoder::new(file)
            .read_exact(&mut bytes)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        bytes.split_off(header)
    };
    let pixels = read("train-images-idx3-ubyte.gz", 16, n * 784);
    let labels = read("train-labels-idx1-ubyte.gz", 8, n);
    let x = Tensor::from_vec(
        &[n, 1, 28, 28],
        pixels.iter().map(|&p| p as f32 / 255.0).collect(),
    );
    (x, labels.into_iter().map(usize::from).collect())
}

/// Trains `model` for `epochs` passes over `x` in batches of 50 with Adam, returning the
/// mean loss of the last pass (per batch, as `training_loss` reports it).
fn fit(model: &mut dyn Autoencoder, x: &Tensor, epochs: usize, lr: f32) -> f32 {
    let mut opt = Adam::new(lr);
    let mut r = rng(7);
    let n = x.shape()[0];
    let mut last = 0.0;
    model.train();
    for _ in 0..epochs {
        let mut sum = 0.0;
        for start in (0..n).step_by(50) {
            let rows: Vec<usize> = (start..(start + 50).min(n)).collect();
            let mut g = Graph::new();
            let batch = g.input(x.index_select(0, &rows));
            let loss = model.training_loss(&mut g, batch, batch, &mut r);
            sum += g.value(loss.total).item();
            let grads = g.backward(loss.total);
            opt.step(model, &grads).unwrap();
        }
        last = sum / n.div_ceil(50) as f32;
    }
    last
}

#[test]
fn dense_vae_has_807700_parameters_under_tp5s_names() {
    let vae = Vae::dense(2, &mut rng(0));
    // enc 784·512 + 512, mu and logvar 512·2 + 2 each, dec 2·512 + 512 and 512·784 + 784:
    // 401,920 + 2·1,026 + 1,536 + 402,192 = 807,700 (tp5.py's VAE).
    assert_eq!(vae.num_parameters(), 807_700);
    assert_eq!(
        vae.parameter_names(),
        [
            "enc.1.weight",
            "enc.1.bias",
            "mu.weight",
            "mu.bias",
            "logvar.weight",
            "logvar.bias",
            "dec.0.weight",
            "dec.0.bias",
            "dec.2.weight",
            "dec.2.bias"
        ]
    );
    assert_eq!(vae.output_shape(&[5, 1, 28, 28]), [5, 1, 28, 28]);
}

#[test]
fn conv_vae_sparse_contractive_and_aae_parameters_by_hand() {
    // Conv VAE: convs 1·16·9 + 16 = 160 and 16·32·9 + 32 = 4,640; heads 2·(1,568·2 + 2) =
    // 6,276; dec Linear 2·1,568 + 1,568 = 4,704, ConvT 32·16·9 + 16 = 4,624, 16·1·9 + 1 = 145.
    assert_eq!(Vae::conv(2, &mut rng(0)).num_parameters(), 20_549);
    // Sparse 784-256-784: 2·784·256 + 256 + 784.
    assert_eq!(
        sparse::autoencoder(256, 1e-3, &mut rng(0)).num_parameters(),
        402_448
    );
    // Contractive 784-64-784: 2·784·64 + 64 + 784.
    assert_eq!(
        Contractive::new(64, 0.1, &mut rng(0)).num_parameters(),
        101_200
    );
    // AAE encoder 784·256 + 256 + 256·256 + 256 + 256·2 + 2 = 267,266; decoder
    // 2·256 + 256 + 65,792 + 256·784 + 784 = 268,048; discriminator 2·128 + 128 +
    // 128·128 + 128 + 128 + 1 = 17,025 (18,305 with the 10 one-hot inputs).
    let aae = Aae::new(Prior::Gaussian, false, &mut rng(0));
    assert_eq!(
        (
            aae.encoder.num_parameters(),
            aae.decoder.num_parameters(),
            aae.discriminator.num_parameters()
        ),
        (267_266, 268_048, 17_025)
    );
    let conditional = Aae::new(Prior::Mixture, true, &mut rng(0));
    assert_eq!(conditional.discriminator.num_parameters(), 18_305);
    assert_eq!(conditional.num_parameters(), 267_266 + 268_048 + 18_305);
}

#[test]
fn kl_matches_its_closed_form_on_a_hand_case() {
    // μ = (1, −2), ln σ² = (0, ln 4): −½[(1 + 0 − 1 − 1) + (1 + ln 4 − 4 − 4)]
    // = ½ + (7 − ln 4)/2 = 4 − ln 2.
    let mut g = Graph::new();
    let code = Gaussian {
        mean: g.input(Tensor::from_vec(&[1, 2], vec![1.0, -2.0])),
        logvar: g.input(Tensor::from_vec(&[1, 2], vec![0.0, 4f32.ln()])),
    };
    let kl = code.kl(&mut g);
    assert!((g.value(kl).item() - (4.0 - 2f32.ln())).abs() < 1e-6);
    // The reparameterization: z = μ + e^(lv/2)·ε, so ε = (1, 1) gives (1 + 1, −2 + 2).
    let z = code.sample(&mut g, Tensor::ones(&[1, 2]));
    assert_eq!(g.value(z).data(), &[2.0, 0.0]);
}

#[test]
fn eps_is_drawn_in_training_and_not_in_evaluation() {
    let (x, _) = mnist(4);
    let mut vae = Vae::dense(2, &mut rng(1));
    let loss_of = |vae: &mut Vae, seed: u64| {
        let mut g = Graph::new();
        let xv = g.input(x.clone());
        let mut r = rng(seed);
        let loss = vae.training_loss(&mut g, xv, xv, &mut r);
        (g.value(loss.total).item(), r)
    };
    vae.train();
    let (a, _) = loss_of(&mut vae, 1);
    let (b, _) = loss_of(&mut vae, 2);
    assert_ne!(a, b, "training decodes a sample: another ε, another loss");
    vae.eval();
    let (c, mut r1) = loss_of(&mut vae, 1);
    let (d, _) = loss_of(&mut vae, 2);
    assert_eq!(c, d, "evaluation decodes the mean");
    assert_eq!(
        Tensor::normal(&[1], 0.0, 1.0, &mut r1),
        Tensor::normal(&[1], 0.0, 1.0, &mut rng(1)),
        "evaluation draws nothing from the generator"
    );
    // forward is the evaluation path: dec(μ), whatever the mode.
    vae.train();
    let y1 = layers::infer(&mut vae, x.clone());
    let y2 = layers::infer(&mut vae, x.clone());
    assert_eq!(y1, y2);
}

#[test]
fn contractive_closed_form_equals_the_jacobian_row_by_row() {
    let (x, _) = mnist(3);
    let latent = 5;
    let mut cae = Contractive::new(latent, 1.0, &mut rng(2));
    let mut g = Graph::new();
    let xv = g.input_with_grad(x.clone());
    let h = cae.encode(&mut g, xv);
    let closed = cae.jacobian_penalty(&mut g, h);
    let closed = g.value(closed).item() as f64;
    // ‖J(x_n)‖²_F = Σ_j ‖∂h_nj/∂x_n‖²: one backward pass per code unit j, seeded with the
    // one-hot dy that picks h_·j (each image's code depends on that image alone).
    let mut by_backward = 0.0f64;
    for j in 0..latent {
        let mut dy = Tensor::zeros(&[3, latent]);
        for n in 0..3 {
            dy.data_mut()[n * latent + j] = 1.0;
        }
        let grads = g.backward_from(h, dy);
        by_backward += grads
            .get(xv)
            .unwrap()
            .data()
            .iter()
            .map(|&v| v as f64 * v as f64)
            .sum::<f64>();
    }
    by_backward /= 3.0;
    assert!(
        (closed - by_backward).abs() < 1e-5 * by_backward,
        "closed form {closed}, Jacobian by backward {by_backward}"
    );
}

#[test]
fn aae_discriminator_steps_every_regularization_phase() {
    let (x, labels) = mnist(200);
    for (prior, conditional) in [(Prior::Gaussian, false), (Prior::Mixture, true)] {
        let mut aae = Aae::new(prior, conditional, &mut rng(3));
        let mut opts = AaeOptimizers::new(1e-3);
        let mut r = rng(4);
        let mut losses = Vec::new();
        for step in 0..20 {
            let rows: Vec<usize> = (step * 10 % 200..step * 10 % 200 + 10).collect();
            let batch = x.index_select(0, &rows);
            let digits: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
            let before = aae.discriminator.state_dict();
            let l = aae.train_step(&mut opts, &batch, &digits, &mut r).unwrap();
            let after = aae.discriminator.state_dict();
            assert!(
                before.iter().zip(&after).all(|(b, a)| b.1 != a.1),
                "step {step}: every discriminator tensor must move"
            );
            losses.push(l.discriminator);
        }
        let mean = losses.iter().sum::<f32>() / losses.len() as f32;
        let spread = losses.iter().map(|l| (l - mean).abs()).fold(0.0, f32::max);
        assert!(
            losses.iter().all(|&l| l > 0.05 && l < 5.0),
            "{prior:?}: discriminator losses {losses:?}"
        );
        assert!(spread > 1e-3, "{prior:?}: a constant loss {losses:?}");
    }
}

#[test]
fn each_aae_phase_moves_only_its_own_network() {
    let (x, labels) = mnist(20);
    let mut aae = Aae::new(Prior::Mixture, true, &mut rng(10));
    let mut opts = AaeOptimizers::new(1e-3);
    let mut r = rng(11);
    let states = |a: &Aae| {
        (
            a.encoder.state_dict(),
            a.decoder.state_dict(),
            a.discriminator.state_dict(),
        )
    };
    let (e0, d0, c0) = states(&aae);
    aae.reconstruction_step(&mut opts.reconstruction, &x)
        .unwrap();
    let (e1, d1, c1) = states(&aae);
    assert!(
        e1 != e0 && d1 != d0 && c1 == c0,
        "reconstruction: encoder and decoder only"
    );
    aae.discriminator_step(&mut opts.discriminator, &x, &labels, &mut r)
        .unwrap();
    let (e2, d2, c2) = states(&aae);
    assert!(
        e2 == e1 && d2 == d1 && c2 != c1,
        "discriminator half: the discriminator only"
    );
    aae.generator_step(&mut opts.generator, &x, &labels)
        .unwrap();
    let (e3, d3, c3) = states(&aae);
    assert!(
        e3 != e2 && d3 == d2 && c3 == c2,
        "encoder half: the encoder only"
    );
}

#[test]
fn every_family_learns_on_300_images() {
    let (x, labels) = mnist(300);
    // Untrained, a VAE is near 784·ln 2 ≈ 543 nats per image and a sigmoid autoencoder's MSE
    // near 0.2 (grey outputs on mostly black images); 48 steps reach about 203 nats, 0.071
    // (sparse, penalty included) and 0.075 (contractive).
    let mut vae = Vae::dense(2, &mut rng(5));
    let elbo = fit(&mut vae, &x, 8, 1e-3);

    assert!(elbo < 230.0, "VAE: negative ELBO {elbo} nats per image");
    let mut sparse = sparse::autoencoder(256, 1e-4, &mut rng(6));
    let loss = fit(&mut sparse, &x, 8, 1e-3);
    assert!(loss < 0.09, "sparse: loss {loss}");
    let mut cae = Contractive::new(64, 0.01, &mut rng(7));
    let loss = fit(&mut cae, &x, 8, 1e-3);
    assert!(loss < 0.09, "contractive: loss {loss}");
    let mut aae = Aae::new(Prior::Gaussian, false, &mut rng(8));
    let mut opts = AaeOptimizers::new(1e-3);
    let mut r = rng(9);
    let mut last = 1.0;
    for _ in 0..8 {
        for start in (0..300).step_by(50) {
            let rows: Vec<usize> = (start..start + 50).collect();
            let batch = x.index_select(0, &rows);
            let digits: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
            last = aae
                .train_step(&mut opts, &batch, &digits, &mut r)
                .unwrap()
                .reconstruction;
        }
    }
    // From ln 2 ≈ 0.693 per pixel untrained to about 0.257 after 48 steps, through a code of
    // two numbers pulled towards the prior.
    assert!(last < 0.3, "AAE: reconstruction BCE {last}");
}

/// The supervised AAE learns on 300 images: its reconstruction BCE falls by a third or more
/// over 15 passes (from about 0.69, a sigmoid output of 0.5 everywhere), and the game stays
/// in play (the discriminator neither wins, below 0.05, nor diverges).
#[test]
fn supervised_aae_loss_falls_on_300_images() {
    use models::aae_supervised::SupervisedAae;
    let (x, labels) = mnist(300);
    let mut aae = SupervisedAae::new(2, false, &mut rng(5));
    let mut opts = AaeOptimizers::new(1e-3);
    let mut r = rng(6);
    let mut epochs = Vec::new();
    for _ in 0..15 {
        let (mut bce, mut critic) = (0.0, 0.0);
        for start in (0..300).step_by(50) {
            let rows: Vec<usize> = (start..start + 50).collect();
            let digits: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
            let l = aae
                .train_step(&mut opts, &x.index_select(0, &rows), &digits, &mut r)
                .unwrap();
            bce += l.reconstruction / 6.0;
            critic += l.discriminator / 6.0;
        }
        epochs.push((bce, critic));
    }
    let (first, last) = (epochs[0], epochs[epochs.len() - 1]);
    assert!(last.0 < 0.67 * first.0, "BCE per pass {epochs:?}");
    assert!(
        last.1 > 0.05 && last.1 < 5.0,
        "discriminator per pass {epochs:?}"
    );
}

/// The categorical AAE learns on 300 images, without labels (its code the argmax's one-hot
/// or drawn through Gumbel noise) and with 10 of them per digit:
/// its reconstruction BCE falls by a quarter or more over 15 passes and both games stay in
/// play (the discriminators' summed loss neither collapses below 0.1 nor diverges); with
/// labels, the supervised cross-entropy falls below a third of its first pass. With
/// self-augmented training (with shift consistency, its shifted images each moved one pixel
/// right and one down) and the entropies in place of the cluster discriminator, the same,
/// and the 300 images spread over at least half of the 16 clusters; with labels and the
/// adversarial move alone (no shifts), the same as with labels.
#[test]
fn categorical_aae_losses_fall_on_300_images() {
    use models::aae_clusters::{ClusterAae, ClusterOptimizers, LabelledBatch, Moves, Recipe};
    let (x, labels) = mnist(300);
    // Ten images of each digit among the 300, for the semi-supervised run.
    let mut labelled = Vec::new();
    for d in 0..10 {
        labelled.extend((0..300).filter(|&i| labels[i] == d).take(10));
    }
    let labelled_x = x.index_select(0, &labelled);
    let labelled_y: Vec<usize> = labelled.iter().map(|&i| labels[i]).collect();
    // Without labels, with and without the Gumbel noise on the code; with labels, argmax.
    for (semi, recipe) in [
        (false, Recipe::HARD),
        (false, Recipe::GUMBEL),
        (true, Recipe::HARD),
        (false, Recipe::SELF_AUGMENTED),
        (
            true,
            Recipe {
                smoothness: 1.0,
                ..Recipe::HARD
            },
        ),
    ] {
        let clusters = if semi { 10 } else { 16 };
        let mut aae = ClusterAae::new(clusters, recipe, &mut rng(7));
        let mut opts = ClusterOptimizers::new(1e-3, recipe);
        let mut r = rng(8);
        let mut epochs = Vec::new();
        for _ in 0..15 {
            let (mut bce, mut critics, mut ce) = (0.0, 0.0, 0.0);
            for start in (0..300).step_by(50) {
                let rows: Vec<usize> = (start..start + 50).collect();
                let batch = semi.then(|| LabelledBatch {
                    images: &labelled_x,
                    labels: &labelled_y,
                });
                let images = x.index_select(0, &rows);
                let shifted = shifted_by_one(&images);
                let moves = Moves {
                    radius: 1.4,
                    shifted: Some(&shifted),
                };
                let l = aae
                    .train_step(&mut opts, &images, moves, batch, &mut r)
                    .unwrap();
                bce += l.reconstruction / 6.0;
                critics += l.discriminators / 6.0;
                ce += l.supervised / 6.0;
            }
            epochs.push((bce, critics, ce));
        }
        let (first, last) = (epochs[0], epochs[epochs.len() - 1]);
        assert!(
            last.0 < 0.75 * first.0,
            "semi {semi}, {recipe:?}: BCE per pass {epochs:?}"
        );
        assert!(
            last.1 > 0.1 && last.1 < 10.0,
            "semi {semi}, {recipe:?}: discriminators per pass {epochs:?}"
        );
        if semi {
            assert!(last.2 < first.2 / 3.0, "cross-entropy per pass {epochs:?}");
        }
        if !recipe.cluster_critic {
            let mut used = aae.assign(&x);
            used.sort_unstable();
            used.dedup();
            assert!(used.len() >= 8, "{} clusters used", used.len());
        }
    }
}

/// Each 28×28 image of `images [N, 1, 28, 28]` moved one pixel right and one down, the
/// uncovered row and column 0: a shifted batch for shift consistency.
fn shifted_by_one(images: &Tensor) -> Tensor {
    let mut out = Tensor::zeros(images.shape());
    for (from, to) in images
        .data()
        .chunks_exact(784)
        .zip(out.data_mut().chunks_exact_mut(784))
    {
        for row in 1..28 {
            to[row * 28 + 1..row * 28 + 28]
                .copy_from_slice(&from[(row - 1) * 28..(row - 1) * 28 + 27]);
        }
    }
    out
}
