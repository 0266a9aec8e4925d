#!/usr/bin/env python3
"""Generates ImageIO's committed test fixtures, with Pillow and torchvision as the reference implementations.

    pip install torch torchvision pillow numpy   # tested: torch 2.15, torchvision 0.29.2, pillow 13.0.0, numpy 2.4
    python3 Tests/Fixtures/gen_images.py          # from anywhere; writes Tests/ImageIOTests/Fixtures/

Deterministic: every random array comes from numpy's seeded default_rng, and every PNG input is written by the small
encoder below (not by Pillow) so that we control bit depth, colour type, interlacing and chunks.

Outputs (all under Tests/ImageIOTests/Fixtures/, described by manifest.json):
  decode/*.png, *.jpg       inputs of every kind the loader handles
  decode/*.u8               expected pixels, height x width x channels uint8 (HWC), from
                            Image.open(f).convert("L" for grey files, "RGB" otherwise); 16-bit grey is the exception:
                            its expected value is the high byte (Pillow clips I;16 -> L; see ImageLoader.swift)
  resize/*.png              expected Resampler output for a source that Swift regenerates with pattern() below,
                            computed with Image.resize / torchvision Resize; stored as PNG because it is lossless
                            and small
  pipeline/*.f32            expected tensors, channels x height x width float32 little-endian, from
                            Compose([Resize(S, interp), CenterCrop(crop), ToTensor(), Normalize(mean, std)])
  pipeline/*.png            for a 224 case: the uint8 crop (before ToTensor); the manifest adds sampled tensor values
"""
import io
import json
import os
import struct
import zlib

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "ImageIOTests", "Fixtures")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


# --------------------------------------------------------------------------------------------------- source images

