//! Kohonen's self-organizing map (notes §10, 自组织映射: *topology preserving*).
//!
//! A SOM is a grid of units, each holding a weight vector `w_k` in input space. Training is
//! competitive and cooperative at once: for an input `x` the **best-matching unit**
//! `c = argmin_k ‖x − w_k‖` wins, and every unit moves toward `x` in proportion to how close it
//! sits to the winner *on the grid*:
//!
//! ```text
//! w_k ← w_k + η(t) · h(‖p_k − p_c‖; σ(t)) · (x − w_k)
//! ```
//!
//! where `p_k` is unit `k`'s position on the grid, `η(t)` the learning rate and `σ(t)` the
//! neighbourhood radius, both decaying with the iteration `t`. Because neighbours on the grid are
//! pulled toward the same inputs, nearby units end up with nearby weights: the map preserves the
//! topology of the data, a 2-D picture of a high-dimensional distribution (the ancestor of every
//! learned embedding).
//!
//! Every definition follows MiniSom 2.3.6 (the reference the tests compare against), so figures
//! are comparable:
//!
//! | | definition |
//! |---|---|
//! | grid positions | rectangular `p_(i,j) = (i, j)`; hexagonal `(i − ½[j even], j·√3/2)` |
//! | Gaussian `h` | `exp(−d²/(2σ²))` with `d` the distance between grid positions |
//! | Mexican hat `h` | `exp(−d²/(2σ²)) · (1 − d²/σ²)` |
//! | bubble `h` | `1` if `|i − i_c| < σ` and `|j − j_c| < σ` (grid indices), else `0` |
//! | asymptotic decay | `x(t) = x₀ / (1 + t/(T/2))` |
//! | linear decay | `x(t) = x₀ + (x_end − x₀) t/T` (MiniSom's `linear_decay_to_zero` is `x_end = 0`) |
//! | exponential decay | `x(t) = x₀ (x_end/x₀)^{t/T}` |
//! | random order | the indices `t mod n` for `t < T`, shuffled (drawn one at a time from the remaining counts, so memory is `O(n)`, not `O(T)`) |
//! | batch training | `w_k ← (1 − η) w_k + η Σ_n h_{k c(n)} x_n / Σ_n h_{k c(n)}` (units with a positive denominator) |
//! | quantization error | `mean_n ‖x_n − w_{c(n)}‖` (distance, not squared) |
//! | topographic error | the fraction of inputs whose two best units are not adjacent: rectangular grids count the 8 surrounding units (diagonals included) as adjacent; hexagonal grids the 6 at distance 1 |
//! | U-matrix | for each unit, the sum (or mean) of distances to its grid neighbours' weights (8 on rectangular grids, 6 on hexagonal), divided by the largest such value |
//! | random init | uniform in `[−1, 1]^d`, each vector scaled to unit length |
//! | sample init | each unit a random training example (with replacement) |
//! | PCA init | `w_(i,j) = x̄ + a_i v₁ + b_j v₂`, `a, b` evenly spaced in `[−1, 1]`, `v₁, v₂` the unit leading eigenvectors of the covariance |
//!
//! One deliberate difference: on hexagonal grids MiniSom shifts the rows `ny − 1, ny − 3, …`, which
//! are the even rows only when `ny` is odd, while its U-matrix always assumes the even rows are
//! shifted. Here the even rows are always shifted, so the neighbourhood function, the U-matrix and
//! the topographic error agree on every grid (and match MiniSom exactly for odd `ny`).
//!
//! A radius `σ = 0` is allowed and means winner-take-all (`h = 1` at the winner, 0 elsewhere — the
//! limit of the Gaussian): the SOM degenerates into online k-means.
//!
//! ```
//! use classic::som::{Grid, Neighbourhood, Som, Topology};
//! let grid = Grid::new(3, 3, Topology::Rectangular).unwrap();
//! let mut som = Som::<f64>::new(grid, 2, Neighbourhood::Gaussian, &mut optim::rng(0)).unwrap();
//! som.weights.value.fill(0.0);
//! // the winner (unit (1, 1), index 4) moves by η; its side neighbours by η·e^{−1/2}
//! let x = [1.0, 0.0];
//! som.update(&x, 4, 0.5, 1.0);
//! assert_eq!(som.weights.value[(0, 4)], 0.5);
//! assert!((som.weights.value[(0, 1)] - 0.5 * (-0.5f64).exp()).abs() < 1e-15);
//! assert_eq!(som.winner(&x), (1, 1));
//! ```

use optim::checkpoint::Saveable;
use optim::train::{EpochRecord, History, Progress};
use optim::{Error, Float, Mat, Param, Parameters, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// How units are arranged on the map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    /// A square lattice; each inner unit has 8 neighbours (diagonals included).
    Rectangular,
    /// A hexagonal lattice (even rows shifted left by ½); each inner unit has 6 neighbours.
    Hexagonal,
}

impl Topology {
    /// The name, as configurations spell it.
    pub fn name(self) -> &'static str {
        match self {
            Topology::Rectangular => "rectangular",
            Topology::Hexagonal => "hexagonal",
        }
    }

    /// Parses [`Topology::name`].
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "rectangular" => Ok(Topology::Rectangular),
            "hexagonal" => Ok(Topology::Hexagonal),
            other => Err(Error::Data(format!("unknown SOM topology {other:?}"))),
        }
    }
}

/// The map's grid: `nx x ny` units; unit `(i, j)` has index `k = i·ny + j` (MiniSom's order).
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// Units along the first index `i` (MiniSom's `x`).
    pub nx: usize,
    /// Units along the second index `j` (MiniSom's `y`).
    pub ny: usize,
    /// Rectangular or hexagonal.
    pub topology: Topology,
    positions: Vec<(f64, f64)>,
}

impl Grid {
    /// A grid of `nx x ny` units.
    ///
    /// # Errors
    /// If `nx` or `ny` is 0, or `nx · ny` overflows.
    pub fn new(nx: usize, ny: usize, topology: Topology) -> Result<Self> {
        let units = Self::checked_units(nx, ny)?;
        let positions = (0..units)
            .map(|k| {
                let (i, j) = (k / ny, k % ny);
                match topology {
                    Topology::Rectangular => (i as f64, j as f64),
                    Topology::Hexagonal => (
                        i as f64 - if j % 2 == 0 { 0.5 } else { 0.0 },
                        j as f64 * (3.0f64).sqrt() / 2.0,
                    ),
                }
            })
            .collect();
        Ok(Self {
            nx,
            ny,
            topology,
            positions,
        })
    }

