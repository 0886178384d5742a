//! The lab's models: parameter counts and shapes against PyTorch's, names, the summary, and
//! a few training steps.

use layers::optim::{Adam, Optimizer};
use layers::{Activation, Graph, Module, Sequential, Summary};
use models::{conv, dense};
use tensor::{Reduction, Rng, Tensor, rng};

fn dense_ae(k: usize, r: &mut Rng) -> Sequential {
    dense::autoencoder(k, Activation::Relu, r)
}

// PyTorch: sum(p.numel() for p in model.parameters()) for the same architectures.
#[test]
fn dense_784_64_784_has_101200_parameters() {
    for code in [Activation::Identity, Activation::Relu] {
        let model = dense::autoencoder(64, code, &mut rng(0));
        assert_eq!(model.num_parameters(), 101_200);
        assert_eq!(model.output_shape(&[64, 1, 28, 28]), vec![64, 1, 28, 28]);
    }
}

#[test]
fn deep_dense_784_128_64_128_784_has_218192_parameters() {
    let model = dense::deep_autoencoder(64, &mut rng(0));
    assert_eq!(model.num_parameters(), 218_192);
    assert_eq!(model.num_trainable_parameters(), 218_192);
}

#[test]
fn conv_autoencoder_has_210369_parameters_and_pytorch_shapes() {
    let model = conv::autoencoder(&mut rng(0));
    assert_eq!(model.num_parameters(), 210_369);
    let s = Summary::new(&model, &[64, 1, 28, 28]);
    let shapes: Vec<(String, Vec<usize>, usize)> = s
        .rows
        .iter()
        .filter(|r| r.leaf)
        .map(|r| (r.name.clone(), r.output_shape.clone(), r.params))
        .collect();
    // torchinfo.summary(model, (64, 1, 28, 28)) gives these output shapes and Param #.
    let expected: Vec<(&str, [usize; 4], usize)> = vec![
        ("encoder.0", [64, 16, 14, 14], 160),
        ("encoder.1", [64, 16, 14, 14], 0),
        ("encoder.2", [64, 32, 7, 7], 4_640),
        ("encoder.3", [64, 32, 7, 7], 0),
        ("encoder.4", [64, 64, 1, 1], 100_416),
        ("decoder.0", [64, 32, 7, 7], 100_384),
        ("decoder.1", [64, 32, 7, 7], 0),
        ("decoder.2", [64, 16, 14, 14], 4_624),
        ("decoder.3", [64, 16, 14, 14], 0),
        ("decoder.4", [64, 1, 28, 28], 145),
        ("decoder.5", [64, 1, 28, 28], 0),
    ];
    assert_eq!(shapes.len(), expected.len());
    for ((name, shape, params), (e_name, e_shape, e_params)) in shapes.iter().zip(&expected) {
        assert_eq!(
            (name.as_str(), shape.as_slice(), *params),
            (*e_name, e_shape.as_slice(), *e_params)
        );
    }
    assert_eq!(s.total_params, 210_369);
    assert_eq!(s.trainable_params, 210_369);
    // Multiply-adds per image: conv c_out·h_out·w_out·c_in·k², conv-transpose c_in·h·w·c_out·k².
    let macs = 16 * 14 * 14 * 9
        + 32 * 7 * 7 * 16 * 9
        + 64 * 32 * 49
        + 64 * 32 * 49
        + 32 * 7 * 7 * 16 * 9
        + 16 * 14 * 14 * 9;
    assert_eq!(s.mult_adds_per_sample, macs as u64);
    let text = s.to_string();
    assert!(text.contains("Total params: 210,369"), "{text}");
    assert!(text.contains("encoder.4 (Conv2d)"), "{text}");
    println!("{text}");
}

#[test]
fn parameter_names_follow_pytorch_state_dict_keys() {
    let model = conv::autoencoder(&mut rng(0));
    let names = model.parameter_names();
    assert_eq!(
        names,
        [
            "encoder.0.weight",
            "encoder.0.bias",
            "encoder.2.weight",
            "encoder.2.bias",
            "encoder.4.weight",
            "encoder.4.bias",
            "decoder.0.weight",
            "decoder.0.bias",
            "decoder.2.weight",
            "decoder.2.bias",
            "decoder.4.weight",
            "decoder.4.bias",
        ]
    );
}

#[test]
fn forward_puts_every_parameter_on_the_tape_and_backward_returns_each_gradient() {
    let mut model = conv::autoencoder(&mut rng(0));
    let mut g = Graph::new();
    let x = g.input(Tensor::uniform(&[2, 1, 28, 28], 0.0, 1.0, &mut rng(1)));
    let y = model.forward(&mut g, x);
    assert_eq!(g.shape(y), &[2, 1, 28, 28]);
    let loss = g.mse_loss(y, x, Reduction::Mean);
    let grads = g.backward(loss);
    assert_eq!(grads.len(), 12);
    model.visit("", &mut |name, p| {
        let grad = grads
            .param(p.id())
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        assert_eq!(grad.shape(), p.value.shape(), "{name}")
    });
}

