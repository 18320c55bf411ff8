//! What the CPU can do for the model's arithmetic: native bfloat16 or not.
//!
//! libtorch runs bf16 fast only where the CPU has bfloat16 instructions (AVX512-BF16 or AMX on
//! x86, BF16 on Arm); elsewhere it emulates them and a run takes several times longer than in
//! f32. `CODEFRAME_CPU_FLAGS` replaces the flags read from `/proc/cpuinfo` (for reproducing
//! another machine's behaviour in tests).

/// The CPU's model name and feature flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuInfo {
    /// e.g. "AMD EPYC 9R14" ("unknown CPU" when not readable).
    pub model: String,
    /// Feature flags, lower case.
    pub flags: Vec<String>,
}

/// Flags any one of which gives native bfloat16 arithmetic.
const BF16_FLAGS: &[&str] = &["avx512_bf16", "amx_bf16", "bf16"];

impl CpuInfo {
    /// Reads this machine's CPU (Linux `/proc/cpuinfo`; elsewhere an unknown CPU without flags).
    pub fn detect() -> CpuInfo {
        let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let mut info = CpuInfo::parse(&text);
        if let Ok(flags) = std::env::var("CODEFRAME_CPU_FLAGS") {
            info.flags = flags.split_whitespace().map(str::to_lowercase).collect();
        }
        info
    }

    /// Parses `/proc/cpuinfo` text (x86 `model name`/`flags`, Arm `Features`).
    pub fn parse(text: &str) -> CpuInfo {
        let field = |names: &[&str]| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                names.contains(&k.trim()).then(|| v.trim().to_string())
            })
        };
        CpuInfo {
            model: field(&["model name", "Model", "CPU part"])
                .unwrap_or_else(|| "unknown CPU".into()),
            flags: field(&["flags", "Features"])
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_lowercase)
                .collect(),
        }
    }

    /// Whether bf16 runs natively here.
    pub fn has_bf16(&self) -> bool {
        self.flags.iter().any(|f| BF16_FLAGS.contains(&f.as_str()))
    }

    /// The vector-extension flags worth printing beside a benchmark figure.
    pub fn simd_flags(&self) -> Vec<&str> {
        self.flags
            .iter()
            .map(String::as_str)
            .filter(|f| f.starts_with("avx") || f.starts_with("amx") || *f == "fma" || *f == "bf16")
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_model_and_flags() {
        let epyc = "processor\t: 0\nmodel name\t: AMD EPYC 7R13 Processor\nflags\t\t: fpu sse avx avx2 fma\n";
        let c = CpuInfo::parse(epyc);
        assert_eq!(c.model, "AMD EPYC 7R13 Processor");
        assert!(!c.has_bf16());
        assert_eq!(c.simd_flags(), vec!["avx", "avx2", "fma"]);
        let xeon = "model name : Intel(R) Xeon(R)\nflags : avx512f avx512_bf16 amx_tile\n";
        assert!(CpuInfo::parse(xeon).has_bf16());
        let arm = "CPU part : 0xd40\nFeatures : fp asimd bf16\n";
        assert!(CpuInfo::parse(arm).has_bf16());
        assert_eq!(CpuInfo::parse("").model, "unknown CPU");
    }
}
