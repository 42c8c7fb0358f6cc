//! Notes §2.1 (归纳偏置的坐标系, *the coordinate system of inductive biases*): every model family
//! is placed by five coordinates — the structure of its input, how it shares parameters, how far
//! its dependencies reach, what memory it keeps, and whether it models `p(y | x)` or `p(x)`.
//!
//! A chapter crate exposes its families as `pub const` [`Coordinates`] values; the tour prints
//! them as one table (one row per family, one column per coordinate).
//!
//! ```
//! use optim::bias::{Coordinates, Dependency, InputStructure, Memory, Paradigm, Sharing};
//! const CNN: Coordinates = Coordinates {
//!     family: "CNN",
//!     input: InputStructure::Grid,
//!     sharing: Sharing::Space,
//!     dependency: Dependency::Local,
//!     memory: Memory::None,
//!     paradigm: Paradigm::Discriminative,
//! };
//! assert_eq!(CNN.row(), ["CNN", "grid", "space", "local", "none", "discriminative"]);
//! ```

/// The structure the input is assumed to have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputStructure {
    /// A fixed-length vector `x ∈ ℝᵈ` with no order among its coordinates (MLP, RBF, SOM).
    Vector,
    /// An ordered sequence `x₁ … x_T` of variable length (RNN, seq2seq, Transformer).
    Sequence,
    /// A grid `x ∈ ℝ^{C×H×W}` whose neighbours are related (CNN).
    Grid,
}

/// Which parameters are reused, and across what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sharing {
    /// Every weight is used at one place only.
    None,
    /// The same weights at every time step (`h_t = f(W h_{t−1} + U x_t)`).
    Time,
    /// The same kernel at every spatial position (convolution).
    Space,
}

/// How far one output's dependencies reach in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dependency {
    /// A receptive field or a step-by-step chain: far inputs reach an output only through many
    /// compositions.
    Local,
    /// Every input reaches every output in one layer (dense layer, attention).
    Global,
}

/// What state the model carries from one input element to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Memory {
    /// No state.
    None,
    /// A state `h_t` overwritten at each step, or an explicit store read by attention.
    Explicit,
    /// A state written and read through learned gates (LSTM, GRU).
    Gated,
}

/// What the model learns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Paradigm {
    /// A conditional `p(y | x)` or a decision function.
    Discriminative,
    /// The data distribution `p(x)` (or a sampler from it).
    Generative,
}

/// One family's place in the §2.1 coordinate system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Coordinates {
    /// The family's name as the table prints it.
    pub family: &'static str,
    /// Input structure.
    pub input: InputStructure,
    /// Parameter sharing.
    pub sharing: Sharing,
    /// Dependency range.
    pub dependency: Dependency,
    /// Memory.
    pub memory: Memory,
    /// Paradigm.
    pub paradigm: Paradigm,
}

impl InputStructure {
    /// Lower-case name for tables.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Vector => "vector",
            Self::Sequence => "sequence",
            Self::Grid => "grid",
        }
    }
}

impl Sharing {
    /// Lower-case name for tables.
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Time => "time",
            Self::Space => "space",
        }
    }
}

impl Dependency {
    /// Lower-case name for tables.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Global => "global",
        }
    }
}

impl Memory {
    /// Lower-case name for tables.
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Explicit => "explicit",
            Self::Gated => "gated",
        }
    }
}

impl Paradigm {
    /// Lower-case name for tables.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Discriminative => "discriminative",
            Self::Generative => "generative",
        }
    }
}

impl Coordinates {
    /// The column headers of [`Coordinates::row`].
    pub const HEADER: [&'static str; 6] = [
        "family",
        "input",
        "sharing",
        "dependency",
        "memory",
        "paradigm",
    ];

    /// The family's table row, in the order of [`Coordinates::HEADER`].
    pub const fn row(&self) -> [&'static str; 6] {
        [
            self.family,
            self.input.name(),
            self.sharing.name(),
            self.dependency.name(),
            self.memory.name(),
            self.paradigm.name(),
        ]
    }
}

/// A plain-text table of `families`, columns padded to their widest cell.
pub fn table(families: &[Coordinates]) -> String {
    let rows: Vec<[&str; 6]> = std::iter::once(Coordinates::HEADER)
        .chain(families.iter().map(Coordinates::row))
        .collect();
    let mut width = [0usize; 6];
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(width)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LSTM: Coordinates = Coordinates {
        family: "LSTM",
        input: InputStructure::Sequence,
        sharing: Sharing::Time,
        dependency: Dependency::Local,
        memory: Memory::Gated,
        paradigm: Paradigm::Discriminative,
    };
    const RBM: Coordinates = Coordinates {
        family: "RBM",
        input: InputStructure::Vector,
        sharing: Sharing::None,
        dependency: Dependency::Global,
        memory: Memory::None,
        paradigm: Paradigm::Generative,
    };

    #[test]
    fn rows_name_every_coordinate() {
        assert_eq!(
            LSTM.row(),
            [
                "LSTM",
                "sequence",
                "time",
                "local",
                "gated",
                "discriminative"
            ]
        );
        assert_eq!(
            RBM.row(),
            ["RBM", "vector", "none", "global", "none", "generative"]
        );
    }

    #[test]
    fn table_has_a_header_and_aligned_columns() {
        let t = table(&[LSTM, RBM]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("family"));
        // the second column starts at the same offset on every line
        let col = |l: &str, word: &str| l.find(word).unwrap();
        assert_eq!(col(lines[0], "input"), col(lines[1], "sequence"));
        assert_eq!(col(lines[1], "sequence"), col(lines[2], "vector"));
    }
}
