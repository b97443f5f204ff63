"""The gland's ultrasound score (OMERACT and De Vita, 0-3): train, validate, export.

    npx tsx scripts/score-features.ts            # the feature table (segmented with the default model)
    /usr/bin/python3 models/training/score_train.py [--features CSV] [--out models/sgus-score]

Model: standardised gland features (src/score/gland-features.ts) -> multinomial logistic regression,
one per score. Its hyper-parameters (regularisation C, class weighting, decision rule: argmax or
the expected grade rounded) are chosen by an inner cross-validation inside each outer training
fold: leave-one-centre-out over the training centres for the leave-one-centre-out folds, stratified
5-fold for the stratified folds. The held-out centre or fold never takes part in a choice.
The final model learns all frames, its hyper-parameters chosen by leave-one-centre-out over all
four centres. Every figure of the card is computed here; none is typed in.

Stand-alone on purpose: imports nothing from train/export/validate.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCORES = {"omeract": "omeract_score", "deVita": "devita_score"}
CLASSES = [0, 1, 2, 3]
SEED = 16
GRID = {"C": [0.003, 0.01, 0.03, 0.1, 0.3, 1.0], "classWeight": [None, "balanced"], "decision": ["argmax", "expected"]}
META = ["image", "centre", "gland", "machine", "devita_score", "omeract_score", "gland_pixels"]
# As published by the HarmonicSS authors (quoted, not measured here).
PUBLISHED = {
    "source": "HarmonicSS (Vukicevic et al.), SGUS scoring of the benchmark data, as published",
    "radiomicsMlpKappaVsReference": 0.70,
    "cliniciansMeanKappa": 0.67,
    "intraReaderKappa": 0.71,
    "note": "published figures, not measured by this tool; weighted κ against the reference score",
}


def qwk(ref, pred, k=4):
    ref = np.asarray(ref, int)
    pred = np.asarray(pred, int)
    o = np.zeros((k, k))
    for r, p in zip(ref, pred):
        o[r, p] += 1
    n = len(ref)
    if n == 0:
        return float("nan")
    w = np.array([[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)])
    e = np.outer(o.sum(1), o.sum(0)) / n
    den = (w * e).sum()
    return float(1 - (w * o).sum() / den) if den > 0 else float("nan")


def confusion(ref, pred, k=4):
    m = np.zeros((k, k), int)
    for r, p in zip(ref, pred):
        m[int(r), int(p)] += 1
    return m.tolist()


def summary(ref, pred):
    ref = np.asarray(ref, int)
    pred = np.asarray(pred, int)
    return {"n": int(len(ref)), "kappa": rnd(qwk(ref, pred)), "accuracy": rnd(float((ref == pred).mean()) if len(ref) else float("nan")),
            "confusion": confusion(ref, pred)}


def rnd(v):
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else round(float(v), 4)


def decide(prob, rule):
    if rule == "argmax":
        return prob.argmax(1)
    return np.clip(np.rint(prob @ np.arange(prob.shape[1])), 0, prob.shape[1] - 1).astype(int)


class Model:
    """Standardisation + multinomial logistic regression with a decision rule."""

    def __init__(self, C, classWeight, decision):
        self.C, self.classWeight, self.decision = C, classWeight, decision

    def fit(self, x, y):
        self.mean = x.mean(0)
        self.std = x.std(0)
        self.std[self.std < 1e-6] = 1.0
        self.lr = LogisticRegression(C=self.C, class_weight=self.classWeight, max_iter=5000, multi_class="multinomial")
        self.lr.fit((x - self.mean) / self.std, y)
        return self

    def proba(self, x):
        p = np.zeros((len(x), 4))
        p[:, self.lr.classes_] = self.lr.predict_proba((x - self.mean) / self.std)
        return p

    def predict(self, x):
        return decide(self.proba(x), self.decision)


def inner_splits(y, groups, grouped, seed):
    if grouped:
        return [(np.where(groups != g)[0], np.where(groups == g)[0]) for g in np.unique(groups)]
    return list(StratifiedKFold(5, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def select(x, y, groups, grouped, seed):
    """Hyper-parameters by the inner cross-validation's pooled weighted κ on the training data only."""
    best, best_k = None, -np.inf
    splits = inner_splits(y, groups, grouped, seed)
    for C, cw, rule in itertools.product(GRID["C"], GRID["classWeight"], GRID["decision"]):
        pred = np.zeros(len(y), int)
        for tr, te in splits:
            pred[te] = Model(C, cw, rule).fit(x[tr], y[tr]).predict(x[te])
        k = qwk(y, pred)
        if k > best_k:
            best, best_k = {"C": C, "classWeight": cw, "decision": rule}, k
    return best, best_k


