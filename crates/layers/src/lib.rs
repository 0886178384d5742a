//! Building blocks for models: modules, parameters, optimizers (see issue 4).
