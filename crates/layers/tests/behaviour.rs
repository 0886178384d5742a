//! Initialisation distributions, BatchNorm in training and evaluation, Dropout, losses.

use layers::init::{default_bound, fan_in};
use layers::{
    BatchNorm, Conv2d, ConvTranspose2d, Dropout, Graph, Linear, Loss, Module, Sequential, infer,
};
use tensor::{Reduction, Tensor, rng};

/// Checks every value lies in `[−b, b]` and the standard deviation is near `b/√3`.
fn check_uniform(name: &str, t: &Tensor, bound: f32) {
    let n = t.numel() as f64;
    assert!(
        t.data().iter().all(|v| v.abs() <= bound),
        "{name}: a value is outside ±{bound}"
    );
    let mean = t.data().iter().map(|&v| v as f64).sum::<f64>() / n;
    let std = (t
        .data()
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    let want = bound as f64 / 3f64.sqrt();
    assert!(mean.abs() < 0.05 * bound as f64, "{name}: mean {mean}");
    assert!(
        (std - want).abs() < 0.03 * want,
        "{name}: std {std}, want {want}"
    );
    // The values reach close to both ends of the range.
    let max = t.data().iter().cloned().fold(f32::MIN, f32::max);
    let min = t.data().iter().cloned().fold(f32::MAX, f32::min);
    assert!(
        max > 0.98 * bound && min < -0.98 * bound,
        "{name}: range [{min}, {max}] vs ±{bound}"
    );
}

#[test]
fn linear_init_matches_pytorch_kaiming_uniform_a_sqrt5() {
    let l = Linear::new(784, 64, &mut rng(0));
    let b = 1.0 / 784f32.sqrt();
    check_uniform("Linear.weight", &l.weight.value, b);
    assert!(
        l.bias
            .as_ref()
            .unwrap()
            .value
            .data()
            .iter()
            .all(|v| v.abs() <= b)
    );
}

#[test]
fn conv_init_uses_c_in_k_k() {
    let c = Conv2d::new(32, 64, 7, &mut rng(0));
    assert_eq!(fan_in(c.weight.value.shape()), 32 * 49);
    check_uniform("Conv2d.weight", &c.weight.value, default_bound(32 * 49));
    let bias = &c.bias.as_ref().unwrap().value;
    assert!(
        bias.data()
            .iter()
            .all(|v| v.abs() <= default_bound(32 * 49))
    );
}

#[test]
fn conv_transpose_init_uses_weight_dim_1() {
    // nn.ConvTranspose2d(64, 32, 7): weight [64, 32, 7, 7], fan_in = 32·49 (dim 1), not 64·49.
    let c = ConvTranspose2d::new(64, 32, 7, &mut rng(0));
    assert_eq!(c.weight.value.shape(), &[64, 32, 7, 7]);
    check_uniform(
        "ConvTranspose2d.weight",
        &c.weight.value,
        default_bound(32 * 49),
    );
    let bias = &c.bias.as_ref().unwrap().value;
    assert!(
        bias.data()
            .iter()
            .all(|v| v.abs() <= default_bound(32 * 49))
    );
    assert!(
        bias.data().iter().any(|v| v.abs() > default_bound(64 * 49)),
        "bias bound looks like 1/√(64·49)"
    );
}

#[test]
fn init_is_reproducible_from_the_seed() {
    assert_eq!(
        Linear::new(5, 3, &mut rng(7)).weight.value,
        Linear::new(5, 3, &mut rng(7)).weight.value
    );
    assert_ne!(
        Linear::new(5, 3, &mut rng(7)).weight.value,
        Linear::new(5, 3, &mut rng(8)).weight.value
    );
}

#[test]
fn batchnorm_starts_at_identity_parameters() {
    let bn = BatchNorm::new_2d(4);
    assert_eq!(bn.weight.value, Tensor::ones(&[4]));
    assert_eq!(bn.bias.value, Tensor::zeros(&[4]));
    assert_eq!(bn.num_parameters(), 8);
    assert_eq!(
        bn.parameter_names(),
        [
            "weight",
            "bias",
            "running_mean",
            "running_var",
            "num_batches_tracked"
        ]
    );
}

#[test]
fn batchnorm_training_normalises_with_batch_statistics_and_updates_running_ones() {
    // One channel, values 1, 2, 3, 4 (as [4, 1]): μ = 2.5, biased σ² = 1.25, unbiased 5/3.
    let mut bn = BatchNorm::new_1d(1);
    let x = Tensor::from_vec(&[4, 1], vec![1.0, 2.0, 3.0, 4.0]);
    let y = infer(&mut bn, x.clone());
    let s = (1.25f32 + 1e-5).sqrt();
    for (y, x) in y.data().iter().zip(x.data()) {
        assert!((y - (x - 2.5) / s).abs() < 1e-6);
    }
    // running_mean = 0.9·0 + 0.1·2.5, running_var = 0.9·1 + 0.1·5/3
    assert!((bn.running_mean.value.item() - 0.25).abs() < 1e-7);
    assert!((bn.running_var.value.item() - (0.9 + 0.1 * 5.0 / 3.0)).abs() < 1e-6);
    assert_eq!(bn.num_batches_tracked.value.item(), 1.0);

    // Evaluation uses the running statistics and leaves them alone.
    bn.eval();
    let y = infer(&mut bn, x.clone());
    let rv = bn.running_var.value.item();
    for (y, x) in y.data().iter().zip(x.data()) {
        assert!((y - (x - 0.25) / (rv + 1e-5).sqrt()).abs() < 1e-6);
    }
    assert_eq!(bn.num_batches_tracked.value.item(), 1.0);
}

#[test]
fn batchnorm2d_per_channel_statistics() {
    let mut bn = BatchNorm::new_2d(2);
    let x = Tensor::uniform(&[3, 2, 4, 4], -2.0, 5.0, &mut rng(1));
    let y = infer(&mut bn, x);
    // Each channel of the output has mean 0 and (biased) variance 1.
    for c in 0..2 {
        let vals: Vec<f64> = (0..3)
            .flat_map(|n| (0..16).map(move |i| (n, i)))
            .map(|(n, i)| y.data()[n * 32 + c * 16 + i] as f64)
            .collect();
        let mean = vals.iter().sum::<f64>() / 48.0;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 48.0;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3,
            "channel {c}: {mean} {var}"
        );
    }
}

