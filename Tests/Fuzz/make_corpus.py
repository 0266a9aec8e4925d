#!/usr/bin/env python3
"""Writes the seed corpora under Tests/Fuzz/corpus/<target>/ (standard library only; run from anywhere).

Valid minimal inputs for every path each target takes, plus a few nasty ones (truncated, huge sizes in headers,
deep nesting). Image seeds are copied from Tests/ImageIOTests/Fixtures/decode. Keep the whole corpus under 1 MB.
"""
import gzip
import json
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
IMAGES = os.path.join(ROOT, "Tests", "ImageIOTests", "Fixtures", "decode")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ------------------------------------------------------------------------------------------------------ safetensors

def safetensors(tensors, metadata=None, dtype="F32", pad=True):
    """tensors: [(name, shape)] -> a valid file with small deterministic values."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    size = {"F32": 4, "F16": 2, "BF16": 2}[dtype]
    for i, (name, shape) in enumerate(tensors):
        n = 1
        for s in shape:
            n *= s
        if dtype == "F32":
            raw = struct.pack("<%df" % n, *[((i * 7 + k) % 11 - 5) / 50 for k in range(n)])
        elif dtype == "F16":
            raw = struct.pack("<%de" % n, *[((i * 7 + k) % 11 - 5) / 50 for k in range(n)])
        else:
            raw = b"".join(struct.pack("<f", ((i * 7 + k) % 11 - 5) / 50)[2:] for k in range(n))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + n * size]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def timm_tensors(depth=1, c=4, a=4, f=8, cin=1, p=2, grid=2, classes=2, extra=()):
    t = [("cls_token", [1, 1, c]), ("patch_embed.proj.weight", [c, cin, p, p]), ("patch_embed.proj.bias", [c]),
         ("pos_embed", [1, 1 + grid * grid, c])]
    for i in range(depth):
        b = "blocks.%d." % i
        t += [(b + "norm1.weight", [c]), (b + "norm1.bias", [c]), (b + "attn.qkv.weight", [3 * a, c]),
              (b + "attn.qkv.bias", [3 * a]), (b + "attn.proj.weight", [c, a]), (b + "attn.proj.bias", [c]),
              (b + "norm2.weight", [c]), (b + "norm2.bias", [c]), (b + "mlp.fc1.weight", [f, c]),
              (b + "mlp.fc1.bias", [f]), (b + "mlp.fc2.weight", [c, f]), (b + "mlp.fc2.bias", [c])]
    t += [("norm.weight", [c]), ("norm.bias", [c]), ("head.weight", [classes, c]), ("head.bias", [classes])]
    return t + list(extra)


def hf_tensors(depth=1, c=4, a=4, f=8, cin=1, p=2, grid=2, classes=2, prefix="vit.", dinov2=False):
    v = prefix
    t = [(v + "embeddings.cls_token", [1, 1, c]), (v + "embeddings.patch_embeddings.projection.weight", [c, cin, p, p]),
         (v + "embeddings.patch_embeddings.projection.bias", [c]),
         (v + "embeddings.position_embeddings", [1, 1 + grid * grid, c])]
    for i in range(depth):
        l = v + "encoder.layer.%d." % i
        for q in ("query", "key", "value"):
            t += [(l + "attention.attention.%s.weight" % q, [a, c]), (l + "attention.attention.%s.bias" % q, [a])]
        t += [(l + "attention.output.dense.weight", [c, a]), (l + "attention.output.dense.bias", [c])]
        if dinov2:
            t += [(l + "mlp.fc1.weight", [f, c]), (l + "mlp.fc1.bias", [f]), (l + "mlp.fc2.weight", [c, f]),
                  (l + "mlp.fc2.bias", [c]), (l + "norm1.weight", [c]), (l + "norm1.bias", [c]),
                  (l + "norm2.weight", [c]), (l + "norm2.bias", [c]), (l + "layer_scale1.lambda1", [c]),
                  (l + "layer_scale2.lambda1", [c])]
        else:
            t += [(l + "intermediate.dense.weight", [f, c]), (l + "intermediate.dense.bias", [f]),
                  (l + "output.dense.weight", [c, f]), (l + "output.dense.bias", [c]),
                  (l + "layernorm_before.weight", [c]), (l + "layernorm_before.bias", [c]),
                  (l + "layernorm_after.weight", [c]), (l + "layernorm_after.bias", [c])]
    t += [(v + "layernorm.weight", [c]), (v + "layernorm.bias", [c]), ("classifier.weight", [classes, c]),
          ("classifier.bias", [classes])]
    return t


META = {"num_heads": "1", "input_size": "1,4,4", "mean": "0.5", "std": "0.5", "labels": '["a", "b"]'}


def make_safetensors():
    put("safetensors", "timm_f32", safetensors(timm_tensors(), META))
    put("safetensors", "timm_f16", safetensors(timm_tensors(), META, dtype="F16"))
    put("safetensors", "timm_bf16", safetensors(timm_tensors(), {"num_heads": "1"}, dtype="BF16"))
    put("safetensors", "timm_rgb_2blocks", safetensors(timm_tensors(depth=2, cin=3, classes=3), {
        "num_heads": "2,1", "input_size": "3,4,4", "mean": "0.485,0.456,0.406", "std": "0.229,0.224,0.225",
        "crop_pct": "0.875", "interpolation": "bilinear", "layer_norm_eps": "1e-6"}))
    put("safetensors", "timm_dist_reg", safetensors(
        [(n, s) for n, s in timm_tensors() if n != "pos_embed"] +
        [("dist_token", [1, 1, 4]), ("reg_token", [1, 2, 4]), ("pos_embed", [1, 8, 4]), ("head_dist.weight", [2, 4]),
         ("head_dist.bias", [2])], {"num_heads": "1"}))
    put("safetensors", "timm_prefixed_headless", safetensors(
        [("module." + n, s) for n, s in timm_tensors() if not n.startswith("head")], {"num_heads": "1"}))
    put("safetensors", "hf_vit", safetensors(hf_tensors(), {"format": "pt", "num_heads": "1"}))
    put("safetensors", "hf_deit", safetensors(
        [(n, s) for n, s in hf_tensors(prefix="deit.") if not n.startswith("classifier")] +
        [("deit.embeddings.distillation_token", [1, 1, 4]), ("cls_classifier.weight", [2, 4]),
         ("cls_classifier.bias", [2]), ("distillation_classifier.weight", [2, 4]),
         ("distillation_classifier.bias", [2])], {"num_heads": "1"}))
    put("safetensors", "hf_dinov2", safetensors(
        [(n, s) for n, s in hf_tensors(prefix="dinov2.", dinov2=True) if n != "classifier.weight"] +
        [("classifier.weight", [2, 8]), ("dinov2.embeddings.register_tokens", [1, 1, 4])], {"num_heads": "1"}))
    # Nasty ones.
    good = safetensors(timm_tensors(), META)
    put("safetensors", "truncated", good[:len(good) // 2])
    put("safetensors", "short", b"\x10\x00\x00")
    put("safetensors", "huge_header_length", struct.pack("<Q", 2 ** 63 + 5) + b"{}")
    put("safetensors", "empty_object", struct.pack("<Q", 2) + b"{}")
    def raw(header, data=b""):
        return struct.pack("<Q", len(header)) + header + data
    put("safetensors", "huge_shape", raw(
        b'{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}}'))
    put("safetensors", "overlap", raw(
        b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        b"\0" * 8))
    put("safetensors", "duplicate_key", raw(
        b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        b"\0" * 4))
    put("safetensors", "big_pos_grid", safetensors(timm_tensors(grid=5, c=1, a=1, f=1), {"num_heads": "1",
                                                                                   "input_size": "1,10,10"}))


# ----------------------------------------------------------------------------------------------------------- config

def make_config():
    timm_cfg = {"architecture": "vit_tiny", "num_heads": 1, "pretrained_cfg": {
        "input_size": [3, 4, 4], "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "crop_pct": 0.9,
        "interpolation": "bicubic", "label_names": ["l%d" % i for i in range(10)]}}
    put("config", "timm_pretrained_cfg", b"\x00" + json.dumps(timm_cfg, indent=2).encode())
    put("config", "timm_model_args", b"\x00" + json.dumps(
        {"model_args": {"num_heads": 1}, "image_size": 4, "mean": 0.5, "std": [0.5], "layer_norm_eps": 1e-5}).encode())
    hf = json.load(open(os.path.join(ROOT, "Tests", "Fixtures", "models", "hf_vit", "config.json")))
    hf.update({"hidden_size": 4, "num_attention_heads": 1, "image_size": 4, "patch_size": 2, "num_hidden_layers": 2})
    put("config", "hf_config", b"\x01" + json.dumps(hf, indent=2).encode())
    pre = json.load(open(os.path.join(ROOT, "Tests", "Fixtures", "models", "hf_vit", "preprocessor_config.json")))
    put("config", "hf_config_and_preprocessor",
        b"\x02" + json.dumps({"num_attention_heads": 1, "id2label": {"0": "a", "1": "b"}}).encode() + b"\x00" +
        json.dumps(pre).encode())
    put("config", "metadata", b"\x03" + json.dumps({
        "num_heads": "1", "input_size": "3,4,4", "mean": "0.485,0.456,0.406", "std": "0.229,0.224,0.225",
        "crop_pct": "0.875", "interpolation": "bilinear", "layer_norm_eps": "1e-6",
        "labels": json.dumps(["c%d" % i for i in range(10)])}).encode())
    put("config", "metadata_empty", b"\x03{}")
    # Nasty ones: deep nesting, escapes and surrogates, numbers at the edges, duplicate keys.
    put("config", "deep", b"\x00" + b"[" * 70 + b"]" * 70)
    put("config", "escapes", b"\x01" + '{"a":"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/","b":"\\ud800","c":"caf\u00e9"}'.encode())
    put("config", "numbers", b"\x00" + b'{"num_heads":1e400,"image_size":-0.0,"x":[9007199254740993,1e-400,-1.5E+3]}')
    put("config", "duplicate", b"\x01" + b'{"image_size":4,"image_size":8}')
    put("config", "huge_input_size", b"\x00" + b'{"num_heads":1,"pretrained_cfg":{"input_size":[3,1000000,1000000]}}')


# ----------------------------------------------------------------------------------------------------------- images

def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png(width, height, bit_depth=8, color=0, rows=None, extra=b""):
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    row_bytes = (width * channels * bit_depth + 7) // 8
    raw = rows if rows is not None else b"".join(b"\x00" + bytes((x * 37 + y * 11) % 256 for x in range(row_bytes))
                                                 for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra + png_chunk(b"IDAT", zlib.compress(raw, 9)) +
            png_chunk(b"IEND", b""))


def make_images():
    for name in sorted(os.listdir(IMAGES)):
        if name.endswith(".png"):
            shutil.copy(os.path.join(IMAGES, name), os.path.join(CORPUS, "png", name))
        elif name.endswith(".jpg"):
            shutil.copy(os.path.join(IMAGES, name), os.path.join(CORPUS, "jpeg", name))
    put("png", "thin_64x1", png(64, 1))
    put("png", "thin_4096x1", png(4096, 1))
    put("png", "tall_1x64", png(1, 64))
    put("png", "exact_32x32_rgb", png(32, 32, color=2))
    put("png", "palette_plte", png(4, 4, color=3, extra=png_chunk(b"PLTE", bytes(range(12)))))
    put("png", "huge_dims", png(16384, 16384, rows=b""))
    put("png", "too_large", png(16385, 1))
    put("png", "zero_width", png(0, 4, rows=b""))
    good = open(os.path.join(IMAGES, "pil_rgb.png"), "rb").read()
    put("png", "truncated", good[:len(good) // 2])
    put("png", "signature_only", good[:8])
    jpg = open(os.path.join(IMAGES, "grey.jpg"), "rb").read()
    put("jpeg", "truncated", jpg[:len(jpg) // 2])
    put("jpeg", "soi_only", b"\xff\xd8\xff")
    # SOF0 claiming 65535x65535 (the 16384 cap must refuse it before anything is allocated).
    sof = jpg.find(b"\xff\xc0")
    if sof >= 0:
        put("jpeg", "huge_dims", jpg[:sof + 5] + b"\xff\xff\xff\xff" + jpg[sof + 9:])
    # Not a seed, on purpose: progressive.jpg with its SOF2 size set to 16384x16384 (1 KB) decodes, because libjpeg
    # fills the missing scans, to an 805 MB image (1.7 GB RSS, 2 s under ASan): allowed by the 16384 cap, but it
    # would make every mutation of it cost seconds.


# ---------------------------------------------------------------------------------------------------------- dataset

SEP = b"\n----\n"


def idx_images(n, rows, cols):
    return struct.pack(">IIII", 0x803, n, rows, cols) + bytes((i * 29) % 256 for i in range(n * rows * cols))


def idx_labels(n):
    return struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n))


def make_dataset():
    put("dataset", "idx_raw", b"\x00" + idx_images(3, 4, 5) + SEP + idx_labels(3))
    put("dataset", "idx_gzip", b"\x01" + gzip.compress(idx_images(2, 3, 3), mtime=0) + SEP +
        gzip.compress(idx_labels(2), mtime=0))
    put("dataset", "idx_huge_count", b"\x00" + struct.pack(">IIII", 0x803, 0xFFFFFFFF, 16384, 16384) + SEP +
        idx_labels(1))
    put("dataset", "idx_zero", b"\x00" + idx_images(0, 2, 2) + SEP + idx_labels(0))
    grey = open(os.path.join(IMAGES, "grey1.png"), "rb").read()
    rgb = open(os.path.join(IMAGES, "rgb8_trns.png"), "rb").read()
    jpg = open(os.path.join(IMAGES, "grey.jpg"), "rb").read()
    put("dataset", "folder_train", b"\x02" + SEP.join([
        b"train/cat/a.png\n" + grey, b"train/cat/b.JPG\n" + jpg, b"train/dog/c.png\n" + rgb, b"train/dog/notes.txt\nhi",
        b"train/.hidden/\n", b"train/empty/\n"]))
    put("dataset", "folder_flat_test", b"\x03" + SEP.join([b"x/one.png\n" + png(5, 3), b"y/two.jpeg\n" + jpg[:200]]))
    put("dataset", "folder_no_images", b"\x03" + SEP.join([b"a/readme.md\nnothing", b"b/\n"]))


# ------------------------------------------------------------------------------------------------------- methodspec

def make_methodspec():
    specs = ["none", "tome", "tome:r=13", "tome:r=2,schedule=decreasing,prop=false", "TOME:R=100000,prop=on",
             "evit:keep=0.7,layers=3/6/9,fuse=true", "evit:keep=1,layers=0-11,fuse=no", "evit:layers=",
             "idle:keep=0.5,layers=3-11", "idle:keep=0.01,layers=0/5/11", "mstm:keep=0.7,layers=3/6/9,weight=size,prop=true",
             "mstm:keep=0.1,layers=0-11,weight=importance", " tome:r=4 ", "tome:r=1,r=2", "evit:keep=0",
             "idle:layers=0-99999999", "mstm:layers=none"]
    for i, s in enumerate(specs):
        put("methodspec", "spec%02d" % i, s)


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    for t in ("safetensors", "config", "png", "jpeg", "dataset", "methodspec"):
        os.makedirs(os.path.join(CORPUS, t))
    make_safetensors()
    make_config()
    make_images()
    make_dataset()
    make_methodspec()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(CORPUS) for f in fs)
    print("corpus: %d bytes" % total)
    assert total < 1 << 20


if __name__ == "__main__":
    main()