    /// `nx · ny`, checked: at least one unit along each side, no overflow (a configuration
    /// asking for `2³² x 2³²` units is refused, not wrapped).
    ///
    /// # Errors
    /// [`Error::Hyperparameter`] naming the grid size.
    pub fn checked_units(nx: usize, ny: usize) -> Result<usize> {
        if nx == 0 || ny == 0 {
            return Err(Error::hyper(
                "grid size",
                format!("{nx} x {ny}"),
                "a map needs at least one unit along each side",
            ));
        }
        nx.checked_mul(ny).ok_or_else(|| {
            Error::hyper(
                "grid size",
                format!("{nx} x {ny}"),
                "the number of units overflows",
            )
        })
    }

    /// Number of units `nx · ny`.
    pub fn units(&self) -> usize {
        self.nx * self.ny
    }

    /// `(i, j)` of unit `k`.
    pub fn coords(&self, k: usize) -> (usize, usize) {
        (k / self.ny, k % self.ny)
    }

    /// Index `k = i·ny + j` of unit `(i, j)`.
    pub fn index(&self, i: usize, j: usize) -> usize {
        i * self.ny + j
    }

    /// Position of unit `k` in the plane (what a plot of the map draws).
    pub fn position(&self, k: usize) -> (f64, f64) {
        self.positions[k]
    }

    /// Squared distance between the grid positions of units `a` and `b`.
    pub fn distance2(&self, a: usize, b: usize) -> f64 {
        let (p, q) = (self.positions[a], self.positions[b]);
        (p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)
    }

    /// Whether two distinct units are adjacent: within the 8-neighbourhood on rectangular grids
    /// (MiniSom's `distance ≤ 1.42` on indices), at distance 1 on hexagonal grids.
    pub fn adjacent(&self, a: usize, b: usize) -> bool {
        if a == b {
            return false;
        }
        match self.topology {
            Topology::Rectangular => {
                let ((ai, aj), (bi, bj)) = (self.coords(a), self.coords(b));
                ai.abs_diff(bi) <= 1 && aj.abs_diff(bj) <= 1
            }
            Topology::Hexagonal => (self.distance2(a, b).sqrt() - 1.0).abs() <= 1e-8 + 1e-5,
        }
    }

    /// The grid neighbours of unit `k` (8 or fewer on rectangular grids, 6 or fewer on
    /// hexagonal), in MiniSom's U-matrix order.
    pub fn neighbours(&self, k: usize) -> Vec<usize> {
        let (i, j) = self.coords(k);
        let offsets: &[(isize, isize)] = match self.topology {
            Topology::Rectangular => &[
                (0, -1),
                (-1, -1),
                (-1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
                (1, 0),
                (1, -1),
            ],
            Topology::Hexagonal if j % 2 == 0 => {
                &[(0, 1), (1, 0), (0, -1), (-1, -1), (-1, 0), (-1, 1)]
            }
            Topology::Hexagonal => &[(1, 1), (1, 0), (1, -1), (0, -1), (-1, 0), (0, 1)],
        };
        offsets
            .iter()
            .filter_map(|&(di, dj)| {
                let (a, b) = (i as isize + di, j as isize + dj);
                (a >= 0 && b >= 0 && (a as usize) < self.nx && (b as usize) < self.ny)
                    .then(|| self.index(a as usize, b as usize))
            })
            .collect()
    }
}

/// The neighbourhood function `h` of grid distance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Neighbourhood {
    /// `exp(−d²/(2σ²))`.
    Gaussian,
    /// `1` inside the square `|Δi| < σ, |Δj| < σ` of grid indices, `0` outside.
    Bubble,
    /// `exp(−d²/(2σ²))·(1 − d²/σ²)`: pulls neighbours in, pushes the ring beyond `σ` away.
    MexicanHat,
}

impl Neighbourhood {
    /// The name, as configurations spell it.
    pub fn name(self) -> &'static str {
        match self {
            Neighbourhood::Gaussian => "gaussian",
            Neighbourhood::Bubble => "bubble",
            Neighbourhood::MexicanHat => "mexican_hat",
        }
    }

    /// Parses [`Neighbourhood::name`].
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "gaussian" => Ok(Neighbourhood::Gaussian),
            "bubble" => Ok(Neighbourhood::Bubble),
            "mexican_hat" => Ok(Neighbourhood::MexicanHat),
            other => Err(Error::Data(format!("unknown SOM neighbourhood {other:?}"))),
        }
    }

    /// `h` for every unit around the winner `c`, into `out` (length `units`).
    pub fn evaluate(self, grid: &Grid, c: usize, sigma: f64, out: &mut [f64]) {
        debug_assert_eq!(out.len(), grid.units());
        if sigma <= 0.0 && self != Neighbourhood::Bubble {
            // the σ → 0 limit: winner takes all
            out.fill(0.0);
            out[c] = 1.0;
            return;
        }
        let (ci, cj) = grid.coords(c);
        let d = 2.0 * sigma * sigma;
        for (k, h) in out.iter_mut().enumerate() {
            *h = match self {
                Neighbourhood::Gaussian => (-grid.distance2(k, c) / d).exp(),
                Neighbourhood::MexicanHat => {
                    let p = grid.distance2(k, c);
                    (-p / d).exp() * (1.0 - 2.0 / d * p)
                }
                Neighbourhood::Bubble => {
                    let (i, j) = grid.coords(k);
                    let inside = (i as f64 - ci as f64).abs() < sigma
                        && (j as f64 - cj as f64).abs() < sigma;
                    if inside { 1.0 } else { 0.0 }
                }
            };
        }
    }
}

/// A schedule for the learning rate or the radius over `T` iterations.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    /// `x(t) = x₀`.
    Constant,
    /// `x(t) = x₀ + (end − x₀)·t/T`.
    Linear {
        /// The value approached at `t = T`.
        end: f64,
    },
    /// `x(t) = x₀·(end/x₀)^{t/T}` (`end > 0`).
    Exponential {
        /// The value approached at `t = T`.
        end: f64,
    },
    /// MiniSom's default: `x(t) = x₀ / (1 + t/(T/2))`, reaching `x₀/3` at `t = T`.
    Asymptotic,
}