#[test]
fn dropout_scales_kept_values_and_is_identity_in_eval() {
    let p = 0.3;
    let mut d = Dropout::new(p, 42);
    let x = Tensor::ones(&[100, 100]);
    let y = infer(&mut d, x.clone());
    let kept = y.data().iter().filter(|&&v| v != 0.0).count() as f32 / 1e4;
    assert!(
        y.data()
            .iter()
            .all(|&v| v == 0.0 || (v - 1.0 / (1.0 - p)).abs() < 1e-6)
    );
    assert!((kept - (1.0 - p)).abs() < 0.02, "kept fraction {kept}");
    // A second pass draws a new mask; the same seed gives the same sequence.
    let y2 = infer(&mut d, x.clone());
    assert_ne!(y, y2);
    assert_eq!(infer(&mut Dropout::new(p, 42), x.clone()), y);
    d.eval();
    assert_eq!(infer(&mut d, x.clone()), x);
    assert_eq!(
        infer(&mut Dropout::new(1.0, 0), x.clone()),
        Tensor::zeros(&[100, 100])
    );
}

#[test]
fn losses_by_name_and_reduction() {
    let mut g = Graph::new();
    let p = g.input(Tensor::from_vec(&[2], vec![0.25, 0.75]));
    let t = g.input(Tensor::from_vec(&[2], vec![0.0, 1.0]));
    // L1: |0.25| + |−0.25| = 0.5 summed, 0.25 mean.
    let l1 = "l1"
        .parse::<Loss>()
        .unwrap()
        .apply(&mut g, p, t, Reduction::Sum);
    assert_eq!(g.value(l1).item(), 0.5);
    let mse = Loss::Mse.apply(&mut g, p, t, Reduction::Mean);
    assert_eq!(g.value(mse).item(), 0.0625);
    // BCE: −ln(0.75) per element.
    let bce = Loss::Bce.apply(&mut g, p, t, Reduction::Mean);
    assert!((g.value(bce).item() + 0.75f32.ln()).abs() < 1e-6);
    // BCE on logits z = ln(p/(1−p)) equals BCE on p.
    let z = g.input(Tensor::from_vec(&[2], vec![(1.0f32 / 3.0).ln(), 3f32.ln()]));
    let bcel = Loss::BceWithLogits.apply(&mut g, z, t, Reduction::Mean);
    assert!((g.value(bcel).item() - g.value(bce).item()).abs() < 1e-6);
    // KL of N(0, 1) from N(0, 1) is 0.
    let zeros = g.input(Tensor::zeros(&[3]));
    let kl = "kl"
        .parse::<Loss>()
        .unwrap()
        .apply(&mut g, zeros, zeros, Reduction::Sum);
    assert_eq!(g.value(kl).item(), 0.0);
    // Mean 1, log-variance 0 in each of 3 dimensions: ½·1 per dimension.
    let ones = g.input(Tensor::ones(&[3]));
    let kl = Loss::GaussianKl.apply(&mut g, ones, zeros, Reduction::Sum);
    assert_eq!(g.value(kl).item(), 1.5);
    assert!("hinge".parse::<Loss>().is_err());
}

