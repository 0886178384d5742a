//! Finite-difference gradient checks through every layer, for the input and every
//! parameter (by name), with `layers::gradcheck::check_module`.

mod common;

use layers::gradcheck::assert_module_gradients;
use layers::{
    Activation, AvgPool2d, BatchNorm, Conv2d, ConvTranspose2d, Dropout, Flatten, Graph, Linear,
    MaxPool2d, Module, Sequential, Unflatten, Upsample,
};
use tensor::gradcheck::{random_tensor, random_tensor_away_from};
use tensor::{Tensor, rng};

#[test]
fn linear() {
    let mut layer = Linear::new(5, 3, &mut rng(1));
    assert_module_gradients("Linear", &mut layer, &random_tensor(&[4, 5], 2));
    let mut no_bias = Linear::new(5, 3, &mut rng(1)).without_bias();
    assert_module_gradients(
        "Linear without bias",
        &mut no_bias,
        &random_tensor(&[4, 5], 2),
    );
}

#[test]
fn conv2d_with_stride_padding_dilation() {
    let mut layer = Conv2d::new(2, 3, 3, &mut rng(1)).stride(2).padding(1);
    assert_module_gradients("Conv2d s2 p1", &mut layer, &random_tensor(&[2, 2, 7, 6], 3));
    let mut dilated = Conv2d::new(2, 2, 3, &mut rng(1)).dilation(2).padding(2);
    assert_module_gradients("Conv2d d2", &mut dilated, &random_tensor(&[1, 2, 6, 6], 4));
}

#[test]
fn conv_transpose2d_with_output_padding() {
    let mut layer = ConvTranspose2d::new(3, 2, 3, &mut rng(1))
        .stride(2)
        .padding(1)
        .output_padding(1);
    assert_module_gradients(
        "ConvTranspose2d s2 p1 op1",
        &mut layer,
        &random_tensor(&[2, 3, 4, 3], 5),
    );
    let mut dilated = ConvTranspose2d::new(2, 2, 2, &mut rng(2)).dilation(2);
    assert_module_gradients(
        "ConvTranspose2d d2",
        &mut dilated,
        &random_tensor(&[1, 2, 3, 3], 6),
    );
}

#[test]
fn pooling_and_upsampling() {
    // Distinct values, so max pooling has no ties within the ±ε of the check.
    let x = Tensor::from_vec(
        &[1, 2, 4, 4],
        (0..32).map(|i| ((i * 7) % 32) as f32 * 0.1).collect(),
    );
    assert_module_gradients("MaxPool2d", &mut MaxPool2d::new(2), &x);
    assert_module_gradients(
        "AvgPool2d",
        &mut AvgPool2d::new(2),
        &random_tensor(&[2, 2, 4, 6], 7),
    );
    assert_module_gradients(
        "Upsample",
        &mut Upsample::new(2),
        &random_tensor(&[1, 2, 3, 3], 8),
    );
}

#[test]
fn activations() {
    let x = random_tensor_away_from(&[3, 4], 9, 0.05);
    for act in [
        Activation::Identity,
        Activation::Relu,
        Activation::LEAKY_RELU,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softplus,
    ] {
        let mut a = act;
        assert_module_gradients(&act.type_name(), &mut a, &x);
    }
}

#[test]
fn reshapes() {
    let mut m = Sequential::new()
        .push(Flatten)
        .push(Unflatten::new(&[3, 2]));
    assert_module_gradients("Flatten+Unflatten", &mut m, &random_tensor(&[2, 2, 3], 10));
}

#[test]
fn batchnorm_in_training_and_evaluation() {
    let mut bn = BatchNorm::new_2d(3);
    // Non-trivial γ, β so their gradients are tested away from the 1/0 start.
    bn.weight.value = random_tensor(&[3], 11).map(|v| v + 1.5);
    bn.bias.value = random_tensor(&[3], 12);
    let x = random_tensor(&[4, 3, 2, 2], 13);
    assert_module_gradients("BatchNorm2d train", &mut bn, &x);
    bn.eval();
    assert_module_gradients("BatchNorm2d eval", &mut bn, &x);
    let mut bn1 = BatchNorm::new_1d(5);
    assert_module_gradients("BatchNorm1d train", &mut bn1, &random_tensor(&[6, 5], 14));
}

#[test]
fn dropout_backward_is_the_scaled_mask() {
    // y = x ⊙ m/(1 − p), so dy/dx = m/(1 − p) = y/x elementwise.
    let mut d = Dropout::new(0.25, 15);
    let x = random_tensor_away_from(&[4, 50], 16, 0.1);
    let mut g = Graph::new();
    let xv = g.leaf(x.clone());
    let y = d.forward(&mut g, xv);
    let l = g.sum_all(y);
    let dx = g.tape().backward(l).get(xv).unwrap().clone();
    for ((&dx, &y), &x) in dx.data().iter().zip(g.value(y).data()).zip(x.data()) {
        assert!((dx - y / x).abs() < 1e-5, "dx {dx}, y/x {}", y / x);
    }
}

#[test]
fn a_whole_small_conv_autoencoder() {
    let mut r = rng(17);
    let mut model = Sequential::new()
        .push_named(
            "encoder",
            Sequential::new()
                .push(Conv2d::new(1, 2, 3, &mut r).stride(2).padding(1))
                .push(Activation::Tanh),
        )
        .push_named(
            "decoder",
            Sequential::new()
                .push(
                    ConvTranspose2d::new(2, 1, 3, &mut r)
                        .stride(2)
                        .padding(1)
                        .output_padding(1),
                )
                .push(Activation::Sigmoid),
        );
    assert_module_gradients("conv AE", &mut model, &random_tensor(&[2, 1, 6, 6], 18));
}
