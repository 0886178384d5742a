//! Optimizer steps against values computed by hand from PyTorch's update rules (the
//! arithmetic is in the comments), on a one-element parameter `p` with chosen gradients.

use layers::optim::{Adam, Optimizer, ParamState, RmsProp, Sgd};
use layers::{Graph, Linear, Module, Parameter, StepError};
use tensor::{Gradients, Tensor, rng};

/// Runs `opt` over the gradients `gs` from `p = p0`, returning `p` after each step.
fn run(opt: &mut dyn Optimizer, p0: f32, gs: &[f32]) -> Vec<f32> {
    let mut state = ParamState::default();
    let mut p = Tensor::scalar(p0);
    gs.iter()
        .map(|&g| {
            opt.update(&mut state, &mut p, &Tensor::scalar(g));
            p.item()
        })
        .collect()
}

fn close(got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((*g as f64 - w).abs() < 1e-6, "got {got:?}, want {want:?}");
    }
}

#[test]
fn sgd_plain_and_weight_decay() {
    // p ← p − lr·(g + λp) = 2 − 0.1·(1 + 0.1·2) = 1.88
    close(
        &run(&mut Sgd::new(0.1).weight_decay(0.1), 2.0, &[1.0]),
        &[1.88],
    );
}

#[test]
fn sgd_momentum() {
    // step 1: b = g = 1, p = 1 − 0.1·1 = 0.9
    // step 2: b = 0.9·1 + 0.5 = 1.4, p = 0.9 − 0.1·1.4 = 0.76
    close(
        &run(&mut Sgd::new(0.1).momentum(0.9), 1.0, &[1.0, 0.5]),
        &[0.9, 0.76],
    );
}

#[test]
fn sgd_momentum_with_dampening() {
    // step 1: b = g = 1 (no dampening on the first step), p = 0.9
    // step 2: b = 0.9·1 + (1 − 0.5)·0.5 = 1.15, p = 0.9 − 0.115 = 0.785
    close(
        &run(
            &mut Sgd::new(0.1).momentum(0.9).dampening(0.5),
            1.0,
            &[1.0, 0.5],
        ),
        &[0.9, 0.785],
    );
}

#[test]
fn sgd_nesterov() {
    // step 1: b = 1, d = g + μb = 1.9, p = 1 − 0.19 = 0.81
    // step 2: b = 0.9 + 0.5 = 1.4, d = 0.5 + 0.9·1.4 = 1.76, p = 0.81 − 0.176 = 0.634
    close(
        &run(
            &mut Sgd::new(0.1).momentum(0.9).nesterov(true),
            1.0,
            &[1.0, 0.5],
        ),
        &[0.81, 0.634],
    );
}

#[test]
fn adam_with_bias_correction() {
    // lr 0.1, β = (0.9, 0.999), ε = 1e-8, p = 1, g = 2 then 1.
    // t = 1: m = 0.2, v = 0.004; 1 − β₁ = 0.1, 1 − β₂ = 0.001, step size 0.1/0.1 = 1,
    //        denom = √0.004/√0.001 + ε = 2, p = 1 − 0.2/2 = 0.9
    // t = 2: m = 0.18 + 0.1 = 0.28, v = 0.003996 + 0.001 = 0.004996,
    //        1 − 0.9² = 0.19, 1 − 0.999² = 0.001999,
    //        p = 0.9 − (0.1/0.19)·0.28/(√0.004996/√0.001999) = 0.806782037
    close(
        &run(&mut Adam::new(0.1), 1.0, &[2.0, 1.0]),
        &[0.9, 0.806_782_036_7],
    );
}

#[test]
fn adam_l2_versus_adamw_decoupled() {
    // AdamW: p ← p·(1 − lr·λ) = 0.99, then the Adam step of size lr: 0.99 − 0.1 = 0.89.
    close(
        &run(&mut Adam::adamw(0.1).weight_decay(0.1), 1.0, &[2.0]),
        &[0.89],
    );
    // Adam with L2: g ← 2 + 0.1·1 = 2.1; the first step moves lr·ĝ/|ĝ| = 0.1 anyway: 0.9.
    close(
        &run(&mut Adam::new(0.1).weight_decay(0.1), 1.0, &[2.0]),
        &[0.9],
    );
    // L2 enters the gradient and can flip its sign: g = −0.5 + 1·1 = 0.5 > 0, p = 0.9.
    close(
        &run(&mut Adam::new(0.1).weight_decay(1.0), 1.0, &[-0.5]),
        &[0.9],
    );
    // Decoupled decay cannot: p = 1·(1 − 0.1) = 0.9, then the step follows g < 0: 0.9 + 0.1 = 1.0.
    close(
        &run(&mut Adam::adamw(0.1).weight_decay(1.0), 1.0, &[-0.5]),
        &[1.0],
    );
}

