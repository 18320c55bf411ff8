//! Checked embedding settings: device, precision, the model `--model` names and the embedder
//! spec, before any model is touched.

use std::path::{Path, PathBuf};

use tch::Device;

use super::Checked;
use crate::cli::{EmbedFlags, EmbedderChoice, ForwardChoice};
use crate::embed::cpu::CpuInfo;
use crate::embed::sentence::{Forward, DEFAULT_BATCH_SIZE, DEFAULT_BATCH_TOKENS};
use crate::embed::spec::{self as models, Backend, EmbedderSpec, ModelSpec, MINILM};
use crate::embed::{model_dir, Cache, Precision};
use crate::error::InputError;
use crate::rundir;

/// Parses `cpu`, `cuda` or `cuda:N` and checks libtorch can see the device.
pub fn parse_device(s: &str) -> Checked<Device> {
    let no_cuda = || {
        InputError::flag(
            format!("--device {s}: libtorch sees no CUDA device on this machine"),
            "use --device cpu",
        )
    };
    match s {
        "cpu" => Ok(Device::Cpu),
        "cuda" => {
            if tch::Cuda::is_available() {
                Ok(Device::Cuda(0))
            } else {
                Err(no_cuda())
            }
        }
        _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) if (n as i64) < tch::Cuda::device_count() => Ok(Device::Cuda(n)),
            Some(Ok(_)) => Err(no_cuda()),
            _ => Err(InputError::flag(
                format!("--device {s} is not a device"),
                "use --device cpu, cuda or cuda:N",
            )),
        },
    }
}

/// Refuses bf16 on a CPU without bfloat16 instructions, where it runs several times slower
/// than f32.
pub fn check_precision(p: Precision, device: Device, cpu: &CpuInfo) -> Checked<()> {
    if p == Precision::Bf16 && device == Device::Cpu && !cpu.has_bf16() {
        return Err(InputError::flag(
            format!(
                "--precision bf16: this CPU ({}) has no bfloat16 instructions (avx512_bf16 or \
                 amx_bf16), so bf16 would run several times slower than f32",
                cpu.model
            ),
            "use --precision f32 (the default)",
        ));
    }
    Ok(())
}

/// Checks the embedding flags into an embedder spec; touches no model.
pub fn embedder_spec(a: &EmbedFlags) -> Checked<EmbedderSpec> {
    let precision: Precision = a
        .precision
        .parse()
        .map_err(|e: String| InputError::flag(e, "pass --precision f32, bf16 or int8"))?;
    let device = parse_device(&a.device)?;
    if a.embedder == EmbedderChoice::Minilm {
        check_precision(precision, device, &CpuInfo::detect())?;
    }
    let positive = |v: Option<usize>, default: usize, flag: &str| match v {
        Some(0) => Err(InputError::flag(
            format!("{flag} must be at least 1"),
            format!("leave it out to use {default}"),
        )),
        v => Ok(v.unwrap_or(default)),
    };
    let batch_size = positive(a.batch_size, DEFAULT_BATCH_SIZE, "--batch-size")?;
    let batch_tokens = positive(a.batch_tokens, DEFAULT_BATCH_TOKENS, "--batch-tokens")?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads = positive(a.threads, cores, "--threads")?;
    let cache_every = positive(a.cache_every, crate::embed::CHUNK_TEXTS, "--cache-every")?;
    let backend = match a.embedder {
        EmbedderChoice::Minilm => {
            let (model, dir) = model_choice(a.model.as_deref(), a.model_dir.as_deref())?;
            Backend::Sentence {
                model,
                dir,
                device,
                precision,
                batch_size,
                batch_tokens,
                forward: match a.forward {
                    ForwardChoice::Fused => Forward::Fused,
                    ForwardChoice::RustBert => Forward::RustBert,
                },
            }
        }
        EmbedderChoice::Tfidf => {
            if a.model.is_some() {
                return Err(InputError::flag(
                    "--model chooses a sentence model, which --embedder tfidf does not use",
                    "leave out --model or --embedder tfidf",
                ));
            }
            Backend::Tfidf
        }
    };
    let cache_dir = if a.no_cache {
        None
    } else {
        a.cache_dir.clone().or_else(Cache::default_dir)
    };
    if let Some(d) = &cache_dir {
        if d.exists() && !d.is_dir() {
            return Err(InputError::file(
                d,
                None,
                "the embedding cache is not a folder",
                "pass --cache-dir with a folder, or --no-cache",
            ));
        }
        rundir::creatable(d, "--cache-dir").map_err(|mut e| {
            e.fix = "pass --cache-dir with a folder that can be created, or --no-cache".into();
            e
        })?;
    }
    Ok(EmbedderSpec {
        backend,
        threads,
        cache_dir,
        cache_every,
        model_given: a.model.is_some() || a.model_dir.is_some(),
    })
}

