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
//! The optimizers' fused Adam pass (`optimizer.rs`, `AdamPass`) is the same idea written out
//! for its four slices, with an AVX-512 copy as well.
//!
//! [`map`], [`map_into`], [`zip_map`] and [`zip2_map`] are per-entry loops compiled both ways;
//! [`wide`] runs a closure (a short loop) in the AVX2 copy. Use them for loops that dominate a
//! step (activations and their derivatives, the sampling of binary units); a loop that is not
//! the hot spot gains nothing.
//!
//! ```
//! let mut z = vec![0.5_f32; 1000];
//! optim::simd::wide(|| z.iter_mut().for_each(|v| *v = optim::activation::sigmoid(*v)));
//! assert_eq!(z[999], optim::activation::sigmoid(0.5));
//! ```

/// Runs `f`, compiled for AVX2 when the CPU has it (see the module docs). `f`'s result is the
/// same on every CPU.
///
/// The compiler decides whether to inline `f` into the AVX2 copy; it does for a short loop
/// (the RBM's sampling and sigmoid passes), not for a large closure (a `match` over several
/// loops stays a separate baseline function). For a per-entry map use [`map`], [`map_into`],
/// [`zip_map`] or [`zip2_map`], whose loop is the AVX2 function itself.
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

/// Defines a public per-entry loop `$name` over equal-length slices, its body compiled twice
/// (baseline and AVX2), the AVX2 copy chosen at run time.
macro_rules! entrywise {
    (
        $(#[$doc:meta])*
        $name:ident, $avx2:ident, ($out:ident $(, $input:ident)*), $f:ident: Fn($($a:ident),*), $body:block
    ) => {
        $(#[$doc])*
        ///
        /// # Panics
        /// If the slices' lengths differ.
        #[inline]
        pub fn $name<F: Copy>(
            $out: &mut [F],
            $($input: &[F],)*
            $f: impl Fn($($a),*) -> F,
        ) {
            $(assert_eq!($out.len(), $input.len(), concat!(stringify!($name), ": lengths"));)*
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2") {
                    #[allow(unsafe_code)]
                    // SAFETY: AVX2 is present (checked above); the lengths agree.
                    return unsafe { $avx2($out, $($input,)* $f) };
                }
            }
            $body
        }

        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        #[target_feature(enable = "avx2")]
        unsafe fn $avx2<F: Copy>($out: &mut [F], $($input: &[F],)* $f: impl Fn($($a),*) -> F) {
            $body
        }
    };
}

entrywise!(
    /// `x ← f(x)` for every entry of `xs`.
    ///
    /// ```
    /// let mut x = [1.0_f32, -2.0];
    /// optim::simd::map(&mut x, |v| v * v);
    /// assert_eq!(x, [1.0, 4.0]);
    /// ```
    map, map_avx2, (xs), f: Fn(F), {
        for x in xs.iter_mut() {
            *x = f(*x);
        }
    }
);

entrywise!(
    /// `yᵢ ← f(xᵢ)`.
    map_into, map_into_avx2, (ys, xs), f: Fn(F), {
        for (y, &x) in ys.iter_mut().zip(xs) {
            *y = f(x);
        }
    }
);

entrywise!(
    /// `yᵢ ← f(yᵢ, xᵢ)` (e.g. a gradient times a derivative).
    zip_map, zip_map_avx2, (ys, xs), f: Fn(F, F), {
        for (y, &x) in ys.iter_mut().zip(xs) {
            *y = f(*y, x);
        }
    }
);

entrywise!(
    /// `yᵢ ← f(yᵢ, aᵢ, bᵢ)`.
    zip2_map, zip2_map_avx2, (ys, a, b), f: Fn(F, F, F), {
        for ((y, &a), &b) in ys.iter_mut().zip(a).zip(b) {
            *y = f(*y, a, b);
        }
    }
);

#[cfg(test)]
mod tests {
    use super::wide;
    use crate::activation::{Activation, sigmoid};

    fn act_gelu(v: f32) -> f32 {
        Activation::Gelu.f(v)
    }

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
        // the per-entry maps, against plain loops
        let mut m = z.clone();
        super::map(&mut m, act_gelu);
        let mut mi = vec![0.0; z.len()];
        super::map_into(&mut mi, &z, act_gelu);
        let mut zm = z.clone();
        super::zip_map(&mut zm, &z, |y, x| {
            y * crate::activation::gelu_derivative(x)
        });
        let mut z2 = z.clone();
        super::zip2_map(&mut z2, &z, &m, |y, a, b| y * a - b);
        for i in 0..z.len() {
            let g = act_gelu(z[i]);
            assert_eq!(m[i].to_bits(), g.to_bits());
            assert_eq!(mi[i].to_bits(), g.to_bits());
            let d = z[i] * crate::activation::gelu_derivative(z[i]);
            assert_eq!(zm[i].to_bits(), d.to_bits());
            assert_eq!(z2[i].to_bits(), (z[i] * z[i] - g).to_bits());
        }
    }
}
