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
//! [`map`], [`map_into`], [`map_into2`], [`zip_map`] and [`zip2_map`] are per-entry loops compiled both ways;
//! [`wide`] runs a closure (a short loop) in the AVX2 copy, [`run`] a [`Kernel`] (a loop body of any size). [`sum_map`] and [`sum_zip_map`] are sums
//! in sixteen partial sums, in a fixed order. Use them for loops that dominate a
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

/// A loop body for [`run`]: the robust form of [`wide`] for a body too large for the compiler
/// to inline a closure (several slices, several formulas per entry).
///
/// Implement `run` with `#[inline(always)]` (and mark the functions it calls the same way):
/// then the body is compiled into [`run`]'s AVX2 copy whatever its size. A closure cannot be
/// marked so, which is why [`wide`] is only reliable for short ones.
///
/// ```
/// struct Axpy<'a> { a: f32, x: &'a [f32], y: &'a mut [f32] }
/// impl optim::simd::Kernel for Axpy<'_> {
///     type Output = ();
///     #[inline(always)]
///     fn run(self) {
///         for (y, &x) in self.y.iter_mut().zip(self.x) {
///             *y += self.a * x;
///         }
///     }
/// }
/// let mut y = [1.0_f32; 3];
/// optim::simd::run(Axpy { a: 2.0, x: &[1.0, 2.0, 3.0], y: &mut y });
/// assert_eq!(y, [3.0, 5.0, 7.0]);
/// ```
pub trait Kernel {
    /// What the body returns.
    type Output;
    /// The body; mark it `#[inline(always)]`.
    fn run(self) -> Self::Output;
}

/// Runs `kernel`, compiled for AVX2 when the CPU has it; the same result on every CPU (module
/// docs).
#[inline]
pub fn run<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            #[allow(unsafe_code)]
            // SAFETY: `avx2` only enables instructions, which the check above found on this CPU.
            return unsafe { run_avx2(kernel) };
        }
    }
    kernel.run()
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2<K: Kernel>(kernel: K) -> K::Output {
    kernel.run()
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

/// `(yᵢ, dᵢ) ← f(xᵢ)`: two results of one per-entry computation (an activation and its
/// derivative, which share their costly part), compiled both ways like [`map`].
///
/// # Panics
/// If the slices' lengths differ.
#[inline]
pub fn map_into2<F: Copy>(ys: &mut [F], ds: &mut [F], xs: &[F], f: impl Fn(F) -> (F, F)) {
    assert_eq!(ys.len(), xs.len(), "map_into2: lengths");
    assert_eq!(ds.len(), xs.len(), "map_into2: lengths");
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            #[allow(unsafe_code)]
            // SAFETY: AVX2 is present (checked above); the lengths agree.
            return unsafe { map_into2_avx2(ys, ds, xs, f) };
        }
    }
    map_into2_body(ys, ds, xs, f);
}

#[inline(always)]
fn map_into2_body<F: Copy>(ys: &mut [F], ds: &mut [F], xs: &[F], f: impl Fn(F) -> (F, F)) {
    for ((y, d), &x) in ys.iter_mut().zip(ds.iter_mut()).zip(xs) {
        (*y, *d) = f(x);
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2")]
unsafe fn map_into2_avx2<F: Copy>(ys: &mut [F], ds: &mut [F], xs: &[F], f: impl Fn(F) -> (F, F)) {
    map_into2_body(ys, ds, xs, f);
}

/// Partial sums of [`sum_map`] and [`sum_zip_map`]: two AVX2 registers of `f32` (four of `f64`).
const LANES: usize = 16;

/// `Σᵢ f(xᵢ)`, in [`LANES`] interleaved partial sums (lane `j` adds the entries `j`, `j + 16`,
/// `j + 32`, …), added up at the end in a fixed tree.
///
/// One running sum makes every addition wait for the one before (about 4 cycles each); sixteen
/// independent ones fill the vector adder, so a sum over a column of a few hundred entries (a
/// layer norm's mean and variance) costs a few cycles, not a few hundred. The order is fixed,
/// so the result is the same on every CPU and thread count; it is not the bits of a
/// left-to-right sum.
///
/// ```
/// let x: Vec<f64> = (1..=100).map(f64::from).collect();
/// assert_eq!(optim::simd::sum_map(&x, |v| v), 5050.0);
/// ```
#[inline]
pub fn sum_map<T: Copy, S: crate::Float>(xs: &[T], f: impl Fn(T) -> S) -> S {
    sum_zip_map(xs, xs, |x, _| f(x))
}

/// `Σᵢ f(aᵢ, bᵢ)` in the partial sums of [`sum_map`] (e.g. a squared distance, a dot product).
///
/// # Panics
/// If the slices' lengths differ.
#[inline]
pub fn sum_zip_map<T: Copy, S: crate::Float>(a: &[T], b: &[T], f: impl Fn(T, T) -> S) -> S {
    assert_eq!(a.len(), b.len(), "sum_zip_map: lengths");
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            #[allow(unsafe_code)]
            // SAFETY: AVX2 is present (checked above).
            return unsafe { sum_zip_map_avx2(a, b, f) };
        }
    }
    sum_zip_map_body(a, b, f)
}