#[test]
fn rmsprop_plain_centered_and_momentum() {
    // α = 0.99, lr 0.01. t = 1, g = 3: s = 0.01·9 = 0.09, p = 1 − 0.01·3/0.3 = 0.9
    // t = 2, g = 1: s = 0.99·0.09 + 0.01 = 0.0991, p = 0.9 − 0.01/√0.0991 = 0.868233954
    close(
        &run(&mut RmsProp::new(0.01), 1.0, &[3.0, 1.0]),
        &[0.9, 0.868_233_954_1],
    );
    // centered: a = 0.03, p = 1 − 0.01·3/√(0.09 − 0.0009) = 0.899496222
    close(
        &run(&mut RmsProp::new(0.01).centered(true), 1.0, &[3.0]),
        &[0.899_496_221_8],
    );
    // momentum 0.9: b = 3/0.3 = 10, p = 0.9; then b = 9 + 1/√0.0991, p = 0.778233954
    close(
        &run(&mut RmsProp::new(0.01).momentum(0.9), 1.0, &[3.0, 1.0]),
        &[0.9, 0.778_233_954_1],
    );
}

/// The gradients of `Σ layer(x)` for `x = [[1, −1]]`: `dW = [[1, −1]]`, `db = [1]`; with
/// `weight_only`, the bias is left off the tape, so it has no gradient.
fn linear_gradients(layer: &mut Linear, weight_only: bool) -> Gradients {
    let mut g = Graph::new();
    let x = g.input(Tensor::from_vec(&[1, 2], vec![1.0, -1.0]));
    let y = if weight_only {
        let w = g.param(&layer.weight);
        g.matmul_t(x, w, tensor::Transpose { a: false, b: true })
    } else {
        layer.forward(&mut g, x)
    };
    let loss = g.sum_all(y);
    g.backward(loss)
}

#[test]
fn step_finds_each_gradient_by_the_parameters_id_and_keeps_state_by_it() {
    let mut layer = Linear::new(2, 1, &mut rng(0));
    let (w0, b0) = (
        layer.weight.value.clone(),
        layer.bias.as_ref().unwrap().value.clone(),
    );
    let grads = linear_gradients(&mut layer, false);
    Sgd::new(0.5).step(&mut layer, &grads).unwrap();
    let w = layer.weight.value.data();
    assert_eq!((w[0], w[1]), (w0.data()[0] - 0.5, w0.data()[1] + 0.5));
    assert_eq!(layer.bias.as_ref().unwrap().value.item(), b0.item() - 0.5);
    let mut adam = Adam::new(0.1);
    let grads = linear_gradients(&mut layer, false);
    adam.step(&mut layer, &grads).unwrap();
    let ids = [layer.weight.id(), layer.bias.as_ref().unwrap().id()];
    assert_eq!(adam.state().keys().copied().collect::<Vec<_>>(), ids);
    assert_eq!(adam.state()[&ids[0]].step, Some(1.0));
}

#[test]
fn a_trainable_parameter_without_a_gradient_is_an_error_and_nothing_moves() {
    let mut layer = Linear::new(2, 1, &mut rng(0));
    let before = layer.state_dict();
    let grads = linear_gradients(&mut layer, true);
    let err = Sgd::new(0.5).step(&mut layer, &grads).unwrap_err();
    assert_eq!(
        err,
        StepError::MissingGradients {
            optimizer: "SGD",
            parameters: vec!["bias".into()]
        }
    );
    assert!(
        err.to_string().contains("no gradient for trainable bias"),
        "{err}"
    );
    assert_eq!(layer.state_dict(), before, "a refused step updates nothing");
    // Frozen, the bias is skipped and the weight steps.
    layer.bias.as_mut().unwrap().trainable = false;
    Sgd::new(0.5).step(&mut layer, &grads).unwrap();
    assert_ne!(layer.weight.value, before[0].1);
    assert_eq!(layer.bias.as_ref().unwrap().value, before[1].1);
}

#[test]
fn a_lone_parameter_steps_without_a_module() {
    // A code optimised directly: L = Σ z², dL/dz = 2z, one SGD step of 0.25 halves z.
    let mut z = Parameter::new(Tensor::from_vec(&[2], vec![2.0, -4.0]));
    let mut opt = Sgd::new(0.25);
    let mut g = Graph::new();
    let zv = g.param(&z);
    let sq = g.square(zv);
    let loss = g.sum_all(sq);
    let grads = g.backward(loss);
    opt.step_parameter(&mut z, &grads).unwrap();
    assert_eq!(z.value.data(), &[1.0, -2.0]);
    // Gradients of another step's tape do not hold it.
    let other = Parameter::new(Tensor::ones(&[2]));
    assert!(opt.step_parameter(&mut other.clone(), &grads).is_err());
}
