//! Saving and loading: round trips give identical outputs; every bad file is an error that
//! names the file and the tensor, never a panic.

mod common;

use common::{conv_net, dense_ae, temp_path};
use layers::io::{self, load, load_optimizer, save, save_optimizer, write_tensors};
use layers::optim::{Adam, Optimizer, RmsProp, Sgd};
use layers::{BatchNorm, CheckpointError, Graph, Linear, Module, Sequential, infer};
use std::collections::HashMap;
use tensor::{Reduction, Tensor, rng};

fn one_step(model: &mut dyn Module, opt: &mut dyn Optimizer, x: &Tensor) {
    let mut g = Graph::new();
    let xv = g.input(x.clone());
    let y = model.forward(&mut g, xv);
    let loss = g.mse_loss(y, xv, Reduction::Mean);
    let grads = g.backward(loss);
    opt.step(model, &grads).unwrap();
}

#[test]
fn save_then_load_gives_identical_outputs() {
    let path = temp_path("conv_net.safetensors");
    let mut a = conv_net(&mut rng(1));
    let mut b = conv_net(&mut rng(2));
    let x = Tensor::uniform(&[2, 1, 28, 28], 0.0, 1.0, &mut rng(3));
    save(&path, &a).unwrap();
    assert_ne!(infer(&mut a, x.clone()), infer(&mut b, x.clone()));
    load(&path, &mut b).unwrap();
    assert_eq!(infer(&mut a, x.clone()), infer(&mut b, x));
    // No temporary file is left beside the checkpoint.
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn file_layout_is_pytorch_state_dict() {
    let path = temp_path("bn.safetensors");
    let mut model = Sequential::new()
        .push(Linear::new(3, 2, &mut rng(0)))
        .push(BatchNorm::new_1d(2));
    let _ = infer(&mut model, Tensor::ones(&[4, 3]));
    save(&path, &model).unwrap();
    let io::Contents {
        tensors: stored,
        metadata: meta,
    } = io::read_tensors(&path).unwrap();
    let names: Vec<&str> = stored.keys().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "0.bias",
            "0.weight",
            "1.bias",
            "1.num_batches_tracked",
            "1.running_mean",
            "1.running_var",
            "1.weight"
        ]
    );
    assert_eq!(stored["0.weight"].dtype, "F32");
    assert_eq!(stored["1.num_batches_tracked"].dtype, "I64");
    assert_eq!(
        stored["1.num_batches_tracked"].tensor.shape(),
        &[] as &[usize]
    );
    assert_eq!(meta.get("format").map(String::as_str), Some("pt"));
    // Raw bytes: F32 little-endian, at the offsets the header gives.
    let bytes = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
    assert!(
        header.contains("\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3]"),
        "{header}"
    );
}

#[test]
fn batchnorm_buffers_round_trip() {
    let path = temp_path("bn_round.safetensors");
    let mut a = BatchNorm::new_2d(3);
    let x = Tensor::uniform(&[4, 3, 2, 2], -1.0, 2.0, &mut rng(0));
    let _ = infer(&mut a, x.clone());
    let _ = infer(&mut a, x.clone());
    save(&path, &a).unwrap();
    let mut b = BatchNorm::new_2d(3);
    load(&path, &mut b).unwrap();
    assert_eq!(b.running_mean.value, a.running_mean.value);
    assert_eq!(b.running_var.value, a.running_var.value);
    assert_eq!(b.num_batches_tracked.value.item(), 2.0);
    a.eval();
    b.eval();
    assert_eq!(infer(&mut a, x.clone()), infer(&mut b, x));
}

fn expect_err(path: &std::path::Path, model: &mut dyn Module) -> CheckpointError {
    let before = model.state_dict();
    let err = load(path, model).expect_err("loading must fail");
    // The model is untouched.
    assert_eq!(
        before.iter().map(|(_, t)| t).collect::<Vec<_>>(),
        model
            .state_dict()
            .iter()
            .map(|(_, t)| t)
            .collect::<Vec<_>>()
    );
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "error does not name the file: {text}"
    );
    err
}

#[test]
fn missing_tensor_is_named() {
    let path = temp_path("missing.safetensors");
    let small = Linear::new(3, 2, &mut rng(0)).without_bias();
    save(&path, &small).unwrap();
    let err = expect_err(&path, &mut Linear::new(3, 2, &mut rng(1)));
    assert!(
        matches!(&err, CheckpointError::Missing { tensors, .. } if tensors == &["bias"]),
        "{err}"
    );
    assert!(err.to_string().contains("bias"));
}

#[test]
fn extra_tensor_is_named() {
    let path = temp_path("extra.safetensors");
    save(&path, &Linear::new(3, 2, &mut rng(0))).unwrap();
    let err = expect_err(&path, &mut Linear::new(3, 2, &mut rng(1)).without_bias());
    assert!(
        matches!(&err, CheckpointError::Unexpected { tensors, .. } if tensors == &["bias"]),
        "{err}"
    );
}

