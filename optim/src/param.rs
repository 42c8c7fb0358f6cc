//! Trainable parameters and the one way every model lists them.
//!
//! A model implements [`Parameters`]: it visits each of its [`Param`]s with a stable dotted name
//! (`encoder.0.weight`), always in the same order. Optimizers keep their state by that position,
//! so the hot path builds no strings; names serve checkpoints, gradient-check reports and errors.

use crate::{Float, Mat};

/// A trainable tensor: its value and the gradient accumulated into it by `backward`.
///
/// Values are stored as matrices; `shape` is the tensor's logical shape as PyTorch writes it
/// (`[out]` for a bias, `[out, in, kh, kw]` for a convolution kernel), used by checkpoints. The
/// matrix is `shape[0] x (product of the rest)` in row-major order of the trailing dimensions, so
/// a checkpoint's row-major bytes are PyTorch's layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Param<F: Float> {
    /// Current value.
    pub value: Mat<F>,
    /// Accumulated gradient `∂L/∂value`, same shape as `value`. `backward` adds into it;
    /// [`Param::zero_grad`] clears it.
    pub grad: Mat<F>,
    /// Logical (PyTorch) shape; its product equals `value.len()`.
    pub shape: Vec<usize>,
}

impl<F: Float> Param<F> {
    /// A parameter with logical shape `[rows, cols]` and a zero gradient.
    pub fn new(value: Mat<F>) -> Self {
        let shape = vec![value.nrows(), value.ncols()];
        Self::with_shape(value, shape)
    }

    /// A column vector parameter (e.g. a bias) with logical shape `[len]`.
    pub fn vector(value: Mat<F>) -> Self {
        debug_assert_eq!(value.ncols(), 1);
        let shape = vec![value.nrows()];
        Self::with_shape(value, shape)
    }

    /// A parameter with an explicit logical shape.
    ///
    /// # Panics
    /// If the shape's product differs from the number of entries (a bug in the layer).
    pub fn with_shape(value: Mat<F>, shape: Vec<usize>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            value.len(),
            "Param::with_shape: logical shape {shape:?} does not hold a {}x{} matrix",
            value.nrows(),
            value.ncols()
        );
        let grad = Mat::zeros(value.nrows(), value.ncols());
        Param { value, grad, shape }
    }

    /// Sets the gradient to zero (without reallocating).
    pub fn zero_grad(&mut self) {
        // A slice fill is a memset; nalgebra's `fill` goes element by element, 25x slower.
        self.grad.as_mut_slice().fill(F::zero());
    }

    /// Number of scalar entries.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// Whether the parameter has no entries.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

/// Anything with trainable parameters lists them by stable name, in a fixed order.
///
/// Implementations call `visit(name, param)` once per parameter; nested models use
/// [`visit_child`] so names become `child.name`.
///
/// ```
/// use optim::{Linear, Parameters, param_names};
/// let mut rng = optim::rng(0);
/// let mut layer = Linear::<f32>::new(3, 2, &mut rng);
/// assert_eq!(param_names(&mut layer), ["weight", "bias"]);
/// ```
pub trait Parameters<F: Float> {
    /// Visits every parameter with its dotted name, always in the same order.
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>));

    /// Visits persistent state that is not trained by gradients but belongs in a checkpoint
    /// (PyTorch's "buffers", e.g. batch norm's `running_mean`), by stable name. Default: none.
    fn visit_buffers(&mut self, _visit: &mut dyn FnMut(&str, &mut Mat<F>)) {}
}

impl<F: Float, P: Parameters<F> + ?Sized> Parameters<F> for Box<P> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        (**self).visit_params(visit)
    }
    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<F>)) {
        (**self).visit_buffers(visit)
    }
}

impl<F: Float> Parameters<F> for Param<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("", self)
    }
}