def outer(x, y, groups, folds, grouped_inner, seed):
    pred = np.zeros(len(y), int)
    prob = np.zeros((len(y), 4))
    chosen = []
    for name, tr, te in folds:
        hp, k_inner = select(x[tr], y[tr], groups[tr], grouped_inner, seed)
        m = Model(**hp).fit(x[tr], y[tr])
        prob[te] = m.proba(x[te])
        pred[te] = decide(prob[te], hp["decision"])
        chosen.append({"fold": name, "n": int(len(te)), **hp, "innerKappa": rnd(k_inner), "kappa": rnd(qwk(y[te], pred[te]))})
    return pred, prob, chosen


def breakdown(ref, pred, keys):
    return {k: summary(ref[keys == k], pred[keys == k]) for k in sorted(set(keys))}


def load(path):
    with open(path) as f:
        lines = [l for l in f if not l.startswith("#")]
    header_comment = open(path).readline().strip().lstrip("# ")
    rows = list(csv.DictReader(lines))
    names = [c for c in rows[0].keys() if c not in META]
    x = np.array([[float(r[c]) for c in names] for r in rows], dtype=np.float64)
    return rows, names, x, header_comment


def export_onnx(models, names, path):
    """One graph: features [N,F] -> omeract [N,4], deVita [N,4] probabilities (standardisation inside)."""
    f = len(names)
    nodes, inits, outputs = [], [], []
    for key, m in models.items():
        w = np.zeros((f, 4), np.float32)
        b = np.full(4, -30.0, np.float32)  # a grade never seen in training keeps probability ~0
        cls = list(m.lr.classes_)
        coef = m.lr.coef_
        inter = m.lr.intercept_
        for j, c in enumerate(cls):
            w[:, c] = coef[j] / m.std
            b[c] = inter[j] - float((coef[j] * m.mean / m.std).sum())
        inits += [helper.make_tensor(f"{key}_w", TensorProto.FLOAT, [f, 4], w.flatten().tolist()),
                  helper.make_tensor(f"{key}_b", TensorProto.FLOAT, [4], b.tolist())]
        nodes += [helper.make_node("MatMul", ["features", f"{key}_w"], [f"{key}_mm"]),
                  helper.make_node("Add", [f"{key}_mm", f"{key}_b"], [f"{key}_logits"]),
                  helper.make_node("Softmax", [f"{key}_logits"], [key], axis=1)]
        outputs.append(helper.make_tensor_value_info(key, TensorProto.FLOAT, ["N", 4]))
    graph = helper.make_graph(nodes, "sgus-score", [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", f])], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="sgus-live score_train.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", default=os.path.join(HERE, "cache", "score-features.csv"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "sgus-score"))
    ap.add_argument("--seed", type=int, default=SEED)
    a = ap.parse_args()
    np.random.seed(a.seed)
    rows, names, x, origin = load(a.features)
    centres = np.array([r["centre"] for r in rows])
    glands = np.array([r["gland"] for r in rows])
    machines = np.array([r["machine"] for r in rows])
    no_gland = int(sum(1 for r in rows if float(r["gland_pixels"]) == 0))
    validation = {
        "method": "out-of-fold predictions; hyper-parameters chosen by an inner cross-validation inside each outer training fold "
                  "(leave-one-centre-out over the training centres for the centre folds, stratified 5-fold for the stratified folds)",
        "grid": GRID, "framesWithoutGland": no_gland,
        "note": "frames where the segmenter found no gland are kept (their features are zero) so that every reference frame is scored",
        "leaveOneCentreOut": {}, "stratified5Fold": {}, "published": PUBLISHED,
    }
    final = {}
    hyper = {}
    for key, col in SCORES.items():
        y = np.array([int(r[col]) for r in rows])
        loco_folds = [(c, np.where(centres != c)[0], np.where(centres == c)[0]) for c in sorted(set(centres))]
        pred, _, chosen = outer(x, y, centres, loco_folds, True, a.seed)
        per_centre = breakdown(y, pred, centres)
        for c in chosen:
            per_centre[c["fold"]].update({"trainedOn": sorted(set(centres) - {c["fold"]}), "hyperParameters": {k: c[k] for k in GRID}})
        ks = [per_centre[c]["kappa"] for c in per_centre if per_centre[c]["kappa"] is not None]
        validation["leaveOneCentreOut"][key] = {
            "overall": summary(y, pred), "meanCentreKappa": rnd(float(np.mean(ks))), "worstCentreKappa": rnd(float(np.min(ks))),
            "perCentre": per_centre, "perGland": breakdown(y, pred, glands), "perMachine": breakdown(y, pred, machines)}
        skf = StratifiedKFold(5, shuffle=True, random_state=a.seed)
        cv_folds = [(f"fold{k}", tr, te) for k, (tr, te) in enumerate(skf.split(x, y))]
        pred_cv, _, chosen_cv = outer(x, y, centres, cv_folds, False, a.seed)
        validation["stratified5Fold"][key] = {
            "seed": a.seed, "overall": summary(y, pred_cv), "folds": chosen_cv, "perCentre": breakdown(y, pred_cv, centres), "perGland": breakdown(y, pred_cv, glands)}
        hp, k_sel = select(x, y, centres, True, a.seed)
        hyper[key] = {**hp, "selectedBy": "leave-one-centre-out over all 225 frames", "selectionKappa": rnd(k_sel)}
        final[key] = Model(**hp).fit(x, y)
        print(f"{key}: LOCO κ {validation['leaveOneCentreOut'][key]['overall']['kappa']} "
              f"(per centre {', '.join(c + ' ' + str(v['kappa']) for c, v in per_centre.items())}); "
              f"CV κ {validation['stratified5Fold'][key]['overall']['kappa']}; final {hp}", file=sys.stderr)
    os.makedirs(a.out, exist_ok=True)
    export_onnx(final, names, os.path.join(a.out, "model.onnx"))
    count = lambda arr: {k: int(v) for k, v in zip(*np.unique(arr, return_counts=True))}
    card = {
        "schema": 1, "kind": "score", "name": os.path.basename(os.path.abspath(a.out)),
        "architecture": "multinomial logistic regression on standardised gland features, one per score",
        "file": "model.onnx", "format": "onnx", "opset": 17,
        "researchUse": "research aid, not a diagnosis",
        "features": {"version": origin.split(" segmenter ")[0], "names": names, "count": len(names),
                     "segmenter": origin.split(" segmenter ")[1] if " segmenter " in origin else None},
        "input": {"name": "features", "dims": ["N", len(names)], "dtype": "float32"},
        "normalization": {"mean": [float(v) for v in final["omeract"].mean], "std": [float(v) for v in final["omeract"].std],
                          "appliedInGraph": True, "note": "x' = (x - mean) / std, folded into the graph's weights; the runtime feeds raw features"},
        "outputs": {k: {"name": k, "kind": "probabilities", "dims": ["N", 4], "decision": hyper[k]["decision"]} for k in SCORES},
        "classes": CLASSES,
        "hyperParameters": hyper,
        "training": {"data": "HarmonicSS benchmark, unlabeled/metadata.csv (reference OMERACT and De Vita scores)",
                     "frames": len(rows), "perCentre": count(centres), "perGland": count(glands), "perMachine": count(machines),
                     "perGrade": {k: {str(g): int(n) for g, n in count(np.array([int(r[c]) for r in rows])).items()} for k, c in SCORES.items()},
                     "seed": a.seed, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "tool": "models/training/score_train.py", "featuresTable": os.path.relpath(a.features, ROOT),
                     # the frames the shipped model learned: sgus eval --scores marks them (no validation figure)
                     "images": [r["image"] for r in rows]},
        "validation": validation,
    }
    with open(os.path.join(a.out, "card.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    print(f"wrote {a.out}/model.onnx and card.json", file=sys.stderr)


if __name__ == "__main__":
    main()
