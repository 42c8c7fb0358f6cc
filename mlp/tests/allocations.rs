//! The training step reuses its buffers: after the first step, the only allocations of a step
//! (zero_grad, `Trainable::train_batch`, the optimizer step) are the loss gradient that
//! `optim::loss` returns (the network then keeps it as its top buffer) and those made inside the matrix-product kernel (`optim::linalg::gemm`, whose `gemm`
//! crate allocates a packing buffer per call). A counting allocator (per thread, so other
//! tests' threads do not interfere) checks it: a step allocates exactly as often as its
//! products alone do, plus one.
#![allow(unsafe_code)] // a counting global allocator needs `unsafe impl GlobalAlloc`

use mlp::Config;
use optim::data::Dataset;
use optim::{Adam, Mat};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// Allocations made by `optim::linalg::gemm` alone for products of these shapes
/// `(m, n, k, transpose a, transpose b)`, measured on a second run (after any first-call setup).
fn gemm_allocations(shapes: &[(usize, usize, usize, bool, bool)]) -> usize {
    let mut total = 0;
    for round in 0..2 {
        total = 0;
        for &(m, n, k, ta, tb) in shapes {
            let a = if ta {
                Mat::<f32>::zeros(k, m)
            } else {
                Mat::zeros(m, k)
            };
            let b = if tb {
                Mat::<f32>::zeros(n, k)
            } else {
                Mat::zeros(k, n)
            };
            let mut c = Mat::zeros(m, n);
            let before = allocations();
            optim::linalg::gemm(1.0, &a, ta, &b, tb, 0.0, &mut c);
            total += allocations() - before;
        }
        let _ = round;
    }
    total
}

#[test]
fn a_training_step_allocates_only_the_loss_gradient_beyond_the_products() {
    // (configuration, the products of one step: forward W·X, backward dY·Xᵀ and Wᵀ·dY)
    let deep = [
        (32, 16, 20, false, false),
        (16, 16, 32, false, false),
        (5, 16, 16, false, false),
        (5, 16, 16, false, true),
        (16, 16, 5, true, false),
        (16, 32, 16, false, true),
        (32, 16, 16, true, false),
        (32, 20, 16, false, true),
    ];
    let shallow = [
        (32, 16, 20, false, false),
        (3, 16, 32, false, false),
        (3, 32, 16, false, true),
        (32, 16, 3, true, false),
        (32, 20, 16, false, true),
    ];
    let cases = [
        (Config::classifier(20, &[32, 16], 5), &deep[..]),
        (
            Config::classifier(20, &[32, 16], 5)
                .batch_norm(true)
                .dropout(0.3),
            &deep[..],
        ),
        (
            Config::regressor(20, &[32], 3).activation(optim::Activation::Tanh),
            &shallow[..],
        ),
    ];
    for (config, products) in cases {
        let mut rng = optim::rng(0);
        let x = Mat::<f32>::from_fn(20, 16, |i, j| ((i * 3 + j * 5) % 7) as f32 / 7.0);
        let batch = if config.loss.is_classification() {
            Dataset::classification(x, (0..16).map(|j| j % 5).collect()).unwrap()
        } else {
            Dataset::regression(x, Mat::from_fn(3, 16, |i, j| (i + j) as f32 / 10.0)).unwrap()
        };
        let mut model = config.init::<f32>(&mut rng).unwrap();
        let mut adam = Adam::new(1e-3).unwrap();
        let all: Vec<usize> = (0..16).collect();
        // the first steps size every buffer and the optimizer's state (element-wise layers
        // back-propagate in place by swapping buffers, which settles after a few steps)
        for _ in 0..3 {
            model.train_step(&mut adam, &batch, &all, &mut rng).unwrap();
        }
        let kernel = gemm_allocations(products);
        let steps = 10;
        let before = allocations();
        for _ in 0..steps {
            model.train_step(&mut adam, &batch, &all, &mut rng).unwrap();
        }
        let per_step = (allocations() - before) as f64 / steps as f64;
        println!("{config}: {per_step} allocations per step, {kernel} of them in gemm");
        assert!(
            per_step <= (kernel + 1) as f64,
            "{config}: {per_step} allocations per step, the products alone make {kernel}"
        );
    }
}