#[test]
fn wrong_shape_is_named() {
    let path = temp_path("shape.safetensors");
    save(&path, &Linear::new(4, 2, &mut rng(0))).unwrap();
    let err = expect_err(&path, &mut Linear::new(3, 2, &mut rng(1)));
    match &err {
        CheckpointError::Shape {
            tensor,
            expected,
            found,
            ..
        } => {
            assert_eq!(
                (tensor.as_str(), expected.as_slice(), found.as_slice()),
                ("weight", &[2, 3][..], &[2, 4][..])
            );
        }
        other => panic!("expected a shape error, got {other}"),
    }
    assert!(err.to_string().contains("weight"));
}

#[test]
fn wrong_dtype_is_named() {
    let path = temp_path("dtype.safetensors");
    // An F16 tensor, written with the safetensors crate directly.
    let w = vec![0u8; 2 * 3 * 2];
    let b = vec![0u8; 4 * 2];
    let views = vec![
        (
            "weight",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![2, 3], &w).unwrap(),
        ),
        (
            "bias",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &b).unwrap(),
        ),
    ];
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    let err = expect_err(&path, &mut Linear::new(3, 2, &mut rng(1)));
    assert!(
        matches!(&err, CheckpointError::Dtype { tensor, found, .. } if tensor == "weight" && found == "F16"),
        "{err}"
    );
    // An integer where a float is expected is also refused.
    let i = Tensor::from_vec(&[2, 3], vec![1.0; 6]);
    let bias = Tensor::zeros(&[2]);
    write_tensors(
        &path,
        &[("weight".into(), &i, true), ("bias".into(), &bias, false)],
        HashMap::new(),
    )
    .unwrap();
    let err = expect_err(&path, &mut Linear::new(3, 2, &mut rng(1)));
    assert!(
        matches!(&err, CheckpointError::Dtype { tensor, found, .. } if tensor == "weight" && found == "I64"),
        "{err}"
    );
}

#[test]
fn truncated_file_is_an_error() {
    let path = temp_path("truncated.safetensors");
    save(&path, &dense_ae(4, &mut rng(0))).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    for cut in [0, 5, 8, 40, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = expect_err(&path, &mut dense_ae(4, &mut rng(1)));
        assert!(
            matches!(err, CheckpointError::Corrupt { .. }),
            "cut at {cut}: {err}"
        );
    }
}

#[test]
fn garbage_bytes_are_an_error() {
    let path = temp_path("garbage.safetensors");
    let mut r = rng(9);
    let noise = Tensor::uniform(&[1000], 0.0, 256.0, &mut r);
    let bytes: Vec<u8> = noise.data().iter().map(|&v| v as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let err = expect_err(&path, &mut Linear::new(3, 2, &mut rng(1)));
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
    // A plausible header length followed by a header that is not JSON.
    let mut fake = 16u64.to_le_bytes().to_vec();
    fake.extend_from_slice(b"{not json at all");
    std::fs::write(&path, &fake).unwrap();
    let err = expect_err(&path, &mut Linear::new(3, 2, &mut rng(1)));
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
}

#[test]
fn nonexistent_path_is_an_io_error() {
    let path = temp_path("does/not/exist.safetensors");
    let err = expect_err(&path, &mut Linear::new(3, 2, &mut rng(1)));
    assert!(matches!(err, CheckpointError::Io { .. }), "{err}");
    assert!(std::error::Error::source(&err).is_some());
    // Saving into a missing directory fails the same way.
    let err = save(&path, &Linear::new(3, 2, &mut rng(1))).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }), "{err}");
}

#[test]
fn optimizer_state_round_trips_and_training_continues_identically() {
    let (model_path, opt_path) = (temp_path("m.safetensors"), temp_path("adam.safetensors"));
    let x = Tensor::uniform(&[4, 1, 28, 28], 0.0, 1.0, &mut rng(5));
    let mut a = dense_ae(8, &mut rng(4));
    let mut opt_a = Adam::new(1e-2).weight_decay(0.001);
    for _ in 0..3 {
        one_step(&mut a, &mut opt_a, &x);
    }
    save(&model_path, &a).unwrap();
    save_optimizer(&opt_path, &opt_a, &a).unwrap();
    let io::Contents {
        tensors: stored,
        metadata: meta,
    } = io::read_tensors(&opt_path).unwrap();
    assert!(stored.contains_key("state.encoder.1.weight.exp_avg"));
    assert!(stored.contains_key("state.encoder.1.weight.exp_avg_sq"));
    assert_eq!(stored["state.decoder.0.bias.step"].tensor.item(), 3.0);
    assert_eq!(meta["optimizer"], "Adam");
    assert_eq!(meta["lr"], "0.01");

    let mut b = dense_ae(8, &mut rng(99));
    let mut opt_b = Adam::new(0.5);
    load(&model_path, &mut b).unwrap();
    load_optimizer(&opt_path, &mut opt_b, &b).unwrap();
    assert_eq!(opt_b.lr(), 1e-2);
    assert_eq!(opt_b.weight_decay, 0.001);
    one_step(&mut a, &mut opt_a, &x);
    one_step(&mut b, &mut opt_b, &x);
    assert_eq!(a.state_dict(), b.state_dict());
}