thread_local! {
    /// Name buffers of [`visit_child`] and [`visit_child_buffers`], one per nesting level in
    /// use, kept between calls: optimizers visit the parameters every step, and a model of
    /// nested layers would otherwise allocate a name per child per step.
    static NAMES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `f` with a cleared name buffer from [`NAMES`] (a new one the first time at this depth),
/// returned to it after.
fn with_name_buffer(f: impl FnOnce(&mut String)) {
    let mut name = NAMES.with(|n| n.borrow_mut().pop()).unwrap_or_default();
    f(&mut name);
    name.clear();
    NAMES.with(|n| n.borrow_mut().push(name));
}

/// `prefix.inner` (or `prefix` for an empty `inner`) in `name`.
fn join_name(name: &mut String, prefix: &str, inner: &str) {
    name.clear();
    name.push_str(prefix);
    if !inner.is_empty() {
        name.push('.');
        name.push_str(inner);
    }
}

/// Visits `child`'s parameters with names prefixed by `prefix.` (for nested models).
pub fn visit_child<F: Float>(
    prefix: &str,
    child: &mut dyn Parameters<F>,
    visit: &mut dyn FnMut(&str, &mut Param<F>),
) {
    with_name_buffer(|name| {
        child.visit_params(&mut |inner, p| {
            join_name(name, prefix, inner);
            visit(name, p)
        })
    });
}

/// Visits `child`'s buffers with names prefixed by `prefix.` (for nested models).
pub fn visit_child_buffers<F: Float>(
    prefix: &str,
    child: &mut dyn Parameters<F>,
    visit: &mut dyn FnMut(&str, &mut Mat<F>),
) {
    with_name_buffer(|name| {
        child.visit_buffers(&mut |inner, m| {
            join_name(name, prefix, inner);
            visit(name, m)
        })
    });
}

/// Sets every parameter's gradient to zero.
pub fn zero_grad<F: Float>(model: &mut dyn Parameters<F>) {
    model.visit_params(&mut |_, p| p.zero_grad());
}

/// The parameters' names in visiting order.
pub fn param_names<F: Float>(model: &mut dyn Parameters<F>) -> Vec<String> {
    let mut names = Vec::new();
    model.visit_params(&mut |n, _| names.push(n.to_string()));
    names
}

/// Total number of trainable scalars.
pub fn param_count<F: Float>(model: &mut dyn Parameters<F>) -> usize {
    let mut count = 0;
    model.visit_params(&mut |_, p| count += p.len());
    count
}

/// Copies every parameter value out, by name (for restore-best-weights and tests).
pub fn snapshot<F: Float>(model: &mut dyn Parameters<F>) -> Vec<(String, Mat<F>)> {
    let mut out = Vec::new();
    model.visit_params(&mut |n, p| out.push((n.to_string(), p.value.clone())));
    out
}

/// Writes back values taken by [`snapshot`] from a model of the same architecture.
///
/// # Errors
/// If a name or shape differs.
pub fn restore<F: Float>(
    model: &mut dyn Parameters<F>,
    values: &[(String, Mat<F>)],
) -> crate::Result<()> {
    let mut i = 0;
    let mut err = None;
    model.visit_params(&mut |n, p| {
        if err.is_some() {
            return;
        }
        match values.get(i) {
            Some((name, v)) if name == n && v.shape() == p.value.shape() => p.value.copy_from(v),
            Some((name, v)) => {
                err = Some(crate::Error::Shape {
                    context: format!("restore parameter {n}"),
                    expected: format!("{n} {:?}", p.value.shape()),
                    got: format!("{name} {:?}", v.shape()),
                })
            }
            None => err = Some(crate::Error::Data(format!("restore: no value for {n}"))),
        }
        i += 1;
    });
    match err {
        Some(e) => Err(e),
        None if i != values.len() => Err(crate::Error::Data(format!(
            "restore: {} values for {i} parameters",
            values.len()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two linear layers inside a block inside a model: names nest as `block.0.weight`, and
    /// the reused name buffers give the same names on every visit (the second visit runs with
    /// the buffers the first left behind), for parameters and buffers alike.
    #[test]
    fn nested_children_are_named_the_same_on_every_visit() {
        struct Block(Vec<crate::Linear<f64>>, Mat<f64>);
        impl Parameters<f64> for Block {
            fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<f64>)) {
                for (i, l) in self.0.iter_mut().enumerate() {
                    visit_child(&i.to_string(), l, visit);
                }
            }
            fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<f64>)) {
                visit("running", &mut self.1);
            }
        }
        struct Model(Block, crate::Linear<f64>);
        impl Parameters<f64> for Model {
            fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<f64>)) {
                visit_child("block", &mut self.0, visit);
                visit_child("head", &mut self.1, visit);
            }
            fn visit_buffers(&mut self, visit: &mut dyn FnMut(&str, &mut Mat<f64>)) {
                visit_child_buffers("block", &mut self.0, visit);
            }
        }
        let rng = &mut crate::rng(0);
        let layers = (0..2).map(|_| crate::Linear::new(2, 2, rng)).collect();
        let mut model = Model(
            Block(layers, Mat::zeros(1, 1)),
            crate::Linear::new(2, 1, rng),
        );
        let expected = [
            "block.0.weight",
            "block.0.bias",
            "block.1.weight",
            "block.1.bias",
            "head.weight",
            "head.bias",
        ];
        for _ in 0..2 {
            assert_eq!(param_names(&mut model), expected);
            let mut buffers = Vec::new();
            model.visit_buffers(&mut |n, _| buffers.push(n.to_string()));
            assert_eq!(buffers, ["block.running"]);
        }
    }
}
