#!/usr/bin/env python3
"""The benchmark's peer: video mode the way the seed's inference script does it, in OpenCV.

cv2.VideoCapture reads the video, cv2.dnn runs our ONNX model frame by frame (batch 1) with the
card's pre-processing (resize to the model input, RGB, x = (pixel * scale - mean) / std), argmax,
the mask back at frame size, findContours, drawContours over the frame, VideoWriter writes the
annotated video. Prints one JSON line: {"frames", "seconds", "fps", "opencv"}; or, when the model
cannot be loaded (OpenCV 4.6 refuses the MobileNetV2 exports' dynamic Pad), {"error": "..."} and
exit code 3. Run by src/bench/opencv-peer.ts in the same run as ours.

Usage: opencv-peer.py --video FILE --card card.json --out FILE.mp4 [--threads N] [--max-frames N]
"""
import argparse
import json
import os
import sys
import time


def one_line(e: Exception) -> str:
    # OpenCV's messages span lines ('> Node [Pad@ai.onnx]... parse error: ...'): the node line says what.
    lines = [l.strip('> ').strip() for l in str(e).splitlines() if l.strip('> ').strip() != '']
    node = next((l for l in lines if l.startswith('Node ')), None)
    return (node or (lines[-1] if lines else 'error'))[:200]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--video', required=True)
    ap.add_argument('--card', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--max-frames', type=int, default=0)
    a = ap.parse_args()
    # Timed from here, like the CLI run it is compared with (process start to last frame written,
    # minus the interpreter's own start-up, which is small).
    t0 = time.perf_counter()
    try:
        import cv2
        import numpy as np
    except ImportError as e:
        print(json.dumps({'error': f'python3-opencv not installed ({e})'}))
        return 4
    if a.threads > 0:
        cv2.setNumThreads(a.threads)
    with open(a.card) as f:
        card = json.load(f)
    inp = card['input']
    w, h = int(inp['width']), int(inp['height'])
    norm = inp.get('normalization', {})
    scale = float(norm.get('scale', 1 / 255))
    mean = np.array(norm.get('mean', [0, 0, 0]), dtype=np.float32).reshape(1, 1, 3)
    std = np.array(norm.get('std', [1, 1, 1]), dtype=np.float32).reshape(1, 1, 3)
    rgb = inp.get('channelOrder', 'RGB') == 'RGB'
    model = os.path.join(os.path.dirname(os.path.abspath(a.card)), card.get('file', 'model.onnx'))
    try:
        net = cv2.dnn.readNetFromONNX(model)
    except cv2.error as e:
        print(json.dumps({'error': f'cv2.dnn {cv2.__version__} cannot load the model: {one_line(e)}'}))
        return 3
    cap = cv2.VideoCapture(a.video)
    if not cap.isOpened():
        print(json.dumps({'error': f'cv2.VideoCapture cannot open {a.video}'}))
        return 2
    fps_in = cap.get(cv2.CAP_PROP_FPS) or 25.0
    fw, fh = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    writer = cv2.VideoWriter(a.out, cv2.VideoWriter_fourcc(*'mp4v'), fps_in, (fw, fh))
    thickness = max(2, round(fw / 480))
    frames = 0
    first = None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        x = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        if rgb:
            x = cv2.cvtColor(x, cv2.COLOR_BGR2RGB)
        x = (x.astype(np.float32) * scale - mean) / std
        net.setInput(x.transpose(2, 0, 1)[np.newaxis].copy())
        try:
            out = net.forward()
        except cv2.error as e:
            print(json.dumps({'error': f'cv2.dnn {cv2.__version__} cannot run the model: {one_line(e)}'}))
            return 3
        mask = (np.argmax(out[0], axis=0) > 0).astype(np.uint8)
        mask = cv2.resize(mask, (fw, fh), interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(frame, contours, -1, (0, 255, 0), thickness)
        writer.write(frame)
        frames += 1
        if first is None:
            first = time.perf_counter() - t0
        if a.max_frames > 0 and frames >= a.max_frames:
            break
    cap.release()
    writer.release()
    seconds = time.perf_counter() - t0
    print(json.dumps({'frames': frames, 'seconds': round(seconds, 3), 'fps': round(frames / seconds, 2) if seconds > 0 else 0,
                      'firstFrameS': round(first, 3) if first is not None else None, 'opencv': cv2.__version__,
                      'size': [fw, fh]}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