#[test]
fn optimizer_state_of_another_kind_or_model_is_refused() {
    let path = temp_path("sgd.safetensors");
    let x = Tensor::uniform(&[2, 1, 28, 28], 0.0, 1.0, &mut rng(5));
    let mut model = dense_ae(8, &mut rng(4));
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    one_step(&mut model, &mut sgd, &x);
    save_optimizer(&path, &sgd, &model).unwrap();
    let err = load_optimizer(&path, &mut RmsProp::new(0.01), &model).unwrap_err();
    assert!(matches!(err, CheckpointError::Metadata { .. }), "{err}");
    let other = dense_ae(16, &mut rng(4));
    let err = save_optimizer(temp_path("sgd_other.safetensors"), &sgd, &other).unwrap_err();
    assert!(
        err.to_string()
            .contains("holds state for 4 parameters that the model saved with it does not have"),
        "{err}"
    );
    let err = load_optimizer(&path, &mut Sgd::new(0.1), &other).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::Shape { tensor, .. } if tensor.ends_with(".weight.momentum_buffer")),
        "{err}"
    );
    let mut fresh = Sgd::new(0.3);
    load_optimizer(&path, &mut fresh, &model).unwrap();
    assert_eq!((fresh.lr, fresh.momentum), (0.1, 0.9));
}

#[test]
fn incomplete_or_inconsistent_optimizer_state_is_refused() {
    let path = temp_path("adam_state.safetensors");
    let x = Tensor::uniform(&[2, 1, 28, 28], 0.0, 1.0, &mut rng(6));
    let mut model = dense_ae(8, &mut rng(7));
    let mut adam = Adam::new(1e-3);
    one_step(&mut model, &mut adam, &x);
    save_optimizer(&path, &adam, &model).unwrap();
    // Drop one second moment: Adam would then divide by ≈ ε on its next step.
    let contents = io::read_tensors(&path).unwrap();
    let dropped = "state.encoder.1.weight.exp_avg_sq";
    assert!(
        contents.tensors.contains_key(dropped),
        "{:?}",
        contents.tensors.keys()
    );
    let kept: Vec<(String, &Tensor, bool)> = contents
        .tensors
        .iter()
        .filter(|(k, _)| k.as_str() != dropped)
        .map(|(k, s)| (k.clone(), &s.tensor, false))
        .collect();
    let broken = temp_path("adam_state_broken.safetensors");
    write_tensors(&broken, &kept, contents.metadata.clone()).unwrap();
    let mut fresh = Adam::new(0.5);
    let err = load_optimizer(&broken, &mut fresh, &model).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::Missing { tensors, .. } if tensors == &[dropped.to_string()]),
        "{err}"
    );
    assert_eq!(fresh.lr, 0.5, "a failed load changes nothing");
    assert!(fresh.state().is_empty());

    // Nesterov without momentum is refused when loaded, as PyTorch refuses to build it.
    let sgd_path = temp_path("nesterov.safetensors");
    let mut metadata = HashMap::new();
    for (k, v) in [
        ("optimizer", "SGD"),
        ("lr", "0.1"),
        ("momentum", "0"),
        ("dampening", "0"),
    ] {
        metadata.insert(k.to_string(), v.to_string());
    }
    metadata.insert("weight_decay".into(), "0".into());
    metadata.insert("nesterov".into(), "1".into());
    write_tensors(&sgd_path, &[], metadata).unwrap();
    let err = load_optimizer(&sgd_path, &mut Sgd::new(0.1), &model).unwrap_err();
    assert!(err.to_string().contains("Nesterov"), "{err}");
}

#[test]
fn saving_one_optimizer_state_twice_gives_the_same_bytes() {
    // Each save builds its metadata in a new HashMap, whose iteration order is seeded per
    // map: with RMSprop's six hyperparameters and the optimizer's name, unsorted entries
    // would come out in a different order almost every time.
    let x = Tensor::uniform(&[2, 1, 28, 28], 0.0, 1.0, &mut rng(5));
    let mut model = dense_ae(8, &mut rng(4));
    let mut opt = RmsProp::new(0.01).momentum(0.9);
    one_step(&mut model, &mut opt, &x);
    let first = temp_path("rmsprop-first.safetensors");
    save_optimizer(&first, &opt, &model).unwrap();
    let first_bytes = std::fs::read(&first).unwrap();
    for i in 0..8 {
        let again = temp_path(&format!("rmsprop-again-{i}.safetensors"));
        save_optimizer(&again, &opt, &model).unwrap();
        assert!(
            std::fs::read(&again).unwrap() == first_bytes,
            "save {i} differs from the first"
        );
    }
    // The sorted file still loads.
    let mut restored = RmsProp::new(0.5);
    load_optimizer(&first, &mut restored, &model).unwrap();
    assert_eq!(restored.hyperparameters(), opt.hyperparameters());
}
