# Attention as people write it with PyTorch's own pieces:
# F.scaled_dot_product_attention over heads split by view/transpose (causal,
# a boolean mask, a float mask, a scale), nn.MultiheadAttention(batch_first)
# with masks and its attention weights, and a pre-norm transformer block.
import torch
import torch.nn as nn
import torch.nn.functional as F


class SDPAHeads(nn.Module):
    def __init__(self, d=8, heads=2, t=6):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.register_buffer("band", torch.ones(t, t).triu(-2).tril(2))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        k = k.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        v = v.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        b = F.scaled_dot_product_attention(q, k, v, attn_mask=self.band[:T, :T] > 0, dropout_p=0.0)
        c = F.scaled_dot_product_attention(q, k, v, attn_mask=self.band * -2.0, scale=0.3)
        y = (a + b + c).transpose(1, 2).contiguous().view(B, T, C)
        return self.proj(y)


class MHA(nn.Module):
    def __init__(self, d=8, heads=2):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.cross = nn.MultiheadAttention(d, heads, bias=False, batch_first=True)

    def forward(self, x):
        T = x.size(1)
        causal = torch.ones(T, T, dtype=torch.bool).triu(1)
        a, w = self.attn(x, x, x, attn_mask=causal)
        b, wh = self.attn(x, x, x, key_padding_mask=x[:, :, 0] > 1.0, average_attn_weights=False)
        c, none = self.cross(a, x, b, need_weights=False)
        d, _ = self.cross(x, a, a, attn_mask=torch.zeros(T, T).masked_fill(causal, float("-inf")), is_causal=True)
        return a + b + c + d, w, wh.flatten(1, 2)


class TransformerBlock(nn.Module):
    """pre-norm: x + attn(ln(x)), then x + mlp(ln(x)), causal"""

    def __init__(self, d=8, heads=2):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        T = x.size(1)
        mask = torch.triu(torch.ones(T, T), diagonal=1).bool()
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))