#[test]
fn dense_autoencoder_loss_falls_with_adam() {
    let mut r = rng(3);
    let mut model = dense_ae(16, &mut r);
    let batch = Tensor::uniform(&[8, 1, 28, 28], 0.0, 1.0, &mut r);
    let mut opt = Adam::new(1e-2);
    let mut losses = Vec::new();
    for _ in 0..30 {
        let mut g = Graph::new();
        let x = g.input(batch.clone());
        let y = model.forward(&mut g, x);
        let loss = g.mse_loss(y, x, Reduction::Mean);
        losses.push(g.value(loss).item());
        let grads = g.backward(loss);
        opt.step(&mut model, &grads).unwrap();
    }
    // Uniform noise cannot be compressed much; the loss must still fall at every step.
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
    assert!(losses[29] < 0.9 * losses[0], "{losses:?}");
}

#[test]
fn frozen_parameters_get_no_gradient_and_count_as_non_trainable() {
    let mut model = dense_ae(8, &mut rng(0));
    if let Some(enc) = model.child_mut("encoder") {
        enc.set_trainable(false);
    }
    assert_eq!(model.num_trainable_parameters(), 8 * 784 + 784);
    let s = Summary::new(&model, &[1, 1, 28, 28]);
    assert_eq!(s.total_params - s.trainable_params, 784 * 8 + 8);
    let mut g = Graph::new();
    let x = g.input(Tensor::ones(&[1, 1, 28, 28]));
    let y = model.forward(&mut g, x);
    let l = g.mean_all(y);
    let grads = g.backward(l);
    model.visit("", &mut |name, p| {
        let has = grads.param(p.id()).is_some();
        assert_eq!(has, name.starts_with("decoder."), "{name}");
    });
    // The frozen encoder is skipped by the optimizer, the decoder steps.
    Adam::new(1e-3).step(&mut model, &grads).unwrap();
}

#[test]
fn pooling_conv_autoencoder_has_4385_parameters_and_pytorch_shapes() {
    let model = conv::pooling_autoencoder(&mut rng(0));
    // By hand: 3×3 convolutions (c_in·c_out·9 + c_out each):
    // 160 + 1,160 + 584 | 584 + 584 + 1,168 + 145 = 4,385.
    assert_eq!(model.num_parameters(), 4_385);
    let s = Summary::new(&model, &[2, 1, 28, 28]);
    let leaves: Vec<(String, Vec<usize>)> = s
        .rows
        .iter()
        .filter(|r| {
            r.leaf && r.params > 0 || r.type_name.contains("Pool") || r.type_name == "Upsample"
        })
        .map(|r| (r.name.clone(), r.output_shape.clone()))
        .collect();
    // PyTorch: the same stack with nn.MaxPool2d(2), nn.MaxPool2d(2, padding=1) and
    // nn.Upsample(scale_factor=2); the code is 8×4×4 = 128 values.
    let expected: Vec<(&str, [usize; 4])> = vec![
        ("encoder.0", [2, 16, 28, 28]),
        ("encoder.2", [2, 16, 14, 14]),
        ("encoder.3", [2, 8, 14, 14]),
        ("encoder.5", [2, 8, 7, 7]),
        ("encoder.6", [2, 8, 7, 7]),
        ("encoder.8", [2, 8, 4, 4]),
        ("decoder.0", [2, 8, 4, 4]),
        ("decoder.2", [2, 8, 8, 8]),
        ("decoder.3", [2, 8, 8, 8]),
        ("decoder.5", [2, 8, 16, 16]),
        ("decoder.6", [2, 16, 14, 14]),
        ("decoder.8", [2, 16, 28, 28]),
        ("decoder.9", [2, 1, 28, 28]),
    ];
    let got: Vec<(&str, &[usize])> = leaves
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_slice()))
        .collect();
    let want: Vec<(&str, &[usize])> = expected.iter().map(|(n, s)| (*n, s.as_slice())).collect();
    assert_eq!(got, want);
}

#[test]
fn super_resolution_has_4945_parameters_and_doubles_the_size() {
    let model = conv::super_resolution(&mut rng(0));
    // 1·16·9 + 16 = 160, 16·16·9 + 16 = 2,320 twice (conv and ConvT), 16·9 + 1 = 145.
    assert_eq!(model.num_parameters(), 4_945);
    assert_eq!(model.output_shape(&[3, 1, 14, 14]), vec![3, 1, 28, 28]);
}