impl Decay {
    /// The value at iteration `t` of `total`.
    pub fn at(self, x0: f64, t: usize, total: usize) -> f64 {
        let (t, total) = (t as f64, total.max(1) as f64);
        match self {
            Decay::Constant => x0,
            Decay::Linear { end } => x0 + (end - x0) * t / total,
            Decay::Exponential { end } => {
                if x0 == 0.0 {
                    0.0
                } else {
                    x0 * (end / x0).powf(t / total)
                }
            }
            Decay::Asymptotic => x0 / (1.0 + t / (total / 2.0)),
        }
    }

    fn check(self, name: &str) -> Result<()> {
        match self {
            Decay::Linear { end } if !(end.is_finite() && end >= 0.0) => Err(Error::hyper(
                name,
                end,
                "a linear decay must end at a finite value ≥ 0",
            )),
            Decay::Exponential { end } => optim::check_positive(name, end),
            _ => Ok(()),
        }
    }
}

/// How the weights start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SomInit {
    /// Uniform in `[−1, 1]^d`, scaled to unit length (MiniSom's constructor).
    Random,
    /// Random training examples.
    Sample,
    /// The plane of the two leading principal components (deterministic).
    Pca,
}

/// The order in which online training visits examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// `t mod n`.
    Sequential,
    /// `t mod n` for `t < T`, shuffled (MiniSom's `random_order=True`), drawn one at a time.
    Random,
}

/// Online (one example per update) or batch (all examples per update) training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Training {
    /// Kohonen's rule, one example per iteration.
    Online(Order),
    /// Kohonen's batch map: one neighbourhood-weighted average of all examples per iteration.
    Batch,
}

/// Configuration of a map and its training (defaults: MiniSom's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SomConfig {
    /// Units along `i` (default 10).
    pub nx: usize,
    /// Units along `j` (default 10).
    pub ny: usize,
    /// Grid (default rectangular).
    pub topology: Topology,
    /// Neighbourhood function (default Gaussian).
    pub neighbourhood: Neighbourhood,
    /// Initial radius `σ₀ ≥ 0` (default 1; 0 is winner-take-all).
    pub sigma: f64,
    /// Initial learning rate `η₀ ≥ 0` (default 0.5).
    pub learning_rate: f64,
    /// Radius schedule (default asymptotic).
    pub sigma_decay: Decay,
    /// Learning-rate schedule (default asymptotic).
    pub learning_rate_decay: Decay,
    /// Initialization (default random).
    pub init: SomInit,
    /// Iterations `T`: updates for online training, passes for batch training (default 1000).
    pub iterations: usize,
    /// Online (default, random order) or batch.
    pub training: Training,
}

impl Default for SomConfig {
    fn default() -> Self {
        Self {
            nx: 10,
            ny: 10,
            topology: Topology::Rectangular,
            neighbourhood: Neighbourhood::Gaussian,
            sigma: 1.0,
            learning_rate: 0.5,
            sigma_decay: Decay::Asymptotic,
            learning_rate_decay: Decay::Asymptotic,
            init: SomInit::Random,
            iterations: 1000,
            training: Training::Online(Order::Random),
        }
    }
}

impl SomConfig {
    /// MiniSom's set-up of the iris figures: an `n x n` rectangular map, Gaussian neighbourhood,
    /// `η₀ = 0.5`, asymptotic decay of `η` and `σ`, PCA initialization, online training in random
    /// order. `minisom(7, 3.0, 5000)` and `minisom(10, 1.0, 10_000)` are the issue's two maps.
    pub fn minisom(n: usize, sigma: f64, iterations: usize) -> Self {
        Self {
            nx: n,
            ny: n,
            topology: Topology::Rectangular,
            neighbourhood: Neighbourhood::Gaussian,
            sigma,
            learning_rate: 0.5,
            sigma_decay: Decay::Asymptotic,
            learning_rate_decay: Decay::Asymptotic,
            init: SomInit::Pca,
            iterations,
            training: Training::Online(Order::Random),
        }
    }

    /// Checks every setting.
    pub fn validate(&self) -> Result<()> {
        Grid::checked_units(self.nx, self.ny)?;
        if !(self.sigma.is_finite() && self.sigma >= 0.0) {
            return Err(Error::hyper(
                "sigma",
                self.sigma,
                "the neighbourhood radius must be finite and ≥ 0 (0 is winner-take-all)",
            ));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate >= 0.0) {
            return Err(Error::hyper(
                "learning_rate",
                self.learning_rate,
                "must be finite and ≥ 0",
            ));
        }
        self.sigma_decay.check("sigma_decay")?;
        self.learning_rate_decay.check("learning_rate_decay")?;
        if self.iterations == 0 {
            return Err(Error::hyper("iterations", 0, "must be at least 1"));
        }
        Ok(())
    }
}

/// What determines a map's parameters: the configuration stored in its checkpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SomArchitecture {
    /// Units along `i`.
    pub nx: usize,
    /// Units along `j`.
    pub ny: usize,
    /// Rectangular or hexagonal.
    pub topology: Topology,
    /// The neighbourhood function.
    pub neighbourhood: Neighbourhood,
    /// Input dimension.
    pub inputs: usize,
}

/// A self-organizing map.
///
/// # Shapes
/// `weights`: `inputs x units` (parameter `weights`), column `k = i·ny + j` for unit `(i, j)`.
/// Data: `inputs x n`.
#[derive(Clone, Debug)]
pub struct Som<F: Float> {
    /// The grid.
    pub grid: Grid,
    /// The neighbourhood function.
    pub neighbourhood: Neighbourhood,
    /// The units' weights, one column per unit.
    pub weights: Param<F>,
    /// Scratch: `h` of the current update.
    h: Vec<f64>,
}

impl<F: Float> Parameters<F> for Som<F> {
    fn visit_params(&mut self, visit: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit("weights", &mut self.weights);
    }
}

impl<F: Float> Saveable<F> for Som<F> {
    const KIND: &'static str = "som";
    type Config = SomArchitecture;

