# Pooling as CNN code writes it: MaxPool2d after conv + BatchNorm + ReLU,
# a global AdaptiveAvgPool2d(1) before the classifier, and every pooling
# module and function with its options on odd sizes (floor and ceil modes,
# padding counted or not, dilation, adaptive windows that overlap).
import torch
import torch.nn as nn
import torch.nn.functional as F


class Pools(nn.Module):
    def __init__(self, c=3):
        super().__init__()
        self.conv = nn.Conv2d(c, 4, 3, padding=1)
        self.pools = nn.ModuleList([
            nn.MaxPool2d(2), nn.MaxPool2d(3, 2, 1), nn.MaxPool2d((2, 3), stride=(1, 2), dilation=(2, 1), ceil_mode=True),
            nn.AvgPool2d(2), nn.AvgPool2d(3, 2, 1), nn.AvgPool2d(3, 2, 1, count_include_pad=False),
            nn.AvgPool2d(3, 2, 1, ceil_mode=True), nn.AvgPool2d(2, ceil_mode=True, divisor_override=3),
            nn.AdaptiveAvgPool2d(1), nn.AdaptiveAvgPool2d((3, None)), nn.AdaptiveMaxPool2d((2, 3)),
            nn.AdaptiveAvgPool2d(3)])
        self.pools1 = nn.ModuleList([
            nn.MaxPool1d(3, 1, 1), nn.AvgPool1d(4, 3, 2, ceil_mode=True, count_include_pad=False),
            nn.AdaptiveAvgPool1d(5), nn.AdaptiveMaxPool1d(1), nn.MaxPool1d(4, ceil_mode=True)])

    def forward(self, x):
        h = self.conv(x)
        line = h.flatten(2)
        outs = [p(h).flatten(1) for p in self.pools] + [p(line).flatten(1) for p in self.pools1]
        outs += [F.max_pool2d(h, 2, 1).flatten(1), F.avg_pool1d(line, 5).flatten(1),
                 F.adaptive_avg_pool2d(h, (1, 1)).flatten(1), F.adaptive_max_pool1d(line, 7).flatten(1),
                 F.avg_pool2d(h, kernel_size=3, stride=1, padding=1).flatten(1)]
        return torch.cat(outs, 1)


class SmallCNN(nn.Module):
    """conv-BN-ReLU-pool blocks and a global average pool before the classifier."""

    def __init__(self, c=3, classes=5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(c, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(16, classes)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(self.features(x)), 1))
