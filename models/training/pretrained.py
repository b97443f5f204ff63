"""ImageNet-pretrained weights for the U-Net's MobileNetV2 encoder, from a package on the npm registry.

Twelve clinician masks are far too few to learn generic image features from scratch, and this
machine reaches no model hub. The npm package `nsfwjs` (MIT) ships, inside its tarball, a Keras
MobileNetV2 (alpha 1.0, 224x224) in TensorFlow.js layers format whose convolutional base is the
ImageNet one (its layers are marked `trainable: false`; only the classifier head was retrained),
stored as uint8-quantised weights. This module fetches that tarball with `npm pack` (the npm
registry is reachable here and in CI), reads the layers model through `node` (the files are
browserify wrappers around the JSON and a base64 string), de-quantises the weights and maps them
onto `architectures.MobileNetV2Encoder`.

    /usr/bin/python3 models/training/pretrained.py            # fetch + check, prints a summary
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tarfile
from typing import Dict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "cache")
PACKAGE = "nsfwjs@4.4.0"
MODEL_DIR = "package/dist/models/mobilenet_v2"


def fetch(cache: str = CACHE) -> str:
    """Returns the folder of the extracted package, running `npm pack` once if needed."""
    folder = os.path.join(cache, PACKAGE.replace("@", "-"))
    if os.path.exists(os.path.join(folder, MODEL_DIR, "model.min.js")):
        return folder
    os.makedirs(cache, exist_ok=True)
    sys.stderr.write(f"fetching {PACKAGE} from the npm registry (25 MB) into {cache}\n")
    out = subprocess.run(["npm", "pack", PACKAGE, "--pack-destination", cache, "--json"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"npm pack {PACKAGE} failed: {out.stderr.strip().splitlines()[-1:]}")
    tgz = os.path.join(cache, json.loads(out.stdout)[0]["filename"])
    with tarfile.open(tgz) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(MODEL_DIR + "/") and m.isfile()]
        tar.extractall(folder, members=members)
    os.remove(tgz)
    return folder


def _node_export(path: str):
    """The value a browserify-wrapped file exports (the model JSON object, or a base64 string)."""
    # Run in a CommonJS sandbox: a "type": "module" package.json above the cache (this repository's)
    # would otherwise make Node load the file as an ES module that exports nothing.
    js = ("const vm=require('vm'),fs=require('fs');const module={exports:{}};"
          "vm.runInNewContext(fs.readFileSync(process.argv[1],'utf8'),{module,exports:module.exports});"
          "process.stdout.write(JSON.stringify(module.exports))")
    out = subprocess.run(["node", "-e", js, path], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"node could not read {path}: {out.stderr.strip()[:200]}")
    return json.loads(out.stdout)


def keras_weights(folder: str) -> Dict[str, np.ndarray]:
    """Name -> float32 array (Keras layout) for every weight of the MobileNetV2 layers model."""
    d = os.path.join(folder, MODEL_DIR)
    model = _node_export(os.path.join(d, "model.min.js"))
    weights: Dict[str, np.ndarray] = {}
    for group in model["weightsManifest"]:
        # Manifest paths name the shards without extension ("group1-shard1of1"); each is shipped
        # as "<path>.min.js" exporting the shard's bytes in base64.
        buf = b"".join(base64.b64decode(_node_export(os.path.join(d, p + ".min.js")))
                       for p in group["paths"])
        off = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q:
                if q["dtype"] != "uint8":
                    raise ValueError(f"unsupported quantisation {q['dtype']} for {w['name']}")
                raw = np.frombuffer(buf, np.uint8, n, off).astype(np.float32)
                arr = q["min"] + raw * q["scale"]
                off += n
            else:
                arr = np.frombuffer(buf, np.float32, n, off).copy()
                off += 4 * n
            weights[w["name"]] = arr.reshape(w["shape"]).astype(np.float32)
        if off != len(buf):
            raise ValueError(f"weights manifest covers {off} bytes of {len(buf)}")
    return weights


def load_mobilenet_v2(encoder: torch.nn.Module, folder: str | None = None) -> int:
    """Copies the ImageNet weights into `encoder` (a MobileNetV2Encoder); returns tensors copied.

    Keras conv kernels are (kh, kw, in, out) -> torch (out, in, kh, kw); depthwise kernels are
    (kh, kw, in, 1) -> (in, 1, kh, kw). The encoder's input is the project's normalisation
    ((p/255 - 0.5) / 0.25, range [-2, 2]) while Keras MobileNetV2 expects p/127.5 - 1 ([-1, 1]):
    the first convolution's weights are halved so that no extra op is needed at inference.
    """
    kw = keras_weights(folder or fetch())
    copied = 0
    for name, tensor in encoder.keras_map().items():
        if name not in kw:
            raise KeyError(f"pretrained weight {name} missing")
        a = kw[name]
        if a.ndim == 4:
            a = a.transpose(3, 2, 0, 1) if not name.endswith("depthwise_kernel") else a.transpose(2, 3, 0, 1)
        t = torch.from_numpy(np.ascontiguousarray(a))
        if name == "Conv1/kernel":
            t = t * 0.5
        if t.shape != tensor.shape:
            raise ValueError(f"{name}: pretrained {tuple(t.shape)} vs model {tuple(tensor.shape)}")
        with torch.no_grad():
            tensor.copy_(t)
        copied += 1
    return copied


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    import architectures as A
    folder = fetch()
    enc = A.MobileNetV2Encoder()
    n = load_mobilenet_v2(enc, folder)
    print(f"{PACKAGE}: {n} tensors copied into MobileNetV2Encoder "
          f"({sum(p.numel() for p in enc.parameters()) / 1e6:.2f} M parameters) from {folder}")