    fn config(&self) -> SomArchitecture {
        SomArchitecture {
            nx: self.grid.nx,
            ny: self.grid.ny,
            topology: self.grid.topology,
            neighbourhood: self.neighbourhood,
            inputs: self.inputs(),
        }
    }

    fn parameter_count(c: &SomArchitecture) -> Option<usize> {
        c.nx.checked_mul(c.ny)?.checked_mul(c.inputs)
    }

    fn from_config(c: &SomArchitecture) -> Result<Self> {
        let grid = Grid::new(c.nx, c.ny, c.topology)?;
        if c.inputs == 0 {
            return Err(Error::hyper("inputs", 0, "must be at least 1"));
        }
        let units = grid.units();
        Ok(Self {
            grid,
            neighbourhood: c.neighbourhood,
            weights: Param::new(Mat::zeros(c.inputs, units)),
            h: vec![0.0; units],
        })
    }
}

impl<F: Float> Som<F> {
    /// A map on `grid` for `inputs`-dimensional data, weights initialized at random (uniform in
    /// `[−1, 1]^d`, each scaled to unit length, as MiniSom does).
    ///
    /// # Errors
    /// `inputs = 0`.
    pub fn new(
        grid: Grid,
        inputs: usize,
        neighbourhood: Neighbourhood,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        if inputs == 0 {
            return Err(Error::hyper("inputs", 0, "must be at least 1"));
        }
        let units = grid.units();
        let mut som = Self {
            grid,
            neighbourhood,
            weights: Param::new(Mat::zeros(inputs, units)),
            h: vec![0.0; units],
        };
        som.init_random(rng);
        Ok(som)
    }

    /// Builds the map of `config` and initializes it from `data` (`inputs x n`) as `config.init` says.
    pub fn from_config(config: &SomConfig, data: &Mat<F>, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let grid = Grid::new(config.nx, config.ny, config.topology)?;
        if data.nrows() == 0 {
            return Err(Error::Data("Som::from_config: data with 0 features".into()));
        }
        let mut som = Self::new(grid, data.nrows(), config.neighbourhood, rng)?;
        match config.init {
            SomInit::Random => {}
            SomInit::Sample => som.init_sample(data, rng)?,
            SomInit::Pca => som.init_pca(data)?,
        }
        Ok(som)
    }

    /// Input dimension.
    pub fn inputs(&self) -> usize {
        self.weights.value.nrows()
    }

    /// Uniform in `[−1, 1]^d`, each vector scaled to unit length.
    pub fn init_random(&mut self, rng: &mut impl Rng) {
        for mut col in self.weights.value.column_iter_mut() {
            for v in col.iter_mut() {
                *v = F::of(rng.random::<f64>() * 2.0 - 1.0);
            }
            let norm = col.norm();
            if norm > F::zero() {
                col /= norm;
            }
        }
    }

    /// Each unit a random example of `data` (with replacement).
    pub fn init_sample(&mut self, data: &Mat<F>, rng: &mut impl Rng) -> Result<()> {
        optim::check_batch(data, self.inputs(), "Som::init_sample data")?;
        for k in 0..self.grid.units() {
            let pick = rng.random_range(0..data.ncols());
            self.weights.value.set_column(k, &data.column(pick));
        }
        Ok(())
    }

    /// The plane of the two leading principal components: `w_(i,j) = x̄ + a_i v₁ + b_j v₂` with
    /// `a = linspace(−1, 1, nx)`, `b = linspace(−1, 1, ny)` and `v₁, v₂` unit eigenvectors of
    /// the covariance (`1/(n−1)`) for the two largest eigenvalues, each signed so that its largest
    /// component is positive. Deterministic.
    ///
    /// # Errors
    /// Fewer than 2 features or 2 examples, non-finite data.
    pub fn init_pca(&mut self, data: &Mat<F>) -> Result<()> {
        optim::check_batch(data, self.inputs(), "Som::init_pca data")?;
        let (d, n) = data.shape();
        if d < 2 {
            return Err(Error::Data(
                "PCA initialization needs at least 2 features".into(),
            ));
        }
        if n < 2 {
            return Err(Error::Data(
                "PCA initialization needs at least 2 examples".into(),
            ));
        }
        let x = data.map(|v| v.to_f64());
        let mean = x.column_mean();
        let mut centred = x.clone();
        for mut col in centred.column_iter_mut() {
            col -= &mean;
        }
        let cov = &centred * centred.transpose() / (n as f64 - 1.0);
        let eig = cov.symmetric_eigen();
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let pc = |r: usize| {
            let mut v = eig.eigenvectors.column(order[r]).into_owned();
            let big = v
                .iter()
                .cloned()
                .fold(0.0, |a: f64, b| if b.abs() > a.abs() { b } else { a });
            if big < 0.0 {
                v = -v;
            }
            v
        };
        let (v1, v2) = (pc(0), pc(1));
        let lin = |count: usize, idx: usize| {
            if count == 1 {
                -1.0
            } else {
                -1.0 + 2.0 * idx as f64 / (count - 1) as f64
            }
        };
        for k in 0..self.grid.units() {
            let (i, j) = self.grid.coords(k);
            let (a, b) = (lin(self.grid.nx, i), lin(self.grid.ny, j));
            for r in 0..d {
                self.weights.value[(r, k)] = F::of(mean[r] + a * v1[r] + b * v2[r]);
            }
        }
        Ok(())
    }