/// The model `--model` names: an installed model (its folder from `--model-dir` or the
/// default place) or a folder of the user's own.
pub fn model_choice(
    model: Option<&str>,
    model_dir: Option<&Path>,
) -> Checked<(Option<&'static ModelSpec>, PathBuf)> {
    let installed = |spec: &'static ModelSpec| {
        let dir = model_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| model_dir::default_dir(spec));
        (Some(spec), dir)
    };
    let Some(name) = model else {
        return Ok(installed(&MINILM));
    };
    if let Some(spec) = models::named(name) {
        return Ok(installed(spec));
    }
    let path = Path::new(name);
    if path.is_dir() {
        if model_dir.is_some() {
            return Err(InputError::flag(
                "--model-dir names the folder of an installed model; --model already gives a folder",
                "leave out --model-dir",
            ));
        }
        return Ok((None, path.to_path_buf()));
    }
    Err(InputError::flag(
        format!("--model {name}: no model has that name and no folder has that path"),
        format!(
            "pass one of {} (codeframe model list shows what is installed), or a \
             sentence-transformers folder",
            models::names()
        ),
    ))
}

/// Embedding settings for a code frame, which works on sentence embeddings only.
pub(super) fn sentence_embedder(flags: &EmbedFlags) -> Checked<EmbedderSpec> {
    let spec = embedder_spec(flags)?;
    if !spec.is_sentence_model() {
        return Err(InputError::flag(
            "a code frame works on sentence embeddings",
            "leave out --embedder, or pass --embedder minilm",
        ));
    }
    Ok(spec)
}

/// The installed model and folder `codeframe model convert|check` works on: `NAME` picks the
/// model (default all-MiniLM-L6-v2), `DIR` its folder.
pub fn model_folder(
    name: Option<&str>,
    dir: Option<&Path>,
) -> Checked<(&'static ModelSpec, PathBuf)> {
    let spec = match name {
        None => &MINILM,
        Some(n) => models::named(n).ok_or_else(|| {
            InputError::flag(
                format!("--model {n}: no installed model has that name"),
                format!("pass one of {}", models::names()),
            )
        })?,
    };
    Ok((
        spec,
        dir.map(Path::to_path_buf)
            .unwrap_or_else(|| model_dir::default_dir(spec)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert!(parse_device("gpu").is_err());
        if !tch::Cuda::is_available() {
            assert!(parse_device("cuda").unwrap_err().fix.contains("cpu"));
        }
    }

    #[test]
    fn bf16_needs_bfloat16_instructions() {
        let epyc = CpuInfo::parse("model name : AMD EPYC 7R13\nflags : avx avx2 fma\n");
        let e = check_precision(Precision::Bf16, Device::Cpu, &epyc).unwrap_err();
        assert!(e.problem.contains("AMD EPYC 7R13"), "{}", e.problem);
        assert!(e.fix.contains("f32"));
        assert!(check_precision(Precision::F32, Device::Cpu, &epyc).is_ok());
        let xeon = CpuInfo::parse("model name : Xeon\nflags : avx512f avx512_bf16\n");
        assert!(check_precision(Precision::Bf16, Device::Cpu, &xeon).is_ok());
    }
}