#[test]
#[should_panic(expected = "expected more than 1 value per channel")]
fn batchnorm_refuses_one_value_per_channel_in_training() {
    let mut bn = BatchNorm::new_1d(3);
    infer(&mut bn, Tensor::ones(&[1, 3]));
}

#[test]
#[should_panic(expected = "position name \"1\" is already taken")]
fn sequential_names_stay_unique() {
    let mut r = rng(0);
    // The named child is at position 0, so the next child's position name would be "1" too.
    let _ = Sequential::new()
        .push_named("1", Linear::new(2, 2, &mut r))
        .push(Linear::new(2, 2, &mut r));
}

/// Forward output and every parameter's gradient of `model` on `x` (MSE against 0.25), with
/// the op names of the tape it recorded.
fn run_model(model: &mut Sequential, x: &Tensor) -> (Tensor, Vec<Tensor>, Vec<String>) {
    let mut g = Graph::new();
    let xv = g.input(x.clone());
    let y = model.forward(&mut g, xv);
    let target = g.input(Tensor::full(g.shape(y), 0.25));
    let loss = g.mse_loss(y, target, Reduction::Mean);
    let grads = g.backward(loss);
    let mut params = Vec::new();
    model.visit("", &mut |_, p| {
        params.push(grads.param(p.id()).unwrap().clone())
    });
    let ops = g.nodes().iter().map(|n| n.op.name()).collect();
    (g.value(y).clone(), params, ops)
}

#[test]
fn sequential_fuses_a_layer_and_its_activation_without_changing_a_value() {
    use layers::Activation;
    let mut r = rng(4);
    let dense = |r: &mut tensor::Rng| {
        Sequential::new()
            .push(Linear::new(6, 5, r))
            .push(Activation::Relu)
            .push(Linear::new(5, 4, r))
            .push(Activation::Sigmoid)
    };
    let conv = |r: &mut tensor::Rng| {
        Sequential::new()
            .push(Conv2d::new(2, 3, 3, r).stride(2).padding(1))
            .push(Activation::Tanh)
            .push(
                ConvTranspose2d::new(3, 2, 3, r)
                    .stride(2)
                    .padding(1)
                    .output_padding(1),
            )
            .push(Activation::Sigmoid)
    };
    let cases: [(Sequential, Tensor); 2] = [
        (dense(&mut r), Tensor::uniform(&[7, 6], -1.0, 1.0, &mut r)),
        (
            conv(&mut r),
            Tensor::uniform(&[2, 2, 6, 6], -1.0, 1.0, &mut r),
        ),
    ];
    for (mut fused, x) in cases {
        let (y, grads, ops) = run_model(&mut fused, &x);
        assert!(
            ops.iter()
                .any(|op| op.ends_with("+relu") || op.ends_with("+tanh")),
            "no fused op on the tape: {ops:?}"
        );
        assert!(ops.iter().any(|op| op.ends_with("+sigmoid")), "{ops:?}");
        assert!(
            !ops.iter()
                .any(|op| op == "Relu" || op == "Sigmoid" || op == "Tanh"),
            "{ops:?}"
        );
        // The same layers recorded one op at a time, each child called on its own.
        let mut g = Graph::new();
        let mut v = g.input(x.clone());
        for name in ["0", "1", "2", "3"] {
            let layer = fused.child_mut(name).unwrap();
            v = layer.forward(&mut g, v);
        }
        let target = g.input(Tensor::full(g.shape(v), 0.25));
        let loss = g.mse_loss(v, target, Reduction::Mean);
        let grads_apart = g.backward(loss);
        assert_eq!(g.value(v), &y, "outputs differ");
        let mut apart = Vec::new();
        fused.visit("", &mut |_, p| {
            apart.push(grads_apart.param(p.id()).unwrap().clone())
        });
        assert_eq!(apart, grads, "gradients differ");
    }
}
