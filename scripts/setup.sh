#!/usr/bin/env bash
# One-command set-up on a fresh Debian/Ubuntu machine: system packages, npm dependencies, build.
#   bash scripts/setup.sh
# System packages: ffmpeg (decoding/encoding), chromium (browser tests), python3-torch & co
# (the offline training tool and its test; python3-onnx for the int8 quantiser, python3-opencv for the
# benchmark's OpenCV peer), dcmtk and dicom3tools (DICOM tools; dciodvfy checks the
# DICOM objects in the tests), orthanc and orthanc-dicomweb (the PACS the tests start on 127.0.0.1 for
# sgus pacs / sgus listen; its system service is not used). Set SGUS_SKIP_APT=1 to skip them (no root).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(ffmpeg chromium python3-torch python3-numpy python3-pil python3-scipy python3-onnx python3-opencv dcmtk dicom3tools orthanc orthanc-dicomweb)
if [ "${SGUS_SKIP_APT:-0}" != "1" ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing system packages: ${missing[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
  else
    echo "setup: system packages present"
  fi
fi

# onnxruntime-node's install script downloads CUDA provider binaries from the internet; the CPU
# build ships inside the npm package. GPU hosts: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
npm run build
echo "setup: done. Try: npm start   (then open the URL it prints)"