#[inline(always)]
fn sum_zip_map_body<T: Copy, S: crate::Float>(a: &[T], b: &[T], f: impl Fn(T, T) -> S) -> S {
    let mut lanes = [S::zero(); LANES];
    let (a16, b16) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (a16.remainder(), b16.remainder());
    for (x, y) in a16.zip(b16) {
        for ((s, &x), &y) in lanes.iter_mut().zip(x).zip(y) {
            *s += f(x, y);
        }
    }
    for ((s, &x), &y) in lanes.iter_mut().zip(ra).zip(rb) {
        *s += f(x, y);
    }
    // a fixed tree: lanes j and j + 8, then j and j + 4, …
    let mut width = LANES / 2;
    while width > 0 {
        for j in 0..width {
            lanes[j] += lanes[j + width];
        }
        width /= 2;
    }
    lanes[0]
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2")]
unsafe fn sum_zip_map_avx2<T: Copy, S: crate::Float>(a: &[T], b: &[T], f: impl Fn(T, T) -> S) -> S {
    sum_zip_map_body(a, b, f)
}

#[cfg(test)]
mod tests {
    use super::wide;
    use crate::activation::{Activation, sigmoid};

    fn act_gelu(v: f32) -> f32 {
        Activation::Gelu.f(v)
    }

    /// The sums: the AVX2 copy and the baseline give the same bits, close to the exact value.
    #[test]
    fn partial_sums_are_fixed_and_accurate() {
        for n in [0, 1, 15, 16, 17, 100, 1001] {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013)
                .collect();
            let fast = super::sum_map(&x, |v| v * v);
            let base = super::sum_zip_map_body(&x, &x, |v, _| v * v);
            assert_eq!(fast.to_bits(), base.to_bits(), "n = {n}");
            let exact: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            assert!(
                (f64::from(fast) - exact).abs() <= 1e-5 * exact.max(1.0),
                "n = {n}"
            );
            let dot = super::sum_zip_map(&x, &x, |a, b| f64::from(a) * f64::from(b));
            assert!((dot - exact).abs() <= 1e-9 * exact.max(1.0), "n = {n}");
        }
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
        let (mut y2, mut d2) = (vec![0.0; z.len()], vec![0.0; z.len()]);
        super::map_into2(&mut y2, &mut d2, &z, |v| {
            (act_gelu(v), crate::activation::gelu_derivative(v))
        });
        for i in 0..z.len() {
            let g = act_gelu(z[i]);
            assert_eq!(m[i].to_bits(), g.to_bits());
            assert_eq!(mi[i].to_bits(), g.to_bits());
            let d = z[i] * crate::activation::gelu_derivative(z[i]);
            assert_eq!(zm[i].to_bits(), d.to_bits());
            assert_eq!(z2[i].to_bits(), (z[i] * z[i] - g).to_bits());
            assert_eq!(y2[i].to_bits(), g.to_bits());
            let dg = crate::activation::gelu_derivative(z[i]);
            assert_eq!(d2[i].to_bits(), dg.to_bits());
        }
    }
}
