"""Static int8 quantisation of an exported model (QDQ format), offline like the training.

Two steps around a calibration run on real frames (scripts/calibrate-activations.ts, which feeds the
model exactly what the runtime feeds it, through src/segmenter/preprocess.ts):

    /usr/bin/python3 models/training/quantize.py prepare --model models/unet-mbv2-st/model.onnx \
        --out /tmp/calib.onnx --tensors-out /tmp/tensors.json
    npx tsx scripts/calibrate-activations.ts --model /tmp/calib.onnx --tensors /tmp/tensors.json \
        --card models/unet-mbv2-st/card.json --frames ../shared/data/sgus/unlabeled --out /tmp/ranges.json
    /usr/bin/python3 models/training/quantize.py quantize --model models/unet-mbv2-st/model.onnx \
        --ranges /tmp/ranges.json --out /tmp/int8/model.onnx

`prepare` writes a copy of the model with every activation to be quantised as an extra output;
`quantize` inserts QuantizeLinear/DequantizeLinear pairs: activations uint8, asymmetric, one scale
per tensor (from the calibrated range); Conv weights int8, symmetric, one scale per output channel;
Conv biases int32 at input scale x weight scale. ONNX Runtime fuses DQ -> Conv -> Q into QLinearConv
(and Relu/Clip before a Q whose range they do not cut into ClipQuantFusion), so the convolutions
run on its int8 kernels. Only onnx (python3-onnx) and numpy are needed.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Dict, List, Set

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Activations that follow a Conv and that a Q after them lets ONNX Runtime fold into the QLinearConv.
FOLDABLE_ACTIVATIONS = ("Relu", "Clip")
# Ops that only move or resample values: the graph output behind them stays float (see float_tail).
PASS_THROUGH = ("Resize", "Identity", "Reshape", "Transpose", "Softmax", "Sigmoid")


def _consumers(graph: onnx.GraphProto) -> Dict[str, List[onnx.NodeProto]]:
    out: Dict[str, List[onnx.NodeProto]] = {}
    for n in graph.node:
        for i in n.input:
            if i:
                out.setdefault(i, []).append(n)
    return out


def _producers(graph: onnx.GraphProto) -> Dict[str, onnx.NodeProto]:
    return {o: n for n in graph.node for o in n.output}


def float_tail(graph: onnx.GraphProto) -> Set[str]:
    """Tensors from the last Conv to the graph outputs through resampling ops only. They stay
    float: a uint8 step on the logits would move the 0.5-probability boundary for little speed."""
    prod = _producers(graph)
    tail: Set[str] = set()
    todo = [o.name for o in graph.output]
    while todo:
        t = todo.pop()
        if t in tail:
            continue
        tail.add(t)
        n = prod.get(t)
        if n is not None and n.op_type in PASS_THROUGH and n.input:
            todo.append(n.input[0])
    return tail


def activation_tensors(model: onnx.ModelProto) -> List[str]:
    """The float tensors that get a Q/DQ pair: every activation input of a Conv, and every Conv
    output (after its Relu/Clip when that is its only consumer), except the float tail."""
    g = model.graph
    inits = {i.name for i in g.initializer}
    cons = _consumers(g)
    tail = float_tail(g)
    chosen: List[str] = []

    def add(t: str) -> None:
        if t and t not in inits and t not in tail and t not in chosen:
            chosen.append(t)

    for n in g.node:
        if n.op_type != "Conv":
            continue
        add(n.input[0])
        out = n.output[0]
        users = cons.get(out, [])
        if len(users) == 1 and users[0].op_type in FOLDABLE_ACTIVATIONS:
            out = users[0].output[0]
        add(out)
    return chosen


def prepare(model_path: str, out_path: str, tensors_out: str) -> List[str]:
    model = onnx.load(model_path)
    tensors = activation_tensors(model)
    have = {o.name for o in model.graph.output}
    for t in tensors:
        if t not in have:
            model.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    onnx.save(model, out_path)
    with open(tensors_out, "w") as f:
        json.dump({"model": model_path, "tensors": tensors}, f, indent=1)
    return tensors


def uint8_params(lo: float, hi: float):
    """Asymmetric uint8 scale and zero point for [lo, hi], widened to hold 0 exactly (padding and
    ReLU zeros must stay exact)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / 255.0
    if not np.isfinite(scale) or scale <= 0:
        return 1.0, 0
    zp = int(np.clip(round(-lo / scale), 0, 255))
    return scale, zp


