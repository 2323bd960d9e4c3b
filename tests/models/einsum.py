"""torch.einsum as people write it: projections, attention scores and
values, per-head attention, an ensemble's grouped product, dot and outer
products, a bilinear form over three operands, transposes, sums, the
ellipsis and the implicit output."""
import torch
import torch.nn as nn


class Einsums(nn.Module):
    def __init__(self, d, members):
        super().__init__()
        self.w = nn.Parameter(torch.randn(d, 5))
        self.ens = nn.Parameter(torch.randn(members, d, 3))
        self.bil = nn.Parameter(torch.randn(4, d, d) * 0.3)
        self.heads = 2

    def forward(self, x):
        b, t, d = x.shape
        proj = torch.einsum("btd,dk->btk", x, self.w)
        scores = torch.einsum("bqd,bkd->bqk", x, x) / d ** 0.5
        att = torch.einsum("bqk,bkd->bqd", scores.softmax(-1), x)
        q = x.view(b, t, self.heads, d // self.heads)
        per_head = torch.einsum("bqhd,bkhd->bhqk", q, q)
        first = x[:, 0]
        ensemble = torch.einsum("bd,edo->beo", first, self.ens)
        dot = torch.einsum("bi,bi->b", first, first)
        outer = torch.einsum("bi,bj->bij", first, first[:, :3])
        bilinear = torch.einsum("bi,kij,bj->bk", first, self.bil, first)
        moved = torch.einsum("btd->bdt", x)
        total = torch.einsum("btd->b", x)
        ellipsis = torch.einsum("...d,dk->...k", x, self.w)
        implicit = torch.einsum("btd,dk", x, self.w)
        listed = torch.einsum("ij,jk->ik", [self.w.t(), self.w])
        scaled = torch.einsum("btd,d->bt", x, self.w[:, 0])
        return (proj, att, per_head, ensemble, dot, outer, bilinear, moved, total, ellipsis, implicit,
                listed + x.sum(), scaled)