    /// Euclidean distances from `x` to every unit's weights.
    ///
    /// # Shapes
    /// `x`: `inputs` values → `units` values (the activation map, MiniSom's `activate`).
    pub fn activate(&self, x: &[F]) -> Vec<f64> {
        self.weights
            .value
            .column_iter()
            .map(|w| {
                w.iter()
                    .zip(x)
                    .map(|(&a, &b)| (a.to_f64() - b.to_f64()).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .collect()
    }

    /// The best-matching unit of `x` (the first one on ties).
    pub fn bmu(&self, x: &[F]) -> usize {
        self.bmu_distance2(x).0
    }

    /// The best-matching unit of `x` and its squared distance `‖x − w_c‖²`.
    fn bmu_distance2(&self, x: &[F]) -> (usize, F) {
        let mut best = (F::zero(), usize::MAX);
        for (k, w) in self.weights.value.column_iter().enumerate() {
            let mut d = F::zero();
            for (&a, &b) in w.iter().zip(x) {
                d += (a - b) * (a - b);
            }
            if best.1 == usize::MAX || d < best.0 {
                best = (d, k);
            }
        }
        (best.1, best.0)
    }

    /// `(i, j)` of the best-matching unit of `x` (MiniSom's `winner`).
    pub fn winner(&self, x: &[F]) -> (usize, usize) {
        self.grid.coords(self.bmu(x))
    }

    /// The best and second-best units of every column of `data`.
    fn best_two(&self, data: &Mat<F>) -> Vec<(usize, usize, f64)> {
        data.column_iter()
            .map(|x| {
                let mut b = [(f64::INFINITY, 0usize); 2];
                for (k, w) in self.weights.value.column_iter().enumerate() {
                    let d: f64 = w
                        .iter()
                        .zip(x.iter())
                        .map(|(&a, &b)| (a.to_f64() - b.to_f64()).powi(2))
                        .sum();
                    if d < b[0].0 {
                        b[1] = b[0];
                        b[0] = (d, k);
                    } else if d < b[1].0 {
                        b[1] = (d, k);
                    }
                }
                (b[0].1, b[1].1, b[0].0.sqrt())
            })
            .collect()
    }

    /// The best-matching unit of every column of `data`.
    pub fn bmus(&self, data: &Mat<F>) -> Result<Vec<usize>> {
        optim::check_batch(data, self.inputs(), "Som::bmus data")?;
        Ok(data.column_iter().map(|x| self.bmu(x.as_slice())).collect())
    }

    /// One Kohonen update: `w_k ← w_k + η·h(k, c; σ)·(x − w_k)` for every unit `k`.
    ///
    /// # Panics
    /// If `x` has the wrong length or `c` is not a unit (internal use; checked by the trainers).
    pub fn update(&mut self, x: &[F], c: usize, learning_rate: f64, sigma: f64) {
        assert_eq!(x.len(), self.inputs(), "Som::update: input length");
        self.neighbourhood
            .evaluate(&self.grid, c, sigma, &mut self.h);
        for (k, mut w) in self.weights.value.column_iter_mut().enumerate() {
            let g = F::of(learning_rate * self.h[k]);
            if g == F::zero() {
                continue;
            }
            for (wv, &xv) in w.iter_mut().zip(x) {
                *wv += g * (xv - *wv);
            }
        }
    }

    /// Trains by `config.training` (its grid must be this map's; its initialization is not
    /// applied — see [`Som::from_config`]) and reports through the shared types of
    /// [`optim::train`]: `callback` gets a [`Progress::Step`] after every iteration (with the map
    /// as it is then) and a [`Progress::Epoch`] after every epoch.
    ///
    /// An **epoch** is one pass over the data: `n` online iterations (the last epoch may be
    /// shorter), or one batch-map iteration. A step's `loss` is the quantization distance
    /// `‖x − w_c‖` of its example before the update (online) or the mean over the data (batch);
    /// [`EpochRecord::train_loss`] is their mean over the epoch, its `learning_rate` the `η(t)` of
    /// the epoch's last iteration, and its terms `sigma` (`σ(t)` of that iteration) and
    /// `quantization_error` / `topographic_error` of the map after the epoch (the topographic
    /// error only for maps of two or more units).
    ///
    /// Memory does not grow with `config.iterations`: the random order is drawn one index at a
    /// time from the remaining count of each example ([`ShuffledCounts`]).
    ///
    /// # Errors
    /// Invalid settings, a grid in `config` that is not this map's, empty or non-finite data, a
    /// data dimension that is not the map's, and weights that turn non-finite (naming the
    /// iteration).
    pub fn train(
        &mut self,
        data: &Mat<F>,
        config: &SomConfig,
        rng: &mut impl Rng,
        callback: &mut dyn FnMut(Progress<'_>, &Som<F>),
    ) -> Result<History> {
        let (_, epochs) = self.check_training(data, config)?;
        let mut order = ShuffledCounts::new(data.ncols(), config.iterations);
        let mut t = 0;
        self.run_epochs(data, config, rng, &mut order, &mut t, 1..=epochs, callback)
    }

    /// Validates `config` and `data` for training this map; returns `(examples per epoch,
    /// epochs)`.
    fn check_training(&mut self, data: &Mat<F>, config: &SomConfig) -> Result<(usize, usize)> {
        config.validate()?;
        optim::check_batch(data, self.inputs(), "Som::train data")?;
        if (config.nx, config.ny, config.topology)
            != (self.grid.nx, self.grid.ny, self.grid.topology)
        {
            return Err(Error::Shape {
                context: "Som::train config vs map".into(),
                expected: format!(
                    "{} x {} {}",
                    self.grid.nx,
                    self.grid.ny,
                    self.grid.topology.name()
                ),
                got: format!("{} x {} {}", config.nx, config.ny, config.topology.name()),
            });
        }
        self.neighbourhood = config.neighbourhood;
        let n = data.ncols();
        Ok(match config.training {
            Training::Online(_) => (n, config.iterations.div_ceil(n)),
            Training::Batch => (1, config.iterations),
        })
    }

    /// [`Som::train`] that can stop after any epoch and continue exactly, in this process or
    /// another ([`Som::save_training`] / [`Som::load_training`]): runs the epochs after
    /// `state.epoch` up to `until_epoch` (at most the run's last), drawing from the generator
    /// the state holds, and returns their history and the state after them. Start with
    /// [`SomState::start`]; `until_epoch = N`, then the rest from the returned state, equals
    /// the whole run at once, bit for bit.
    ///
    /// # Errors
    /// As [`Som::train`]; a state that is not of this run (another data size, iteration count
    /// or position).
    pub fn train_resume(
        &mut self,
        data: &Mat<F>,
        config: &SomConfig,
        state: &SomState,
        until_epoch: usize,
        callback: &mut dyn FnMut(Progress<'_>, &Som<F>),
    ) -> Result<(History, SomState)> {
        let (per_epoch, epochs) = self.check_training(data, config)?;
        let n = data.ncols();
        let total = config.iterations;
        let expected_t = state.epoch.saturating_mul(per_epoch).min(total);
        let fresh = state.epoch == 0 && state.remaining.is_empty();
        let mut order = if fresh {
            ShuffledCounts::new(n, total)
        } else {
            ShuffledCounts::from_counts(&state.remaining)
        };
        if state.epoch > epochs
            || state.iterations != expected_t
            || (!fresh && state.remaining.len() != n)
            || order.remaining() != total - expected_t
        {
            return Err(Error::Data(format!(
                "Som::train_resume: the state (epoch {}, {} iterations, {} examples' counts) is not \
                 a point of this run ({n} examples, {total} iterations, {epochs} epochs)",
                state.epoch,
                state.iterations,
                state.remaining.len()
            )));
        }
        let mut rng = state.rng.generator();
        let mut t = state.iterations;
        let last = until_epoch.min(epochs);
        let history = self.run_epochs(
            data,
            config,
            &mut rng,
            &mut order,
            &mut t,
            state.epoch + 1..=last,
            callback,
        )?;
        let after = SomState {
            epoch: last.max(state.epoch),
            iterations: t,
            rng: optim::init::RngState::of(state.rng.seed, state.rng.words, &rng)?,
            remaining: order.counts(),
        };
        Ok((history, after))
    }

    /// The epochs `epochs` of training, from iteration `t` with the remaining random order
    /// `order`.
    #[allow(clippy::too_many_arguments)]
    fn run_epochs(
        &mut self,
        data: &Mat<F>,
        config: &SomConfig,
        rng: &mut impl Rng,
        order: &mut ShuffledCounts,
        t: &mut usize,
        epochs_run: std::ops::RangeInclusive<usize>,
        callback: &mut dyn FnMut(Progress<'_>, &Som<F>),
    ) -> Result<History> {
        let total = config.iterations;
        let n = data.ncols();
        let (per_epoch, epochs) = match config.training {
            Training::Online(_) => (n, total.div_ceil(n)),
            Training::Batch => (1, total),
        };
        let mut history = History::default();
        for epoch in epochs_run {
            let started = Instant::now();
            let steps = per_epoch.min(total - *t);
            let (mut loss_sum, mut lr, mut sigma) = (0.0, 0.0, 0.0);
            for b in 0..steps {
                lr = config
                    .learning_rate_decay
                    .at(config.learning_rate, *t, total);
                sigma = config.sigma_decay.at(config.sigma, *t, total);
                let loss = match config.training {
                    Training::Online(order_kind) => {
                        let i = match order_kind {
                            Order::Random => order.draw(rng),
                            Order::Sequential => *t % n,
                        };
                        let x = data.column(i);
                        let (c, d2) = self.bmu_distance2(x.as_slice());
                        self.update(x.as_slice(), c, lr, sigma);
                        if *t % 1024 == 1023 || *t + 1 == total || b + 1 == steps {
                            self.check_weights(*t)?;
                        }
                        d2.to_f64().sqrt()
                    }
                    Training::Batch => {
                        let qe = self.batch_step(data, lr, sigma);
                        self.check_weights(*t)?;
                        qe
                    }
                };
                loss_sum += loss;
                *t += 1;
                callback(
                    Progress::Step {
                        epoch,
                        epochs,
                        batch: b + 1,
                        batches: steps,
                        step: *t,
                        loss,
                        learning_rate: lr,
                    },
                    self,
                );
            }
            let mut terms = vec![
                ("sigma", sigma),
                ("quantization_error", self.quantization_error(data)?),
            ];
            if self.grid.units() >= 2 {
                terms.push(("topographic_error", self.topographic_error(data)?));
            }
            history.epochs.push(EpochRecord {
                epoch,
                train_loss: loss_sum / steps.max(1) as f64,
                train_accuracy: None,
                train_terms: terms,
                validation: None,
                learning_rate: lr,
                seconds: started.elapsed().as_secs_f64(),
            });
            history.steps = *t;
            callback(
                Progress::Epoch(history.epochs.last().expect("just pushed")),
                self,
            );
        }
        Ok(history)
    }

    /// One pass of the batch map: `w_k ← (1 − η) w_k + η Σ_n h_{k c(n)} x_n / Σ_n h_{k c(n)}` for
    /// every unit whose denominator is positive (MiniSom's `train_batch_offline`). Returns the
    /// quantization error of the map before the pass (the mean distance of the examples to
    /// their best-matching units).
    pub fn batch_step(&mut self, data: &Mat<F>, learning_rate: f64, sigma: f64) -> f64 {
        let (d, units) = self.weights.value.shape();
        let mut numerator = Mat::<f64>::zeros(d, units);
        let mut denominator = vec![0.0; units];
        // all winners first (the weights do not change within a pass)
        let mut distance = 0.0;
        let winners: Vec<usize> = data
            .column_iter()
            .map(|x| {
                let (c, d2) = self.bmu_distance2(x.as_slice());
                distance += d2.to_f64().sqrt();
                c
            })
            .collect();
        // examples grouped by winner: Σ_n h_{k c(n)} x_n = Σ_c h_{kc} Σ_{n: c(n)=c} x_n
        let mut sums = Mat::<f64>::zeros(d, units);
        let mut counts = vec![0.0; units];
        for (x, &c) in data.column_iter().zip(&winners) {
            counts[c] += 1.0;
            for r in 0..d {
                sums[(r, c)] += x[r].to_f64();
            }
        }
        for c in 0..units {
            if counts[c] == 0.0 {
                continue;
            }
            self.neighbourhood
                .evaluate(&self.grid, c, sigma, &mut self.h);
            for k in 0..units {
                let h = self.h[k];
                if h == 0.0 {
                    continue;
                }
                denominator[k] += h * counts[c];
                for r in 0..d {
                    numerator[(r, k)] += h * sums[(r, c)];
                }
            }
        }
        for k in 0..units {
            if denominator[k] > 0.0 {
                for r in 0..d {
                    let w = self.weights.value[(r, k)].to_f64();
                    let target = numerator[(r, k)] / denominator[k];
                    self.weights.value[(r, k)] =
                        F::of((1.0 - learning_rate) * w + learning_rate * target);
                }
            }
        }
        distance / data.ncols().max(1) as f64
    }

    fn check_weights(&self, t: usize) -> Result<()> {
        optim::check_finite(
            &self.weights.value,
            &format!("SOM weights after iteration {t}"),
        )
    }

    /// Mean distance from each example to its best-matching unit's weights.
    pub fn quantization_error(&self, data: &Mat<F>) -> Result<f64> {
        optim::check_batch(data, self.inputs(), "Som::quantization_error data")?;
        let best = self.best_two(data);
        Ok(best.iter().map(|b| b.2).sum::<f64>() / data.ncols() as f64)
    }

    /// The fraction of examples whose best and second-best units are not adjacent on the grid
    /// (see [`Grid::adjacent`]).
    ///
    /// # Errors
    /// Empty data, or a map with a single unit (where it is undefined).
    pub fn topographic_error(&self, data: &Mat<F>) -> Result<f64> {
        optim::check_batch(data, self.inputs(), "Som::topographic_error data")?;
        if self.grid.units() < 2 {
            return Err(Error::Data(
                "the topographic error is undefined for a map with one unit".into(),
            ));
        }
        let best = self.best_two(data);
        let errors = best
            .iter()
            .filter(|&&(a, b, _)| !self.grid.adjacent(a, b))
            .count();
        Ok(errors as f64 / data.ncols() as f64)
    }

    /// The U-matrix: for each unit, the sum (`mean = false`, MiniSom's default) or mean of the
    /// distances between its weights and its grid neighbours' weights, divided by the largest
    /// value (all zeros if every weight is the same).
    ///
    /// # Shapes
    /// Returns `nx x ny`: entry `(i, j)` belongs to unit `(i, j)`.
    pub fn u_matrix(&self, mean: bool) -> Mat<f64> {
        let w = &self.weights.value;
        let mut um = Mat::<f64>::zeros(self.grid.nx, self.grid.ny);
        for k in 0..self.grid.units() {
            let nb = self.grid.neighbours(k);
            let total: f64 = nb
                .iter()
                .map(|&q| {
                    w.column(k)
                        .iter()
                        .zip(w.column(q).iter())
                        .map(|(&a, &b)| (a.to_f64() - b.to_f64()).powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
                .sum();
            let (i, j) = self.grid.coords(k);
            um[(i, j)] = if mean && !nb.is_empty() {
                total / nb.len() as f64
            } else {
                total
            };
        }
        let max = um.max();
        if max > 0.0 {
            um /= max;
        }
        um
    }

    /// How many examples each unit wins.
    ///
    /// # Shapes
    /// Returns `nx x ny`.
    pub fn activation_response(&self, data: &Mat<F>) -> Result<Mat<f64>> {
        let mut a = Mat::<f64>::zeros(self.grid.nx, self.grid.ny);
        for c in self.bmus(data)? {
            let (i, j) = self.grid.coords(c);
            a[(i, j)] += 1.0;
        }
        Ok(a)
    }

    /// The indices of the examples each unit wins (MiniSom's `win_map(return_indices=True)`),
    /// indexed by unit `k = i·ny + j`.
    pub fn winner_map(&self, data: &Mat<F>) -> Result<Vec<Vec<usize>>> {
        let mut map = vec![Vec::new(); self.grid.units()];
        for (n, c) in self.bmus(data)?.into_iter().enumerate() {
            map[c].push(n);
        }
        Ok(map)
    }

    /// Per unit, how many examples of each class it wins (MiniSom's `labels_map`), indexed by
    /// unit then class.
    pub fn label_counts(
        &self,
        data: &Mat<F>,
        labels: &[usize],
        classes: usize,
    ) -> Result<Vec<Vec<usize>>> {
        if labels.len() != data.ncols() {
            return Err(Error::Shape {
                context: "Som::label_counts labels".into(),
                expected: format!("{} labels", data.ncols()),
                got: labels.len().to_string(),
            });
        }
        if let Some(&bad) = labels.iter().find(|&&l| l >= classes) {
            return Err(Error::Data(format!("label {bad} is not below {classes}")));
        }
        let mut counts = vec![vec![0; classes]; self.grid.units()];
        for (c, &l) in self.bmus(data)?.into_iter().zip(labels) {
            counts[c][l] += 1;
        }
        Ok(counts)
    }

    /// One feature's weight across the map, a *component plane* (`nx x ny`): how the map lays
    /// out that input variable.
    ///
    /// # Errors
    /// `feature` out of range.
    pub fn component_plane(&self, feature: usize) -> Result<Mat<f64>> {
        if feature >= self.inputs() {
            return Err(Error::Data(format!(
                "component_plane: feature {feature} of a {}-feature map",
                self.inputs()
            )));
        }
        Ok(Mat::from_fn(self.grid.nx, self.grid.ny, |i, j| {
            self.weights.value[(feature, self.grid.index(i, j))].to_f64()
        }))
    }

    /// Each example replaced by its best-matching unit's weights (MiniSom's `quantization`).
    ///
    /// # Shapes
    /// `data`: `inputs x n` → `inputs x n`.
    pub fn quantize(&self, data: &Mat<F>) -> Result<Mat<F>> {
        let bmus = self.bmus(data)?;
        Ok(Mat::from_fn(data.nrows(), data.ncols(), |r, n| {
            self.weights.value[(r, bmus[n])]
        }))
    }

    /// The weights of unit `(i, j)` (what a plot of the weight grid draws).
    pub fn unit_weights(&self, i: usize, j: usize) -> Vec<f64> {
        self.weights
            .value
            .column(self.grid.index(i, j))
            .iter()
            .map(|v| v.to_f64())
            .collect()
    }

    /// Saves the weights and the architecture (kind `som`, JSON config) with
    /// [`optim::checkpoint::save_model`].
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<()> {
        optim::checkpoint::save_model(path, self, &[])
    }

    /// Loads a map saved by [`Som::save`] ([`optim::checkpoint::load_model`]: a configuration
    /// asking for more units than the file holds, or whose size overflows, is refused before
    /// anything is allocated).
    ///
    /// # Errors
    /// An unreadable file, a checkpoint of another model, a configuration the file cannot hold,
    /// missing or misshapen tensors.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        optim::checkpoint::load_model(path)
    }
}

/// Where a map's training stands after an epoch ([`Som::train_resume`]): the epochs and
/// iterations done, the generator's state, and how many times each example is still to be
/// drawn by the random order. Stored as the position of a training-state file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SomState {
    /// Epochs completed.
    pub epoch: usize,
    /// Iterations `t` done.
    pub iterations: usize,
    /// The generator's state.
    pub rng: optim::init::RngState,
    /// Remaining draws of each example (empty before the first epoch).
    pub remaining: Vec<usize>,
}

impl SomState {
    /// The state before training, drawing from the generator in state `rng` (e.g.
    /// `RngState { seed, words: 0 }`).
    pub fn start(rng: optim::init::RngState) -> Self {
        SomState {
            epoch: 0,
            iterations: 0,
            rng,
            remaining: Vec::new(),
        }
    }
}

/// The kind of a map's training-state file.
const TRAINING_KIND: &str = "som-training";

impl<F: Float> Som<F> {
    /// Saves the map, its training configuration and `state` as one training-state file
    /// ([`optim::checkpoint::TrainingParts`], kind `som-training`), atomically.
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn save_training(
        &mut self,
        path: impl AsRef<Path>,
        config: &SomConfig,
        state: &SomState,
    ) -> Result<()> {
        let inputs = self.inputs();
        optim::checkpoint::TrainingParts::new(TRAINING_KIND, &(config, inputs), state)?
            .model("som", self)
            .save(path)
    }

    /// Reads a file written by [`Som::save_training`]: the map, the training configuration and
    /// the state to continue from with [`Som::train_resume`]. The map's size is checked against
    /// the file's values before it is built.
    ///
    /// # Errors
    /// An unreadable file, a file of another trainer, an invalid configuration or one the file
    /// cannot hold, missing, misshapen or non-finite weights.
    pub fn load_training(path: impl AsRef<Path>) -> Result<(Self, SomConfig, SomState)> {
        let path = path.as_ref();
        let file = optim::checkpoint::TrainingFile::<F>::read(path, TRAINING_KIND)?;
        let (config, inputs): (SomConfig, usize) = file.config()?;
        let state: SomState = file.position()?;
        config.validate()?;
        let architecture = SomArchitecture {
            nx: config.nx,
            ny: config.ny,
            topology: config.topology,
            neighbourhood: config.neighbourhood,
            inputs,
        };
        let stored = file.values_under("som");
        if <Self as Saveable<F>>::parameter_count(&architecture) != Some(stored) {
            return Err(Error::Checkpoint {
                path: path.into(),
                reason: format!(
                    "the configuration ({} x {} units, {inputs} inputs) does not match the {stored} \
                     weights stored",
                    config.nx, config.ny
                ),
            });
        }
        let mut som = <Self as Saveable<F>>::from_config(&architecture)?;
        file.restore(&mut [optim::checkpoint::Restore::model("som", &mut som)])?;
        Ok((som, config, state))
    }
}

/// A uniformly random order of the multiset `{t mod n : t < T}` (each of `n` examples `⌊T/n⌋`
/// or `⌈T/n⌉` times), drawn one element at a time in `O(log n)` from the remaining counts (a
/// Fenwick tree), so that memory is `O(n)` whatever `T` is. The sequence has the distribution of
/// a shuffled list of all `T` indices, as MiniSom builds it.
#[derive(Clone, Debug)]
pub struct ShuffledCounts {
    /// Fenwick tree of the remaining counts (1-based).
    tree: Vec<usize>,
    remaining: usize,
}

impl ShuffledCounts {
    /// The multiset `{t mod n : t < total}`.
    pub fn new(n: usize, total: usize) -> Self {
        let mut tree = vec![0usize; n + 1];
        if let Some(q) = total.checked_div(n) {
            let r = total % n;
            for i in 1..=n {
                tree[i] += q + usize::from(i <= r);
                let parent = i + (i & i.wrapping_neg());
                if parent <= n {
                    tree[parent] += tree[i];
                }
            }
        }
        Self {
            tree,
            remaining: if n > 0 { total } else { 0 },
        }
    }

    /// The multiset with `counts[i]` copies of `i` (what [`ShuffledCounts::counts`] returned).
    pub fn from_counts(counts: &[usize]) -> Self {
        let n = counts.len();
        let mut tree = vec![0usize; n + 1];
        let mut remaining = 0usize;
        for i in 1..=n {
            tree[i] += counts[i - 1];
            remaining = remaining.saturating_add(counts[i - 1]);
            let parent = i + (i & i.wrapping_neg());
            if parent <= n {
                tree[parent] = tree[parent].saturating_add(tree[i]);
            }
        }
        Self { tree, remaining }
    }

    /// How many copies of each element remain.
    pub fn counts(&self) -> Vec<usize> {
        let n = self.tree.len() - 1;
        // count_i = prefix(i) − prefix(i − 1)
        let prefix = |mut i: usize| {
            let mut sum = 0;
            while i > 0 {
                sum += self.tree[i];
                i -= i & i.wrapping_neg();
            }
            sum
        };
        (1..=n).map(|i| prefix(i) - prefix(i - 1)).collect()
    }

    /// Elements not drawn yet.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Draws the next element uniformly among the remaining ones.
    ///
    /// # Panics
    /// If nothing remains.
    pub fn draw(&mut self, rng: &mut impl Rng) -> usize {
        assert!(self.remaining > 0, "ShuffledCounts: nothing left to draw");
        let mut r = rng.random_range(0..self.remaining);
        // descend to the first position whose prefix sum exceeds r
        let n = self.tree.len() - 1;
        let mut pos = 0;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= r {
                pos = next;
                r -= self.tree[next];
            }
            step >>= 1;
        }
        // pos + 1 is the element (1-based); take one of it
        let mut i = pos + 1;
        while i <= n {
            self.tree[i] -= 1;
            i += i & i.wrapping_neg();
        }
        self.remaining -= 1;
        pos
    }
}

/// Builds, initializes and trains a map as `config` says (see [`Som::train`]); the one call a
/// caller needs. Returns the map and its training history.
pub fn train<F: Float>(
    config: &SomConfig,
    data: &Mat<F>,
    rng: &mut impl Rng,
    callback: &mut dyn FnMut(Progress<'_>, &Som<F>),
) -> Result<(Som<F>, History)> {
    let mut som = Som::from_config(config, data, rng)?;
    let history = som.train(data, config, rng, callback)?;
    Ok((som, history))
}
