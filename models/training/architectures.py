"""Segmentation networks for SGUS Live, sized for a 2-core CPU.

Every network takes N x 3 x H x W float (H, W multiples of 32; the product uses 224) and returns
logits N x 2 x H x W. Only ops that export to ONNX opset 13-17 and run in onnxruntime are used:
Conv, ConvTranspose, BatchNormalization (folded into Conv where it follows one), Relu, MaxPool,
Concat, Add, Resize (bilinear).

Over 400 lines: the four published families (FCN, FC-DenseNet, U-Net, LinkNet) and the MobileNetV2
encoder, each a few small classes, kept side by side so that their shapes can be compared.
"""
from __future__ import annotations

import math
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn_relu(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def bilinear_kernel(channels: int, k: int) -> torch.Tensor:
    """Weights that make a ConvTranspose start as bilinear upsampling (FCN paper, section 3.3)."""
    factor = (k + 1) // 2
    center = factor - 1 if k % 2 == 1 else factor - 0.5
    og = torch.arange(k, dtype=torch.float32)
    filt = (1 - (og - center).abs() / factor)
    filt2 = filt[:, None] * filt[None, :]
    w = torch.zeros(channels, channels, k, k)
    for c in range(channels):
        w[c, c] = filt2
    return w


# ----------------------------------------------------------------------------------------------
# U-Net (Ronneberger et al. 2015): contracting path of double 3x3 convs + 2x2 max-pool, expanding
# path of 2x2 up-convolutions, concatenation with the cropped (here: same-padded) encoder map and
# double 3x3 convs, 1x1 classifier. BatchNorm added as is standard today.
# `stem_stride=2` runs the whole U at half resolution (a strided 3x3 stem) and restores full
# resolution with a bilinear Resize at the end, which quarters the FLOPs for real-time CPU use.
# ----------------------------------------------------------------------------------------------
class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(conv_bn_relu(cin, cout), conv_bn_relu(cout, cout))


class UNet(nn.Module):
    def __init__(self, base: int = 16, depth: int = 4, num_classes: int = 2, stem_stride: int = 1,
                 in_ch: int = 3):
        super().__init__()
        self.stem_stride = stem_stride
        widths = [base * 2 ** i for i in range(depth + 1)]
        self.stem = conv_bn_relu(in_ch, base, 3, stride=2) if stem_stride == 2 else None
        cin = base if stem_stride == 2 else in_ch
        self.down = nn.ModuleList()
        for w in widths:
            self.down.append(DoubleConv(cin, w))
            cin = w
        self.ups = nn.ModuleList()
        self.dec = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.ups.append(nn.ConvTranspose2d(cin, w, 2, stride=2))
            self.dec.append(DoubleConv(2 * w, w))
            cin = w
        self.head = nn.Conv2d(cin, num_classes, 1)

    def forward(self, x):
        size = x.shape[-2:]
        if self.stem is not None:
            x = self.stem(x)
        skips = []
        for i, block in enumerate(self.down):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        skips.pop()
        for up, dec in zip(self.ups, self.dec):
            x = up(x)
            x = dec(torch.cat([x, skips.pop()], 1))
        x = self.head(x)
        if self.stem is not None:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return x


# ----------------------------------------------------------------------------------------------
# U-Net with a MobileNetV2 encoder (Sandler et al. 2018), so that ImageNet weights can be used:
# 12 clinician masks cannot teach generic image features. The encoder is Keras' MobileNetV2
# (alpha 1.0) layer for layer, including its asymmetric (0, 1) padding before stride-2
# convolutions and BatchNorm epsilon 1e-3, so that `pretrained.py` can copy the weights one to one;
# the 1280-channel Conv_1 and the classifier are dropped. The decoder is a light U-Net expanding
# path: bilinear x2, concatenation with the encoder map of that scale (block outputs at strides 2,
# 4, 8, 16), 3x3 conv-BN-ReLU; logits at stride 2, resized bilinearly to the input (as unet-s).
# ----------------------------------------------------------------------------------------------
MBV2_BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
               (6, 160, 3, 2), (6, 320, 1, 1)]  # expansion t, channels c, repeats n, stride s


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, t: int, keras_name: str):
        super().__init__()
        self.keras_name, self.stride = keras_name, stride
        hidden = cin * t
        self.expand = None if t == 1 else nn.Sequential(nn.Conv2d(cin, hidden, 1, bias=False), _bn(hidden))
        self.dw = nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1 if stride == 1 else 0,
                            groups=hidden, bias=False)
        self.dw_bn = _bn(hidden)
        self.project = nn.Sequential(nn.Conv2d(hidden, cout, 1, bias=False), _bn(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = x if self.expand is None else F.relu6(self.expand(x))
        if self.stride == 2:
            y = F.pad(y, (0, 1, 0, 1))  # Keras "correct_pad" for even sizes
        y = F.relu6(self.dw_bn(self.dw(y)))
        y = self.project(y)
        return x + y if self.residual else y

    def keras_map(self) -> dict:
        k, m = self.keras_name, {}
        if self.expand is not None:
            m.update(_conv_bn_map(f"{k}_expand", self.expand[0], self.expand[1], "_BN"))
        m.update(_conv_bn_map(f"{k}_depthwise", self.dw, self.dw_bn, "_BN", "depthwise_kernel"))
        m.update(_conv_bn_map(f"{k}_project", self.project[0], self.project[1], "_BN"))
        return m


def _conv_bn_map(name: str, conv: nn.Conv2d, bn: nn.BatchNorm2d, bn_suffix: str,
                 kernel: str = "kernel", bn_name: str | None = None) -> dict:
    b = bn_name or name + bn_suffix
    return {f"{name}/{kernel}": conv.weight, f"{b}/gamma": bn.weight, f"{b}/beta": bn.bias,
            f"{b}/moving_mean": bn.running_mean, f"{b}/moving_variance": bn.running_var}


class MobileNetV2Encoder(nn.Module):
    """Feature maps at strides 2, 4, 8, 16, 32 (16, 24, 32, 96, 320 channels)."""
    TAPS = (0, 2, 5, 12, 16)  # block indices whose outputs are returned

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, stride=2, bias=False)
        self.bn1 = _bn(32)
        blocks, cin, i = [], 32, 0
        for t, c, n, s in MBV2_BLOCKS:
            for r in range(n):
                blocks.append(InvertedResidual(cin, c, s if r == 0 else 1, t,
                                               "expanded_conv" if i == 0 else f"block_{i}"))
                cin, i = c, i + 1
        self.blocks = nn.ModuleList(blocks)
        self.channels = [MBV2_BLOCKS_OUT[j] for j in self.TAPS]

    def forward(self, x):
        x = F.relu6(self.bn1(self.conv1(F.pad(x, (0, 1, 0, 1)))))
        feats = []
        for i, b in enumerate(self.blocks):
            x = b(x)
            if i in self.TAPS:
                feats.append(x)
        return feats

    def keras_map(self) -> dict:
        m = _conv_bn_map("Conv1", self.conv1, self.bn1, "", bn_name="bn_Conv1")
        for b in self.blocks:
            m.update(b.keras_map())
        return m


MBV2_BLOCKS_OUT = [c for _, c, n, _ in MBV2_BLOCKS for _ in range(n)]


class MobileUNet(nn.Module):
    def __init__(self, num_classes: int = 2, widths: Sequence[int] = (96, 64, 48, 32)):
        super().__init__()
        self.encoder = MobileNetV2Encoder()
        ch = self.encoder.channels  # [16, 24, 32, 96, 320]
        cin = ch[-1]
        self.dec = nn.ModuleList()
        for skip, w, double in zip(reversed(ch[:-1]), widths, (True, True, True, False)):
            layers = [conv_bn_relu(cin + skip, w)] + ([conv_bn_relu(w, w)] if double else [])
            self.dec.append(nn.Sequential(*layers))
            cin = w
        self.head = nn.Conv2d(cin, num_classes, 1)

    def forward(self, x):
        size = x.shape[-2:]
        feats = self.encoder(x)
        y = feats.pop()
        for dec in self.dec:
            skip = feats.pop()
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = dec(torch.cat([y, skip], 1))
        return F.interpolate(self.head(y), size=size, mode="bilinear", align_corners=False)


class MobileFCN8s(nn.Module):
    """FCN-8s on the ImageNet MobileNetV2 encoder, as the paper built FCN-8s on ImageNet VGG-16:
    fc6/fc7 as convolutions on the stride-32 map, class scores at strides 32, 16 and 8 fused by x2
    up-sampling (bilinear-initialised ConvTranspose) and addition, then x8 back to the input."""

    def __init__(self, num_classes: int = 2, fc: int = 256):
        super().__init__()
        self.encoder = MobileNetV2Encoder()
        ch = self.encoder.channels  # [16, 24, 32, 96, 320]
        (self.fc6, self.fc7, self.drop, self.score_fr, self.score_16, self.score_8,
         self.up2, self.up2b, self.up8) = fcn8s_head(ch[4], ch[3], ch[2], fc, num_classes)

    def forward(self, x):
        f = self.encoder(x)
        s = self.up2(self.score_fr(self.drop(self.fc7(self.fc6(f[4]))))) + self.score_16(f[3])
        s = self.up2b(s) + self.score_8(f[2])
        return self.up8(s)


class MobileLinkNet(nn.Module):
    """LinkNet's decoder (1x1 reduce, x2 transposed conv, 1x1 expand; encoder maps ADDED, not
    concatenated) on the ImageNet MobileNetV2 encoder, as the paper built it on ImageNet ResNet-18."""

    def __init__(self, num_classes: int = 2):
        super().__init__()
        self.encoder = MobileNetV2Encoder()
        ch = self.encoder.channels  # [16, 24, 32, 96, 320]
        self.dec = nn.ModuleList([LinkDecoder(ch[i + 1], ch[i]) for i in range(4)])
        self.final = nn.Sequential(
            nn.ConvTranspose2d(ch[0], 16, 3, stride=2, padding=1, output_padding=1, bias=False),
            nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            conv_bn_relu(16, 16, 3),
            nn.Conv2d(16, num_classes, 3, padding=1),
        )

    def forward(self, x):
        f = self.encoder(x)
        d = f[4]
        for i in (3, 2, 1, 0):
            d = self.dec[i](d) + f[i]
        return self.final(d)


# ----------------------------------------------------------------------------------------------
# FCN-8s (Long, Shelhamer, Darrell 2015): VGG-style encoder (5 blocks of 3x3 convs, each ended by
# a 2x2 max-pool), fc6/fc7 as convolutions, score layers on pool3, pool4 and fc7; the fc7 score is
# up-sampled x2 (ConvTranspose, bilinear init) and added to the pool4 score, that sum x2 and added
# to the pool3 score, then x8 up-sampling back to the input. Widths are scaled down (`width`
# replaces VGG's 64) and fc6 is 3x3 instead of 7x7 for CPU budget.
# ----------------------------------------------------------------------------------------------
def fcn8s_head(c32: int, c16: int, c8: int, fc: int, num_classes: int):
    """FCN-8s's layers after the encoder: fc6 (3x3) and fc7 (1x1) as convolutions, dropout, score
    layers on the stride-32, -16 and -8 maps, x2, x2 and x8 transposed convolutions initialised to
    bilinear up-sampling. Returned as a tuple so each network keeps its own attribute names (and
    its checkpoints' keys)."""
    fc6, fc7 = conv_bn_relu(c32, fc, 3), conv_bn_relu(fc, fc, 1)
    score_fr, score16, score8 = (nn.Conv2d(fc, num_classes, 1), nn.Conv2d(c16, num_classes, 1),
                                 nn.Conv2d(c8, num_classes, 1))
    up2, up2b = (nn.ConvTranspose2d(num_classes, num_classes, 4, stride=2, padding=1, bias=False)
                 for _ in range(2))
    up8 = nn.ConvTranspose2d(num_classes, num_classes, 16, stride=8, padding=4, bias=False)
    for m in (up2, up2b, up8):
        m.weight.data.copy_(bilinear_kernel(num_classes, m.kernel_size[0]))
    # Zero-initialised skip scores, as in the paper's staged training.
    for m in (score16, score8):
        nn.init.zeros_(m.weight)
        nn.init.zeros_(m.bias)
    return fc6, fc7, nn.Dropout2d(0.3), score_fr, score16, score8, up2, up2b, up8


class FCN8s(nn.Module):
    def __init__(self, width: int = 16, num_classes: int = 2, fc: int | None = None,
                 convs: Sequence[int] = (2, 2, 3, 3, 3)):
        super().__init__()
        widths = [width, width * 2, width * 4, width * 8, width * 8]
        fc = fc or width * 16
        self.blocks = nn.ModuleList()
        cin = 3
        for w, n in zip(widths, convs):
            layers = []
            for _ in range(n):
                layers.append(conv_bn_relu(cin, w))
                cin = w
            layers.append(nn.MaxPool2d(2))
            self.blocks.append(nn.Sequential(*layers))
        (self.fc6, self.fc7, self.drop, self.score_fr, self.score_pool4, self.score_pool3,
         self.up2, self.up2b, self.up8) = fcn8s_head(cin, widths[3], widths[2], fc, num_classes)

    def forward(self, x):
        feats = []
        for b in self.blocks:
            x = b(x)
            feats.append(x)
        pool3, pool4 = feats[2], feats[3]
        x = self.drop(self.fc7(self.fc6(x)))
        s = self.up2(self.score_fr(x)) + self.score_pool4(pool4)
        s = self.up2b(s) + self.score_pool3(pool3)
        return self.up8(s)


# ----------------------------------------------------------------------------------------------
# FC-DenseNet / "The One Hundred Layers Tiramisu" (Jegou et al. 2017): 3x3 first conv, dense blocks
# of BN-ReLU-Conv3x3-Dropout layers, transitions down (BN-ReLU-1x1 conv-Dropout-maxpool),
# bottleneck dense block, transitions up (3x3 stride-2 transposed conv on only the new feature
# maps of the previous block) concatenated with the skip, dense blocks, 1x1 classifier.
# Variants: 103 (layers 4,5,7,10,12 / 15, growth 16, first conv 48), 67 (5 per block, growth 16),
# 56 (4 per block, growth 12) and `small` (blocks 2,3,4,5 / 6, growth 8, first conv 16, 4 levels:
# the paper's shape with few layers where the maps are large, to fit a CPU).
# ----------------------------------------------------------------------------------------------
FCDENSE_VARIANTS = {
    "103": dict(down=(4, 5, 7, 10, 12), bottleneck=15, growth=16, first=48),
    "67": dict(down=(5, 5, 5, 5, 5), bottleneck=5, growth=16, first=48),
    "56": dict(down=(4, 4, 4, 4, 4), bottleneck=4, growth=12, first=48),
    "small": dict(down=(2, 3, 4, 5), bottleneck=6, growth=8, first=16),
}


class DenseLayer(nn.Sequential):
    def __init__(self, cin: int, growth: int, drop: float):
        super().__init__(nn.BatchNorm2d(cin), nn.ReLU(inplace=True),
                         nn.Conv2d(cin, growth, 3, padding=1, bias=False), nn.Dropout2d(drop))


class DenseBlock(nn.Module):
    def __init__(self, cin: int, n: int, growth: int, drop: float, return_new: bool):
        super().__init__()
        self.layers = nn.ModuleList([DenseLayer(cin + i * growth, growth, drop) for i in range(n)])
        self.return_new = return_new

    def forward(self, x):
        new = []
        for layer in self.layers:
            out = layer(x)
            new.append(out)
            x = torch.cat([x, out], 1)
        return torch.cat(new, 1) if self.return_new else x


class TransitionDown(nn.Sequential):
    def __init__(self, c: int, drop: float):
        super().__init__(nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.Conv2d(c, c, 1, bias=False),
                         nn.Dropout2d(drop), nn.MaxPool2d(2))


class FCDenseNet(nn.Module):
    def __init__(self, variant: str = "56", num_classes: int = 2, drop: float = 0.2,
                 growth: int | None = None):
        super().__init__()
        self.variant = variant
        cfg = dict(FCDENSE_VARIANTS[variant])
        if growth:
            cfg["growth"] = growth
        g, down = cfg["growth"], cfg["down"]
        self.first = nn.Conv2d(3, cfg["first"], 3, padding=1, bias=True)
        c = cfg["first"]
        self.down_blocks, self.tds, skip_ch = nn.ModuleList(), nn.ModuleList(), []
        for n in down:
            self.down_blocks.append(DenseBlock(c, n, g, drop, return_new=False))
            c += n * g
            skip_ch.append(c)
            self.tds.append(TransitionDown(c, drop))
        self.bottleneck = DenseBlock(c, cfg["bottleneck"], g, drop, return_new=True)
        prev_new = cfg["bottleneck"] * g
        self.tus, self.up_blocks = nn.ModuleList(), nn.ModuleList()
        ups = list(reversed(down))
        for i, n in enumerate(ups):
            self.tus.append(nn.ConvTranspose2d(prev_new, prev_new, 3, stride=2, padding=1,
                                               output_padding=1))
            cin = prev_new + skip_ch[-1 - i]
            last = i == len(ups) - 1
            self.up_blocks.append(DenseBlock(cin, n, g, drop, return_new=not last))
            prev_new = n * g if not last else cin + n * g
        self.head = nn.Conv2d(prev_new, num_classes, 1)

    def forward(self, x):
        x = self.first(x)
        skips = []
        for block, td in zip(self.down_blocks, self.tds):
            x = block(x)
            skips.append(x)
            x = td(x)
        x = self.bottleneck(x)
        for tu, block in zip(self.tus, self.up_blocks):
            x = torch.cat([tu(x), skips.pop()], 1)
            x = block(x)
        return self.head(x)


# ----------------------------------------------------------------------------------------------
# LinkNet (Chaurasia & Culurciello 2017): 7x7 stride-2 conv + 3x3 max-pool, four ResNet-18 encoder
# stages (two basic blocks each, stride 2 from the second stage), decoder blocks of
# 1x1 conv (m -> m/4), 3x3 stride-2 full (transposed) conv, 1x1 conv (m/4 -> n), each ADDED to the
# encoder output of the same resolution; final 3x3 stride-2 full conv, 3x3 conv and a classifier.
# `width` replaces ResNet-18's 64. As in ResNet-18 (and common LinkNet code), the first encoder stage
# keeps stride 1 (the paper's stride-2 first stage would need inputs divisible by 64, and 224 is
# not), so the decoder reaches full resolution after the final full conv and the classifier is a
# 3x3 conv instead of the paper's 2x2 stride-2 full conv.
# ----------------------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.c1 = conv_bn_relu(cin, cout, 3, stride)
        self.c2 = nn.Sequential(nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        s = x if self.short is None else self.short(x)
        return self.relu(self.c2(self.c1(x)) + s)


class LinkDecoder(nn.Module):
    def __init__(self, m: int, n: int):
        super().__init__()
        self.c1 = conv_bn_relu(m, m // 4, 1)
        self.up = nn.Sequential(nn.ConvTranspose2d(m // 4, m // 4, 3, stride=2, padding=1,
                                                   output_padding=1, bias=False),
                                nn.BatchNorm2d(m // 4), nn.ReLU(inplace=True))
        self.c2 = conv_bn_relu(m // 4, n, 1)

    def forward(self, x):
        return self.c2(self.up(self.c1(x)))


class LinkNet(nn.Module):
    def __init__(self, width: int = 32, num_classes: int = 2, blocks: Sequence[int] = (2, 2, 2, 2)):
        super().__init__()
        w = [width, width * 2, width * 4, width * 8]
        self.stem = nn.Sequential(conv_bn_relu(3, w[0], 7, 2), nn.MaxPool2d(3, 2, padding=1))
        self.enc = nn.ModuleList()
        cin = w[0]
        for i, (c, n) in enumerate(zip(w, blocks)):
            layers = [BasicBlock(cin, c, 1 if i == 0 else 2)]
            layers += [BasicBlock(c, c, 1) for _ in range(n - 1)]
            self.enc.append(nn.Sequential(*layers))
            cin = c
        self.dec = nn.ModuleList([LinkDecoder(w[i], w[i - 1] if i > 0 else w[0]) for i in range(4)])
        half = max(w[0] // 2, 8)
        self.final = nn.Sequential(
            nn.ConvTranspose2d(w[0], half, 3, stride=2, padding=1, output_padding=1, bias=False),
            nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            conv_bn_relu(half, half, 3),
            nn.Conv2d(half, num_classes, 3, padding=1),
        )

    def forward(self, x):
        x = self.stem(x)
        feats = []
        for e in self.enc:
            x = e(x)
            feats.append(x)
        d = self.dec[3](feats[3]) + feats[2]
        d = self.dec[2](d) + feats[1]
        d = self.dec[1](d) + feats[0]
        d = self.dec[0](d)
        return self.final(d)


# ----------------------------------------------------------------------------------------------
# Test-time flip averaging, inside the exported graph: the gland probability of the frame and of
# its mirror image (flipped back) are averaged, and returned as log-probabilities, which are valid
# logits for the runtime (softmax(log p) = p). Left-right mirroring is a symmetry of the task (the
# training augmentation uses it) and halves the variance of a model trained on few frames; the
# cost is a second forward pass. Putting it in the graph keeps the runtime unchanged and makes the
# shipped ONNX exactly what was validated.
# ----------------------------------------------------------------------------------------------
def mirrored_softmax(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Class probabilities of the left-right mirror image, mirrored back onto the frame."""
    return torch.softmax(model(torch.flip(x, [3])), 1).flip(3)


class FlipAverage(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        p = torch.softmax(self.model(x), 1) + mirrored_softmax(self.model, x)
        return torch.log(torch.clamp(p * 0.5, min=1e-6))


# ----------------------------------------------------------------------------------------------
ARCHS = ("unet", "fcn", "fc-densenet", "linknet")


def build(arch: str, width: int | None = None, depth: int | None = None,
          variant: str | None = None, stem_stride: int = 1, tiny: bool = False) -> nn.Module:
    """Builds a network; `tiny` gives a minimal version for the synthetic smoke run."""
    if arch == "unet" and variant == "mobilenet-v2":
        return MobileUNet()
    if arch == "unet":
        return UNet(base=width or (4 if tiny else 16), depth=depth or (2 if tiny else 4),
                    stem_stride=stem_stride)
    if arch == "fcn" and variant == "mobilenet-v2":
        return MobileFCN8s()
    if arch == "linknet" and variant == "mobilenet-v2":
        return MobileLinkNet()
    if arch == "fcn":
        return FCN8s(width=width or (4 if tiny else 16))
    if arch == "fc-densenet":
        return FCDenseNet(variant="small" if tiny else (variant or "56"),
                          growth=width or (4 if tiny else None))
    if arch == "linknet":
        return LinkNet(width=width or (8 if tiny else 32))
    raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHS)}")


def describe(arch: str, model: nn.Module) -> str:
    if isinstance(model, FlipAverage):
        return describe(arch, model.model) + "; test-time flip averaging in the graph (2 passes)"
    if isinstance(model, MobileUNet):
        return ("MobileNetV2 encoder (ImageNet weights), decoder widths "
                f"{[d[0][0].out_channels for d in model.dec]}, logits at stride 2 + bilinear")
    if isinstance(model, MobileFCN8s):
        return "FCN-8s on a MobileNetV2 encoder (ImageNet weights): scores at strides 32/16/8, fc 256"
    if isinstance(model, MobileLinkNet):
        return "LinkNet decoder on a MobileNetV2 encoder (ImageNet weights), additive skips at strides 2-16"
    if isinstance(model, UNet):
        return (f"base {model.down[0][0][0].out_channels}, depth {len(model.down) - 1}"
                + (", stride-2 stem + bilinear output" if model.stem is not None else ""))
    if isinstance(model, FCN8s):
        return f"FCN-8s, VGG-style widths {[b[0][0].out_channels for b in model.blocks]}"
    if isinstance(model, FCDenseNet):
        n = sum(1 for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
        g = model.down_blocks[0].layers[0][2].out_channels
        name = {"small": "FC-DenseNet-small (a reduced FC-DenseNet56 for CPU training)"}.get(
            model.variant, f"FC-DenseNet{model.variant}")
        return (f"{name}: {n} conv layers, blocks {[len(b.layers) for b in model.down_blocks]}"
                f"/{len(model.bottleneck.layers)}, growth {g}")
    if isinstance(model, LinkNet):
        return f"ResNet-18-style encoder, widths {[e[0].c1[0].out_channels for e in model.enc]}"
    return arch


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, size: int = 224) -> int:
    """FLOPs per frame (multiply-add = 2) over Conv, ConvTranspose and Linear, via forward hooks."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            total[0] += 2 * out.numel() * k
        elif isinstance(m, nn.ConvTranspose2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.out_channels // m.groups)
            total[0] += 2 * inp[0].numel() * k
        elif isinstance(m, nn.Linear):
            total[0] += 2 * out.numel() * m.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules()
          if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    model.train(was)
    for h in hs:
        h.remove()
    return int(total[0])