def per_channel_int8(w: np.ndarray):
    """Symmetric int8 per output channel (axis 0): q = round(w / s), s = max|w| / 127."""
    amax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1).astype(np.float64)
    scale = np.where(amax > 0, amax / 127.0, 1.0)
    q = np.clip(np.round(w / scale.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def pick_range(entry: Dict, method: str):
    if method == "minmax":
        return entry["min"], entry["max"]
    if method == "percentile":
        return entry["pLow"], entry["pHigh"]
    raise ValueError(f"unknown range method {method!r} (minmax | percentile)")


def quantize(model_path: str, ranges_path: str, out_path: str, method: str = "percentile",
             keep_float: str | None = None) -> Dict:
    """`keep_float`: a regular expression; activations whose name matches stay float, and so do the
    Convs that read them (mixed precision for the layers int8 hurts most)."""
    model = onnx.load(model_path)
    g = model.graph
    ranges = json.load(open(ranges_path))["tensors"]
    skip = re.compile(keep_float) if keep_float else None
    tensors = [t for t in activation_tensors(model) if t in ranges and not (skip and skip.search(t))]
    missing = [t for t in activation_tensors(model) if t not in ranges]
    if missing:
        raise SystemExit(f"quantize.py: {ranges_path} has no range for {len(missing)} tensors, e.g. "
                         f"{missing[0]!r}: calibrate the model that 'prepare' wrote from this one")
    inits = {i.name: i for i in g.initializer}
    act: Dict[str, tuple] = {}
    head: List[onnx.NodeProto] = []   # DQ of weights and biases: inputs are initializers only
    new_inits: List[onnx.TensorProto] = []

    def const(name: str, arr: np.ndarray) -> str:
        new_inits.append(numpy_helper.from_array(arr, name))
        return name

    for t in tensors:
        s, zp = uint8_params(*pick_range(ranges[t], method))
        act[t] = (s, zp)
        const(t + "_scale", np.array(s, dtype=np.float32))
        const(t + "_zero_point", np.array(zp, dtype=np.uint8))

    convs = 0
    for n in g.node:
        if n.op_type != "Conv" or n.input[1] not in inits or n.input[0] not in act:
            continue
        w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
        q, ws = per_channel_int8(w)
        base = n.name or n.output[0]
        wq = const(base + "_weight_q", q)
        wsn = const(base + "_weight_scale", ws)
        wzp = const(base + "_weight_zero_point", np.zeros(len(ws), dtype=np.int8))
        head.append(helper.make_node("DequantizeLinear", [wq, wsn, wzp], [base + "_weight_dq"], axis=0,
                                     name=base + "_weight_DequantizeLinear"))
        n.input[1] = base + "_weight_dq"
        if len(n.input) > 2 and n.input[2] in inits:
            b = numpy_helper.to_array(inits[n.input[2]]).astype(np.float64)
            bs = (act[n.input[0]][0] * ws.astype(np.float64)).astype(np.float32)
            bq = np.clip(np.round(b / bs), -2 ** 31, 2 ** 31 - 1).astype(np.int32)
            bqn = const(base + "_bias_q", bq)
            bsn = const(base + "_bias_scale", bs)
            bzp = const(base + "_bias_zero_point", np.zeros(len(bs), dtype=np.int32))
            head.append(helper.make_node("DequantizeLinear", [bqn, bsn, bzp], [base + "_bias_dq"], axis=0,
                                         name=base + "_bias_DequantizeLinear"))
            n.input[2] = base + "_bias_dq"
        convs += 1

    def qdq(t: str) -> List[onnx.NodeProto]:
        return [helper.make_node("QuantizeLinear", [t, t + "_scale", t + "_zero_point"], [t + "_q"],
                                 name=t + "_QuantizeLinear"),
                helper.make_node("DequantizeLinear", [t + "_q", t + "_scale", t + "_zero_point"], [t + "_dq"],
                                 name=t + "_DequantizeLinear")]

    # Every consumer reads the dequantised tensor, so each quantised op sees only int8-representable
    # values, as the fused kernels will (and the Conv's float output has the Q as its only user).
    for n in g.node:
        for k, i in enumerate(n.input):
            if i in act:
                n.input[k] = i + "_dq"
    nodes: List[onnx.NodeProto] = list(head)
    for i in g.input:
        if i.name in act:
            nodes += qdq(i.name)
    for n in g.node:
        nodes.append(n)
        for o in n.output:
            if o in act:
                nodes += qdq(o)
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    kept = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    onnx.checker.check_model(model)
    onnx.save(model, out_path)
    return {"activations": len(act), "convs": convs, "range": method, "keepFloat": keep_float}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="copy of the model with the activations to calibrate as outputs")
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True, help="the calibration model (.onnx)")
    p.add_argument("--tensors-out", required=True, help="JSON list of the tensors to calibrate")
    q = sub.add_parser("quantize", help="insert Q/DQ from calibrated ranges")
    q.add_argument("--model", required=True, help="the float model that 'prepare' read")
    q.add_argument("--ranges", required=True, help="JSON written by scripts/calibrate-activations.ts")
    q.add_argument("--out", required=True)
    q.add_argument("--range", default="percentile", choices=("percentile", "minmax"),
                   help="which calibrated range sets an activation's scale (default percentile)")
    q.add_argument("--keep-float", default=None, metavar="REGEX",
                   help="activations whose tensor name matches stay float, with the Convs reading them")
    args = ap.parse_args()
    if args.cmd == "prepare":
        t = prepare(args.model, args.out, args.tensors_out)
        print(json.dumps({"tensors": len(t)}))
    else:
        print(json.dumps(quantize(args.model, args.ranges, args.out, args.range, args.keep_float)))


if __name__ == "__main__":
    sys.exit(main())