def pattern(w, h, c, seed, fine=True):
    """Integer-only test image that ImageIOTests recomputes bit for bit (see `pattern` in the Swift tests).
    Gradients that wrap at 256, a checkerboard and (if fine) a multiplicative texture: sharp edges exercise the
    clipping of bicubic overshoot, smooth ramps the rounding. The coarse variant (big squares, no texture) keeps the
    large expected outputs compressible within the fixture budget."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    out = np.empty((h, w, c), np.uint8)
    for ch in range(c):
        v = (x * (3 + ch) + y * (5 + 2 * ch) + seed * 17) % 256
        if fine:
            checker = ((x // (3 + ch) + y // 4) % 2) * 120
            texture = ((x * y * (seed + ch + 1)) % 29) * 3
        else:
            checker = ((x // (24 + ch) + y // 32) % 2) * 120
            texture = 0
        out[..., ch] = (v + checker + texture) % 256
    return out


def pil_from(arr):
    return Image.fromarray(arr[..., 0], "L") if arr.shape[2] == 1 else Image.fromarray(arr, "RGB")


def smooth_noise(rng, h, w, c):
    """A photo-like image for lossy JPEG: a smooth field plus mild noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.empty((h, w, c), np.float64)
    for ch in range(c):
        out[..., ch] = 128 + 90 * np.sin(x / (3.0 + ch) + y / 5.0) * np.cos(y / (4.0 + ch))
    out += rng.normal(0, 12, size=out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------- a tiny PNG encoder

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def scanlines(samples, bit_depth, filter_type):
    """samples: (h, w, s) integers in range for bit_depth -> filtered scanlines (filter 0 None or 1 Sub)."""
    out = bytearray()
    h, w, s = samples.shape
    bpp = max(1, s * bit_depth // 8)
    for row in samples:
        if bit_depth == 16:
            data = row.astype(">u2").tobytes()
        elif bit_depth == 8:
            data = row.astype(np.uint8).tobytes()
        else:
            values = row.reshape(-1)
            per = 8 // bit_depth
            packed = bytearray((len(values) + per - 1) // per)
            for i, v in enumerate(values):
                packed[i // per] |= int(v) << (8 - bit_depth * (i % per + 1))
            data = bytes(packed)
        if filter_type == 1:
            raw = data
            data = bytes((raw[i] - (raw[i - bpp] if i >= bpp else 0)) & 0xFF for i in range(len(raw)))
        out += bytes([filter_type]) + data
    return bytes(out)


def encode_png(samples, bit_depth, color_type, interlace=False, palette=None, trns=None, extra=b"", filter_type=0):
    h, w = samples.shape[:2]
    if interlace:
        raw = b"".join(
            scanlines(samples[y0::dy, x0::dx], bit_depth, filter_type)
            for (x0, y0, dx, dy) in ADAM7 if samples[y0::dy, x0::dx].size)
    else:
        raw = scanlines(samples, bit_depth, filter_type)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0,
                                                                  1 if interlace else 0))
    data += extra
    if palette is not None:
        data += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        data += chunk(b"tRNS", trns)
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    return data


# ------------------------------------------------------------------------------------------------------- fixtures

def write(path, data):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


def decode_cases(rng):
    cases = []

    def add(name, data, grey, expected=None, note=None, exact=True):
        write(f"decode/{name}", data)
        if expected is None:
            im = Image.open(io.BytesIO(data))
            expected = np.asarray(im.convert("L" if grey else "RGB"))
        expected = np.ascontiguousarray(expected, np.uint8)
        if expected.ndim == 2:
            expected = expected[..., None]
        stem = name.rsplit(".", 1)[0]
        write(f"decode/{stem}.u8", expected.tobytes())
        case = {"file": f"decode/{name}", "expected": f"decode/{stem}.u8", "width": expected.shape[1],
                "height": expected.shape[0], "channels": expected.shape[2], "exact": exact}
        if note:
            case["note"] = note
        cases.append(case)

    w, h = 13, 11
    u8 = lambda *shape: rng.integers(0, 256, size=shape, dtype=np.uint16)
    gama = chunk(b"gAMA", struct.pack(">I", 100000))  # gamma 1.0: a decoder that applied it would change every pixel
    text = chunk(b"tEXt", b"Comment\x00tokenscope fixture")

    add("grey8.png", encode_png(u8(h, w, 1), 8, 0), True)
    add("grey8_sub_filter.png", encode_png(u8(h, w, 1), 8, 0, filter_type=1), True)
    add("grey8_trns.png", encode_png(u8(h, w, 1), 8, 0, trns=struct.pack(">H", 7)), True)
    add("grey_alpha8.png", encode_png(u8(h, w, 2), 8, 4), True)
    add("rgb8_gama.png", encode_png(u8(h, w, 3), 8, 2, extra=gama + text, filter_type=1), False)
    add("rgb8_trns.png", encode_png(u8(h, w, 3), 8, 2, trns=struct.pack(">HHH", 1, 2, 3)), False)
    add("rgba8.png", encode_png(u8(h, w, 4), 8, 6), False)
    pal = rng.integers(0, 256, size=(200, 3))
    add("palette8.png", encode_png(rng.integers(0, 200, size=(h, w, 1)), 8, 3, palette=pal), False)
    add("palette8_trns.png", encode_png(rng.integers(0, 200, size=(h, w, 1)), 8, 3, palette=pal,
                                        trns=bytes(rng.integers(0, 256, size=100, dtype=np.uint8))), False)
    add("palette8_out_of_range.png", encode_png(rng.integers(0, 8, size=(h, w, 1)), 8, 3, palette=pal[:5]), False,
        note="indices 5...7 are past the 5-entry palette: black, as in Pillow")
    add("palette4.png", encode_png(rng.integers(0, 16, size=(h, w, 1)), 4, 3, palette=pal[:16]), False)
    add("palette2.png", encode_png(rng.integers(0, 4, size=(h, w, 1)), 2, 3, palette=pal[:4]), False)
    add("palette1.png", encode_png(rng.integers(0, 2, size=(h, w, 1)), 1, 3, palette=pal[:2]), False)
    add("grey1.png", encode_png(rng.integers(0, 2, size=(h, w, 1)), 1, 0), True)
    add("grey2.png", encode_png(rng.integers(0, 4, size=(h, w, 1)), 2, 0), True)
    add("grey4.png", encode_png(rng.integers(0, 16, size=(h, w, 1)), 4, 0), True)
    rgb16 = rng.integers(0, 65536, size=(h, w, 3))
    add("rgb16.png", encode_png(rgb16, 16, 2), False)
    add("rgba16.png", encode_png(rng.integers(0, 65536, size=(h, w, 4)), 16, 6), False)
    add("grey_alpha16.png", encode_png(rng.integers(0, 65536, size=(h, w, 2)), 16, 4), True)
    grey16 = rng.integers(0, 65536, size=(h, w, 1))
    pil_grey16 = np.asarray(Image.open(io.BytesIO(encode_png(grey16, 16, 0))).convert("L"))
    assert (pil_grey16 == np.minimum(grey16[..., 0], 255)).all(), "Pillow's I;16 -> L is expected to clip"
    add("grey16.png", encode_png(grey16, 16, 0), True, expected=(grey16 >> 8),
        note="high byte; Pillow would give min(v, 255)")
    add("interlaced_rgb8.png", encode_png(u8(h, w, 3), 8, 2, interlace=True), False)
    add("interlaced_grey2.png", encode_png(rng.integers(0, 4, size=(h, w, 1)), 2, 0, interlace=True), True)
    add("interlaced_palette4.png", encode_png(rng.integers(0, 16, size=(h, w, 1)), 4, 3, interlace=True,
                                              palette=pal[:16]), False)
    add("interlaced_rgba16.png", encode_png(rng.integers(0, 65536, size=(h, w, 4)), 16, 6, interlace=True), False)
    add("interlaced_1x1.png", encode_png(u8(1, 1, 3), 8, 2, interlace=True), False)

    # Pillow's own encoder (adaptive filters), a second opinion on the filter paths.
    for mode, name in (("RGB", "pil_rgb.png"), ("L", "pil_grey.png")):
        buffer = io.BytesIO()
        arr = smooth_noise(rng, 19, 23, 3 if mode == "RGB" else 1)
        pil_from(arr).save(buffer, "PNG", optimize=True)
        add(name, buffer.getvalue(), mode == "L")

    # JPEG: Pillow's encoder (libjpeg-turbo); expected pixels from Pillow's decoder, compared within 1.
    jh, jw = 29, 37
    for name, mode, options in (
            ("color420.jpg", "RGB", {"quality": 90}),
            ("color422.jpg", "RGB", {"quality": 90, "subsampling": 1}),
            ("color444.jpg", "RGB", {"quality": 90, "subsampling": 0}),
            ("progressive.jpg", "RGB", {"quality": 85, "progressive": True}),
            ("grey.jpg", "L", {"quality": 90}),
            ("cmyk.jpg", "CMYK", {"quality": 90})):
        arr = smooth_noise(rng, jh, jw, {"RGB": 3, "L": 1, "CMYK": 4}[mode])
        im = Image.fromarray(arr[..., 0], "L") if mode == "L" else Image.fromarray(arr, mode)
        buffer = io.BytesIO()
        im.save(buffer, "JPEG", **options)
        add(name, buffer.getvalue(), mode == "L", exact=False)
    return cases


TV_INTERP = {"bicubic": InterpolationMode.BICUBIC, "bilinear": InterpolationMode.BILINEAR,
             "nearest": InterpolationMode.NEAREST}
PIL_FILTER = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
              "nearest": Image.Resampling.NEAREST}


def resize_cases():
    cases = []
    # (id, source w, h, channels, seed, filter, short side or None, explicit (w, h) or None, fine pattern?)
    # Big outputs use the coarse pattern, which PNG compresses well.
    specs = [
        ("up_37x23_s256_bicubic", 37, 23, 3, 1, "bicubic", 256, None, False),
        ("up_300x200_s224_bicubic", 300, 200, 3, 2, "bicubic", 224, None, False),
        ("down_300x200_s64_bicubic", 300, 200, 3, 3, "bicubic", 64, None, True),
        ("down_28_s14_grey_bicubic", 28, 28, 1, 4, "bicubic", 14, None, True),
        ("down_28_s20_grey_bicubic", 28, 28, 1, 5, "bicubic", 20, None, True),
        ("vertical_first_40x200_s20_bicubic", 40, 200, 3, 6, "bicubic", 20, None, True),
        ("only_vertical_50x30_to_50x61_bilinear", 50, 30, 3, 7, "bilinear", None, (50, 61), True),
        ("only_horizontal_30x20_to_77x20_bicubic", 30, 20, 3, 8, "bicubic", None, (77, 20), True),
        ("mixed_61x47_to_97x31_bicubic", 61, 47, 3, 9, "bicubic", None, (97, 31), True),
        ("down_64x48_s36_bilinear", 64, 48, 3, 10, "bilinear", 36, None, True),
        ("up_23x37_s45_bilinear", 23, 37, 3, 11, "bilinear", 45, None, True),
        ("down_28_s20_grey_bilinear", 28, 28, 1, 12, "bilinear", 20, None, True),
        ("up_37x23_s63_nearest", 37, 23, 3, 13, "nearest", 63, None, True),
        ("down_150x100_s41_nearest", 150, 100, 3, 14, "nearest", 41, None, True),
        ("down_28_s20_grey_nearest", 28, 28, 1, 15, "nearest", 20, None, True),
    ]
    for case_id, w, h, c, seed, filt, short, explicit, fine in specs:
        im = pil_from(pattern(w, h, c, seed, fine))
        if explicit is not None:
            out = im.resize(explicit, PIL_FILTER[filt])
        else:
            out = T.Resize(short, interpolation=TV_INTERP[filt])(im)
        buffer = io.BytesIO()
        out.save(buffer, "PNG", optimize=True)
        write(f"resize/{case_id}.png", buffer.getvalue())
        cases.append({"id": case_id, "source": {"width": w, "height": h, "channels": c, "seed": seed, "fine": fine},
                      "filter": filt, "short_side": short, "size": list(explicit) if explicit else None,
                      "out_width": out.size[0], "out_height": out.size[1], "expected": f"resize/{case_id}.png"})
    return cases


def pipeline_cases(rng):
    cases = []
    # (id, source w, h, channels, seed, model channels, short side (None = no resize), crop (h, w), interp, mean, std,
    #  mode, what to store: "tensor" (the full float32 tensor, small cases, fine pattern), "png" (the uint8 crop) or
    #  "hash" (FNV-1a 64 of the uint8 crop); the last two also store the sum and 64 sampled tensor values)
    grey_mean, grey_std = [0.5], [0.25]
    inet = (IMAGENET_MEAN, IMAGENET_STD)
    half = ([0.5] * 3, [0.5] * 3)
    specs = [
        ("deit_64x48_crop32", 64, 48, 3, 20, 3, 36, (32, 32), "bicubic", *inet, "deit", "tensor"),
        ("timm09_64x48_crop32", 64, 48, 3, 21, 3, 35, (32, 32), "bicubic", *inet, "timm", "tensor"),
        ("timm09_bilinear_33x70_crop32", 33, 70, 3, 22, 3, 35, (32, 32), "bilinear", *half, "timm", "tensor"),
        ("half_pixel_crop_64x48_s33", 64, 48, 3, 23, 3, 33, (32, 32), "bicubic", *inet, "timm", "tensor"),
        ("pad_64x48_s30_crop32", 64, 48, 3, 24, 3, 30, (32, 32), "bicubic", *inet, "timm", "tensor"),
        ("grey_image_rgb_model", 64, 48, 1, 25, 3, 36, (32, 32), "bicubic", *inet, "deit", "tensor"),
        ("rgb_image_grey_model", 64, 48, 3, 26, 1, 36, (32, 32), "bicubic", grey_mean, grey_std, "deit", "tensor"),
        ("none_32x32", 32, 32, 3, 27, 3, None, (32, 32), "bicubic", *inet, "none", "tensor"),
        ("deit_300x200_crop224", 300, 200, 3, 28, 3, 256, (224, 224), "bicubic", *inet, "deit", "png"),
        ("timm09_257x331_crop224", 257, 331, 3, 29, 3, 248, (224, 224), "bicubic", *inet, "timm", "hash"),
    ]
    for (case_id, w, h, c, seed, model_c, short, crop, interp, mean, std, mode, store) in specs:
        fine = store == "tensor"
        im = pil_from(pattern(w, h, c, seed, fine))
        im = im.convert("L" if model_c == 1 else "RGB")  # what the reference loader does before the transforms
        geometric = []
        if short is not None:
            geometric.append(T.Resize(short, interpolation=TV_INTERP[interp]))
        geometric.append(T.CenterCrop(crop))
        cropped = T.Compose(geometric)(im)
        tensor = T.Compose([T.ToTensor(), T.Normalize(mean, std)])(cropped)
        assert tensor.dtype == torch.float32 and tuple(tensor.shape) == (model_c, crop[0], crop[1])
        flat = tensor.numpy().reshape(-1)
        case = {"id": case_id, "source": {"width": w, "height": h, "channels": c, "seed": seed, "fine": fine},
                "mode": mode,
                "channels": model_c, "short_side": short, "crop_height": crop[0], "crop_width": crop[1],
                "interpolation": interp, "mean": mean, "std": std, "sum": float(flat.astype(np.float64).sum())}
        if store == "tensor":
            write(f"pipeline/{case_id}.f32", flat.astype("<f4").tobytes())
            case["tensor"] = f"pipeline/{case_id}.f32"
        else:
            if store == "png":
                buffer = io.BytesIO()
                cropped.save(buffer, "PNG", optimize=True)
                write(f"pipeline/{case_id}.png", buffer.getvalue())
                case["cropped"] = f"pipeline/{case_id}.png"
            else:
                case["cropped_fnv1a64"] = f"{fnv1a64(np.asarray(cropped).tobytes()):016x}"
            idx = np.sort(rng.choice(flat.size, size=64, replace=False))
            case["samples"] = {"index": [int(i) for i in idx], "value": [float(flat[i]) for i in idx]}
        cases.append(case)
    return cases


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    rng = np.random.default_rng(20240611)
    manifest = {
        "generator": "Tests/Fixtures/gen_images.py",
        "versions": {"pillow": Image.__version__, "torch": torch.__version__.split("+")[0],
                     "torchvision": __import__("torchvision").__version__.split("+")[0]},
        "decode": decode_cases(rng),
        "resize": resize_cases(),
        "pipeline": pipeline_cases(rng),
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, name)) for name in files)
    print(f"wrote {OUT}: {total} bytes")


if __name__ == "__main__":
    main()
