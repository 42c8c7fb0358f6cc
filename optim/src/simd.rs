//! Wider vectors for element-wise loops, chosen when the program runs.
//!
//! The build targets the baseline x86-64 CPU (no `-C target-cpu`), so the compiler vectorizes an
//! element-wise loop such as `y = σ(z)` with 4-wide SSE2 instructions only. The matrix products
//! already pick their kernel at run time (the `gemm` crate). [`wide`] does the same for any
//! element-wise loop: it runs a closure inside a function compiled for AVX2. The closure is
//! inlined there, so its loops use 8-wide `f32` vectors. The choice is made once per call:
//!
//! ```text
//! CPU has AVX2 (is_x86_feature_detected)  →  f inlined into an AVX2 copy of the function
//! otherwise, or not x86-64                 →  f as compiled for the baseline
//! ```
//!
//! **Same bits either way.** Only the vector width changes. Rust never contracts `a·b + c` into
//! one fused multiply-add on its own, and never reorders a floating-point sum, so every entry is
//! computed by the same operations in the same order on every CPU. A checkpoint trained on a
//! machine with AVX2 is bit for bit the one trained without it (the unit test below compares
//! the two paths).
//!
//! Use it around loops that dominate a step (activations and their derivatives, the sampling of
//! binary units); a loop that is not the hot spot gains nothing from it.
//!
//! ```
//! let mut z = vec![0.5_f32; 1000];
//! optim::simd::wide(|| z.iter_mut().for_each(|v| *v = optim::activation::sigmoid(*v)));
//! assert_eq!(z[999], optim::activation::sigmoid(0.5));
//! ```

/// Runs `f`, compiled for AVX2 when the CPU has it (see the module docs). `f`'s result is the
/// same on every CPU.
#[inline]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            #[allow(unsafe_code)]
            // SAFETY: `avx2` only enables instructions, which the check above found on this CPU.
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// `f` inlined into a function the compiler may fill with AVX2 instructions.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::wide;
    use crate::activation::{Activation, sigmoid};

    /// The dispatched loop gives the baseline's bits, entry for entry, on a range that covers
    /// every branch of `exp_f32`'s clamping and GELU's tails.
    #[test]
    fn same_bits_as_the_baseline_loop() {
        let z: Vec<f32> = (0..20_001).map(|i| (i as f32 - 10_000.0) * 0.011).collect();
        for act in [Activation::Sigmoid, Activation::Gelu, Activation::Tanh] {
            let plain: Vec<u32> = z.iter().map(|&v| act.f(v).to_bits()).collect();
            let mut fast = z.clone();
            wide(|| fast.iter_mut().for_each(|v| *v = act.f(*v)));
            let fast: Vec<u32> = fast.iter().map(|v| v.to_bits()).collect();
            assert_eq!(plain, fast, "{act:?}");
        }
        let mut s = z.clone();
        wide(|| s.iter_mut().for_each(|v| *v = sigmoid(*v)));
        assert_eq!(s[0].to_bits(), sigmoid(z[0]).to_bits());
    }
}
