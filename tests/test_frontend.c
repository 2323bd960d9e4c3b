/* The frontend: what it builds from model files, and each refusal as a
 * one-line error with its place. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/fileio.h"
#include "frontend/frontend.h"

#define HEADER "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"

static sf_py_model *compile_text(const char *src, const char *model, const char *input, const char *cst,
                                 sf_error *e)
{
    const char *inputs[1] = {input}, *consts[1] = {cst};
    sf_py_options o = {model, inputs, input ? 1 : 0, consts, cst ? 1 : 0, 0, NULL};
    memset(e, 0, sizeof *e);
    return sf_py_compile("t.py", src, strlen(src), &o, e);
}

static const char *refusal(const char *src, const char *model, const char *input, const char *cst)
{
    static sf_error e;
    sf_py_model *m = compile_text(src, model, input, cst, &e);
    if (m) {
        sf_py_model_free(m);
        fail_msg("expected a refusal for model %s", model);
    }
    assert_int_not_equal(e.code, SF_OK);
    assert_null(strchr(e.msg, '\n'));
    return e.msg;
}

static const char *net_with(const char *init, const char *forward)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             HEADER "class Net(nn.Module):\n    def __init__(self, n=3):\n        super().__init__()\n%s\n"
                    "    def forward(self, x):\n%s\n",
             init, forward);
    return buf;
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *init, *forward, *want;
    } cases[] = {
        {"        self.fc = nn.Linear(3, 4)", "        while True:\n            x = self.fc(x)\n        return x",
         "t.py:10:9: 'while' loops are not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        try:\n            x = self.fc(x)\n        except E:\n            pass\n        return x",
         "t.py:10:9: 'try' is not supported"},
        {"        self.f = lambda v: v", "        return x", "t.py:8:18: 'lambda' is not supported"},
        {"        global g", "        return x", "t.py:8:9: 'global' is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.frobnicate(x)",
         "t.py:10:22: torch.frobnicate is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return self.fc3(x)",
         "t.py:10:21: 'Net' object has no attribute 'fc3'"},
        {"        self.fc = nn.Linear(5, 4)", "        return self.fc(x)",
         "t.py:10:16: linear: input f32[B,3] does not fit weight f32[4,5]: in_features is 5 (in fc (Linear))"},
        {"        self.layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(n)])", "        return self.layers[5](x)",
         "t.py:10:27: index 5 is out of range for ModuleList 'layers' of length 3"},
        {"        self.fc = nn.Linear(3, 4)", "        if x.sum() > 0:\n            x = self.fc(x)\n        return x",
         "t.py:10:12: the truth of a tensor is not known at compile time"},
        {"        self.fc = nn.Linear(3, 4)", "        return 0 < x < 1",
         "t.py:10:16: chained comparison of tensors: write (a < x) & (x < b)"},
        {"        self.fc = nn.Linear(3, 4)", "        return ~x",
         "t.py:10:16: bitwise operators on float tensors: PyTorch refuses them too"},
        {"        self.fc = nn.Linear(3, 4)", "        return (x > 0) & x", "bitwise operators on float tensors"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.where(x > 0)",
         "torch.where(condition) alone gives indices whose count depends on the data"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.where(x, x, 0.0)",
         "where() needs a bool condition (a comparison), got a float tensor"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.masked_fill(x, 0.0)", "where() needs a bool condition"},
        {"        self.fc = nn.Linear(3, 4)", "        return x + torch.randn(x.size(0), 3)",
         "t.py:10:20: random tensors in forward: sheaf compiles deterministic inference"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.to(torch.float64)", "dtype float64: sheaf computes float32 and bool tensors"},
        {"        self.fc = nn.Linear(3, 4)", "        return x + torch.zeros(3, dtype=torch.float64)",
         "dtype float64: sheaf computes float32 and bool tensors"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.full_like(x, x)", "fill_value must be a number"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.tril(x.sum(1))", "tril"},
        {"        self.fc = nn.Linear(3, 4)", "        return x in [1]", "comparing tensors is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.expand(-1, 5)",
         "t.py:10:16: expand: size 5 at dim 1 does not match the existing size 3 (only size-1 dims expand)"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.expand(-1, 2, 3)", "expand: -1 at the new leading dim 0"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.expand(2, -1, -1)", "expand: the batch can only be dim 0"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.expand(4)", "expand: 1 sizes for a tensor of rank 2"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.repeat(2, 1)", "repeat along the batch dim is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.repeat(1, 1, 2)",
         "repeat: new leading dims would move the batch dim from dim 0"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.repeat(1, 0)", "repeat: a count of 0 (1 to 4096 are supported)"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.repeat(1, x.size(0))", "the batch size as a count"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.flip(0)", "flip along the batch dim is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.flip((1, -1))", "flip: dim 1 appears more than once"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.roll(1)", "roll without dims rolls the flattened tensor"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.roll((1, 2), 1)", "roll: 2 shifts but 1 dims"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.unflatten(1, (2, 2))", "unflatten: sizes do not multiply"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.pad(x, (1,))", "pad: 1 values for a tensor of rank 2"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.pad(x, (3, 0), mode='reflect')",
         "pad: padding 3 is too large for dim 1 of size 3 in this mode"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.pad(x, (-2, -1))", "negative padding leaves nothing of dim 1"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.pad(x, (1, 1), mode='wrap')",
         "pad mode str 'wrap': sheaf has 'constant', 'reflect', 'replicate' and 'circular'"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.pad(x, (1, 1), 'replicate', 2.0)", "value is for mode 'constant' only"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.pad(x, (0, 0, 1, 1))", "pad along the batch dim is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.max_pool1d(x, 2, return_indices=True)",
         "t.py:10:16: max_pool1d(): return_indices=True gives integer indices; sheaf has none"},
        {"        self.p = nn.AdaptiveMaxPool1d(2, True)", "        return x", "AdaptiveMaxPool1d: return_indices=True"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.max_pool1d(x, 2, padding=2)",
         "pool: padding 2 is more than half the window (2)"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.avg_pool1d(x, 5)",
         "pool: the input's 3 elements are fewer than the window's 5"},
        {"        self.p = nn.AvgPool2d(2, divisor_override=0)", "        return x", "AvgPool2d: divisor_override must not be 0"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.adaptive_avg_pool2d(x, (1, 2, 3))",
         "output_size needs 1 or 2 values"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.adaptive_avg_pool1d(x, 0)", "output_size must be positive"},
        {"        self.p = nn.MaxPool1d(0)", "        return x",
         "t.py:8:18: MaxPool1d: kernel_size, stride and dilation must be positive"},
        {"        self.p = nn.MaxPool2d(2)", "        return self.p(x)",
         "t.py:10:16: MaxPool2d expects an input of rank 3 or 4, got f32[B,3] (in p (MaxPool2d))"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.max_pool1d(x, 5000, padding=2500)", "a window of 5000"},
        {"        self.m = nn.MultiheadAttention(4, 2)", "        return x",
         "t.py:8:18: MultiheadAttention with batch_first=False takes [length, batch, embed]"},
        {"        self.m = nn.MultiheadAttention(6, 4, batch_first=True)", "        return x",
         "embed_dim 6 is not divisible by num_heads 4"},
        {"        self.m = nn.MultiheadAttention(4, 2, add_bias_kv=True, batch_first=True)", "        return x",
         "add_bias_kv and add_zero_attn are not supported"},
        {"        self.m = nn.MultiheadAttention(4, 2, kdim=3, batch_first=True)", "        return x",
         "kdim and vdim other than embed_dim are not supported"},
        {"        self.m = nn.MultiheadAttention(3, 1, batch_first=True)", "        return self.m(x, x, x)[0]",
         "t.py:10:16: MultiheadAttention: query f32[B,3] is not [batch, length, 3] (batch_first=True)"},
        {"        self.m = nn.MultiheadAttention(3, 1, batch_first=True)",
         "        y = x.unsqueeze(1)\n        return self.m(y, y, y, is_causal=True)[0]",
         "is_causal=True is a hint that attn_mask is causal; give attn_mask too"},
        {"        self.m = nn.MultiheadAttention(3, 1, batch_first=True)",
         "        y = x.unsqueeze(1)\n        return self.m(y, y, y, attn_mask=torch.zeros(2, 2))[0]",
         "attn_mask must be [1, 1]"},
        {"        self.m = nn.MultiheadAttention(3, 1, batch_first=True)",
         "        y = x.unsqueeze(1)\n        return self.m(y, y, y, key_padding_mask=y)[0]",
         "key_padding_mask must be [batch, 1]"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.scaled_dot_product_attention(x, x, x, dropout_p=0.1)",
         "dropout_p other than 0 drops at random even in eval mode"},
        {"        self.fc = nn.Linear(3, 4)",
         "        return F.scaled_dot_product_attention(x, x, x, x > 0, is_causal=True)", "attn_mask and is_causal=True together"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.scaled_dot_product_attention(x, x, x, enable_gqa=True)",
         "enable_gqa=True is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.scaled_dot_product_attention(x, x, x, scale='a')",
         "scale must be a finite number"},
        {"        self.c = nn.Conv1d(3, 3, 3, padding_mode='mirror')", "        return x",
         "padding_mode str 'mirror': sheaf has 'zeros', 'reflect'"},
        {"        self.fc = nn.Linear(3, 4)", "        if x:\n            x = self.fc(x)\n        return x",
         "t.py:10:12: the truth of a tensor is not known at compile time"},
        {"        self.fc = nn.Linear(3, 3)", "        h = x[:, :2]\n        h += 1\n        return x",
         "in-place update of a tensor that shares storage with a view"},
        {"        self.rnn = nn.LSTM(3, 3)", "        return x", "t.py:8:23: torch.nn.LSTM is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return np.zeros(3)", "name 'np' is not defined"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.view(-1, 1)",
         "reshape would merge the batch dim B with 3 other elements per row"},
        {"        self.fc = nn.Linear(3, 4)", "        return x[0]", "indexing the batch dim is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return 3", "forward returned int 3"},
        {"        self.w = torch.zeros(3)", "        return x", "tensor attribute 'w' is not in state_dict"},
        {"        assert n == 4, 'n must be 4'", "        return x", "t.py:8:9: assertion failed: n must be 4"},
        {"        raise ValueError('bad config')", "        return x",
         "t.py:8:9: the model raised ValueError at compile time: bad config"},
        {"        raise ValueError('boom %d' % 3)", "        return x", "t.py:8:9: the model raised ValueError at compile time: boom 3"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.softmax(x, dim=99)", "dim 99 is out of range"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.clamp(x)",
         "t.py:10:16: clamp: at least one of 'min' or 'max' must not be None"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.clamp(min=x)", "clamp: min must be a number (a tensor bound is not supported)"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.clamp_min()", "clamp_min is missing the argument 'min'"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.leaky_relu(x, 'a')", "leaky_relu: negative_slope must be a number"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.clamp(1e308 * 10 - 1e308 * 10, 1.0)", "clamp: min is NaN"},
        {"        self.act = nn.Hardtanh(1.0, -1.0)", "        return self.act(x)",
         "t.py:8:20: Hardtanh: max_val (-1) is less than min_val (1)"},
        {"        self.act = nn.CELU(0.0)", "        return self.act(x)", "CELU: alpha must not be 0"},
        {"        self.act = nn.LeakyReLU(0.1, True, 3)", "        return self.act(x)", "LeakyReLU"},
        {"        self.act = nn.Softshrink(-0.5)", "        return self.act(x)",
         "t.py:8:20: Softshrink: lambd must be at least 0, got -0.5"},
        {"        self.act = nn.Softplus(beta=0)", "        return self.act(x)", "Softplus: beta must not be 0"},
        {"        self.act = nn.Threshold(0.1)", "        return self.act(x)", "Threshold is missing the argument 'value'"},
        {"        self.act = nn.GELU('erf')", "        return self.act(x)",
         "GELU: approximate must be 'none' or 'tanh', got str 'erf'"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.threshold(x, None, 1.0)", "threshold: threshold must not be None"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.round(x, decimals=2)",
         "t.py:10:16: round: decimals=2 is not supported; decimals=0 is"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.softplus(x, 2, 'a')", "softplus: threshold must be a number"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.exp(1)", "exp"},
        {"        self.fc = nn.Linear(3, 4)", "        return x * round(1e300)", "round(1e+300): not an int sheaf can hold"},
        {"        self.fc = nn.Linear(3, 4)", "        return round(x)", "round() of a non-number"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.max(x, 0)", "t.py:10:16: argmax along the batch dim is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.argmax()", "argmax() over every element would reach across the batch"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.max(x, 1).counts", "tuple of length 2 has no attribute 'counts'"},
        {"        self.fc = nn.Linear(3, 4)", "        return x + torch.arange(5, 1)", "bounds are inconsistent with the step's sign"},
        {"        self.fc = nn.Linear(3, 4)", "        return x + torch.arange(3, 3)", "arange() of 0 elements: sheaf makes 1 to 2^24"},
        {"        self.fc = nn.Linear(3, 4)", "        return x + torch.arange(0, 3, 0)", "step must be nonzero"},
        {"        self.fc = nn.Linear(3, 4)", "        return x + torch.arange(x)", "arange(): end must be a number"},
        {"        self.fc = nn.Linear(3, 4)", "        return x + torch.arange(3, dtype=torch.bool)", "arange(dtype=torch.bool)"},
        {"        self.fc = nn.Linear(3, 4)", "        return x + torch.arange(3, dtype=torch.float64)",
         "dtype float64: sheaf computes indices as float32"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.eye(0)", "eye(0, 0): sheaf makes sizes 1 to 2^24"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.cumsum(0)", "cumsum along the batch dim is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return x[:, :1].expand(-1, 5000).cumsum(1)",
         "cumsum along a dim of 5000: sheaf sums at most 4096"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.index_select(1, x)", "index_select(): index must be 0-D or 1-D, not 2-D"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.gather(1, x[:, 0])", "gather(): index has 1 dims and input 2"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.unsqueeze(1).gather(2, x.unsqueeze(2))",
         "gather(): index dim 1 is 3, larger than the input's 1"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.gather(0, x)", "gathering along the batch dim is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.take_along_dim(x, x[:, 0], 1)", "indices have 1 dims and input 2"},
        {"        self.e = nn.Embedding(4, 2, max_norm=1.0)", "        return self.e(x)", "Embedding(max_norm=...) renormalises"},
        {"        self.e = nn.Embedding(4, 2)", "        return F.embedding(x, self.e.weight, max_norm=1.0)",
         "embedding(max_norm=...) renormalises"},
        {"        self.e = nn.Embedding(4, 2)", "        return F.embedding(x, self.e.weight[0])", "embedding: weight must be 2-D, not 1-D"},
        {"        self.b = nn.Bilinear(3, 3, 2)", "        return self.b(x)", "Bilinear takes two input tensors"},
        {"        self.b = nn.Bilinear(3, 4, 2)", "        return self.b(x, x)", "bilinear: inputs f32[B,3] and f32[B,3] do not fit the weight f32[2,3,4]"},
        {"        self.n = nn.InstanceNorm1d(3)", "        return self.n(x)", "InstanceNorm1d expects 3D input, got f32[B,3] (an unbatched input"},
        {"        self.n = nn.InstanceNorm1d(4)", "        return self.n(x.unsqueeze(-1))", "InstanceNorm1d(4) needs 4 channels at dim 1"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.instance_norm(x)", "instance_norm: input of rank 2"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.instance_norm(x.unsqueeze(-1), use_input_stats=False)",
         "needs running_mean and running_var"},

        {"        self.fc = nn.Linear(3, 4)", "        return x.var(0)", "var over the batch dim with a correction"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.norm(x, p=3)", "norm: p=int 3 is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.glu(x)", "glu: the halved dim 1 must have an even size"},
        {"        self.act = nn.RReLU(0.5, 0.1)", "        return self.act(x)", "RReLU: upper (0.1) is less than lower (0.5)"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.rrelu(x, training=True)", "training=True draws random slopes"},
        {"        self.act = nn.PReLU(4)", "        return self.act(x)", "PReLU(4) needs 4 channels at dim 1"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.logsumexp(x)", "logsumexp is missing the argument 'dim'"},
        {"        self.act = nn.LogSoftmax()", "        return self.act(x)", "LogSoftmax(dim=None): the implicit dim"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.sum(dim=(1, 1))", "dim 1 appears more than once"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.maximum(x, 2.0)", "maximum"},
        {"        self.fc = nn.Linear(3, 4)", "        return x ** 1.5", "t.py:10:18: tensor ** 1.5 is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return x ** x", "tensor ** tensor is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return (-2.0) ** x", "-2 ** tensor is supported for a finite positive base only"},
        {"        self.fc = nn.Linear(3, 4)", "        return x ** 0", "tensor ** 0 is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.narrow(1, 2, 5)", "narrow: start 2, length 5 do not fit dim 1 of size 3"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.select(0, 1)", "select along the batch dim is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.select(1, 3)", "index 3 is out of range for dim 1 of size 3"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.unbind(0)", "unbind along the batch dim is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.movedim(x, (0, 1), 1)", "movedim: 2 source dims but 1 destinations"},
        {"        self.ws = nn.ParameterList([3])", "        return x", "ParameterList holds tensors made in __init__"},
        {"        self.ws = nn.ParameterList([nn.Parameter(torch.zeros(3))])", "        return x * self.ws[1]",
         "index 1 is out of range for ParameterList 'ws' of length 1"},
        {"        self.ws = nn.ParameterList([nn.Parameter(torch.zeros(3))])", "        return x * self.ws[0:1]",
         "slicing a ParameterList is not supported"},
        {"        self.n = nn.GroupNorm(3, 4)", "        return self.n(x)",
         "t.py:8:18: GroupNorm: num_channels (4) must be divisible by num_groups (3)"},
        {"        self.n = nn.GroupNorm(2, 4)", "        return self.n(x)", "GroupNorm(2, 4) needs 4 channels at dim 1 of its input"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.einsum('ii->i', x)",
         "t.py:10:16: einsum: subscript 'i' twice in one operand (a diagonal) is not supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.einsum('b.i->b', x)", "'b.i' has a stray '.'"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.einsum('bi,bi->b', x)", "'bi,bi->b' has 2 subscript lists for 1 operands"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.einsum('bi->bk', x)", "output subscript 'k' is in no operand"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.einsum('bi->i', x)", "einsum: summing over the batch dim"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.einsum('b1->b', x)", "'1' is not a subscript"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.einsum('bij->b', x)", "'bij' has 3 subscripts for an operand of 2 dims"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.einsum('bi->b2', x)", "'2' is not an output subscript"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.einsum('bi->bb', x)", "output subscript 'b' appears twice"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.einsum('bi,bi->b', x, x[:, :2])", "contracted subscript sizes differ"},
        {"        self.fc = nn.Linear(3, 4)", "        return torch.einsum(x, x)", "einsum(equation, *operands)"},
        {"        self.u = nn.Upsample(scale_factor=2, mode='bilinear')", "        return x", "Upsample(mode=bilinear): only 'nearest'"},
        {"        self.u = nn.Upsample(scale_factor=2)", "        return self.u(x)", "Upsample: input of rank 2: it needs [N, C, L]"},
        {"        self.u = nn.Upsample(scale_factor=1.5)", "        return self.u(x.unsqueeze(1))",
         "Upsample: nearest upsampling by a whole factor (1 to 4096) is supported, not 1.5 along dim 2"},
        {"        self.u = nn.Upsample(size=4)", "        return self.u(x.unsqueeze(1))", "not 1.33333 along dim 2"},
        {"        self.u = nn.Upsample()", "        return self.u(x.unsqueeze(1))", "give exactly one of size and scale_factor"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.interpolate(x.unsqueeze(1), scale_factor=2, mode='linear')",
         "interpolate(mode=linear): only 'nearest' is supported"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.repeat_interleave(2)", "repeat_interleave without dim flattens"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.repeat_interleave(2, 0)", "repeating along the batch dim"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.repeat_interleave(x, 1)", "repeats (an int: tensors of counts"},
        {"        self.fc = nn.Linear(3, 4)", "        return x.repeat_interleave(0, 1)", "repeat_interleave(0): 1 to 4096 repeats"},
        {"        self.p = nn.ParameterDict({'a': 3})", "        return x", "ParameterDict holds tensors made in __init__"},
        {"        self.p = nn.ParameterDict({1: torch.zeros(3)})", "        return x", "ParameterDict keys are strings"},
        {"        self.p = nn.ParameterDict([('a.b', torch.zeros(3))])", "        return x", "key 'a.b': empty, dotted or already there"},
        {"        self.p = nn.ParameterDict([3])", "        return x", "ParameterDict() takes a dict or (name, tensor) pairs"},
        {"        self.p = nn.ParameterDict({'a': torch.zeros(3)})", "        return x + self.p['b']", "no key 'b' in ParameterDict 'p'"},
        {"        self.p = nn.ParameterDict({'a': torch.zeros(3)})", "        return x + self.p[0]", "ParameterDict keys are strings"},
        {"        self.n = nn.RMSNorm(5)", "        return self.n(x)", "RMSNorm: input f32[B,3] does not end in its normalized_shape"},
        {"        self.fc = nn.Linear(3, 4)", "        return F.group_norm(x, 2)", "group_norm: f32[B,3] does not split into 2 groups"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_contains(refusal(net_with(cases[i].init, cases[i].forward), "Net()", "x=f32[B,3]", NULL), cases[i].want);
}

/* every spelling of every unary op, each to its op and attributes, in place where asked */
static void test_unary_spellings(void **state)
{
    (void)state;
    const char *src = net_with(
        "        self.a = nn.Softplus(2.0, 10)\n        self.b = nn.Softshrink()\n        self.c = nn.Hardshrink(0.25)\n"
        "        self.d = nn.Threshold(0.5, -1.0)\n        self.e = nn.GELU(approximate='tanh')\n"
        "        self.f = nn.Sequential(nn.Hardsigmoid(), nn.Hardswish(), nn.Mish(), nn.Softsign(), nn.Tanhshrink())\n"
        "        self.g = nn.Mish(inplace=True)",
        "        y = self.f(self.e(self.d(self.c(self.b(self.a(x))))))\n"
        "        y = torch.abs(y) + y.neg() + torch.negative(y) + y.exp() + torch.log(y) + y.log1p() + y.sqrt()\n"
        "        y = y.rsqrt() + torch.reciprocal(y) + y.sign() + torch.floor(y) + y.round() + F.softplus(y)\n"
        "        y = F.softshrink(y, 0.1) + F.hardshrink(y) + F.threshold(y, 0.0, 2.0) + F.gelu(y, approximate='tanh')\n"
        "        y = F.hardsigmoid(y) + F.hardswish(y) + F.mish(y) + F.softsign(y) + F.tanhshrink(y) + y.absolute()\n"
        "        y = abs(y) + y.round()\n"
        "        z = y * 1.0\n        z.exp_()\n        self.g(z)\n        F.threshold_(z, 1.0, 0.0)\n"
        "        return y + z");
    sf_error e;
    sf_py_model *m = compile_text(src, "Net()", "x=f32[B,3]", NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    char *ir = sf_print_string(m->graph);
    static const char *const want[] = {
        "softplus %x {beta=2.0, threshold=1e+01}", "softshrink %0 {lambd=0.5}", "hardshrink %1 {lambd=0.25}",
        "threshold %2 {threshold=0.5, value=-1.0}", "gelu_tanh %3", "hardsigmoid %4", "hardswish %5", "mish %6",
        "softsign %7", "tanhshrink %8", "= abs %9", "= neg %9", "= exp %9", "= log %9", "= log1p %9", "= sqrt %9",
        "= rsqrt ", "= reciprocal ", "= sign ", "= floor ", "= round ", "{beta=1.0, threshold=2e+01}", "{lambd=0.1}",
        "hardshrink %33 {lambd=0.5}", "{threshold=0.0, value=2.0}", "threshold %58 {threshold=1.0, value=0.0}",
        "%52 = abs %51", "%53 = round %51"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(ir, want[i]))
            fail_msg("no '%s' in\n%s", want[i], ir);
    /* z.exp_(), then the in-place Mish and threshold_ on it: three ops in a row, the last one returned */
    const char *ex = strstr(ir, "exp %"), *mi = ex ? strstr(ex, "= mish %") : NULL;
    assert_non_null(mi);
    assert_non_null(strstr(mi, "threshold %58"));
    free(ir);
    sf_py_model_free(m);
}

/* ParameterList: state_dict keys as PyTorch's (the list's name, then the index), values by index and iteration */
static void test_parameter_list(void **state)
{
    (void)state;
    const char *src = net_with("        self.ws = nn.ParameterList([nn.Parameter(torch.ones(3, 2)) for _ in range(n)])\n"
                               "        self.ws.append(nn.Parameter(torch.zeros(3, 2)))\n"
                               "        self.b = nn.ParameterList()\n        self.b.extend([torch.zeros(2)])",
                               "        return sum(x @ w for w in self.ws) + self.ws[-1][0] + self.b[0] * len(self.ws)");
    sf_error e;
    sf_py_model *m = compile_text(src, "Net(2)", "x=f32[B,3]", NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    static const char *const keys[] = {"ws.0", "ws.1", "ws.2", "b.0"};
    assert_int_equal(m->nkeys, 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(m->keys[i].key, keys[i]);
    int matmuls = 0;
    for (size_t i = 0; i < m->graph->nodes.len; i++)
        matmuls += ((sf_node *)m->graph->nodes.items[i])->op == SF_OP_MATMUL;
    assert_int_equal(matmuls, 3);
    sf_py_model_free(m);
}

/* the math module's functions of numbers, and their domain errors */
static void test_math_module(void **state)
{
    (void)state;
    static const char *const src =
        HEADER "import math\n\nclass Net(nn.Module):\n    def __init__(self, n=3):\n        super().__init__()\n"
               "    def forward(self, x):\n        return x * (math.log(8, 2) + math.exp(0) + math.cos(0) + math.tanh(0)"
               " + math.erf(0) + math.log10(100) + math.log2(4) + math.atan(0) + math.tan(0) + math.sin(0) + math.log(1))\n";
    sf_error e = {0};
    sf_py_model *m = compile_text(src, "Net()", "x=f32[B,3]", NULL, &e);
    assert_non_null(m);
    bool found = false;
    for (size_t i = 0; i < m->graph->nodes.len; i++) {
        const sf_node *n = m->graph->nodes.items[i];
        if (n->op == SF_OP_SCALAR)
            found = fabs(sf_attr_value(n) - 9) < 1e-12;
    }
    assert_true(found);
    sf_py_model_free(m);
    static const char *const bad[][2] = {{"math.log(0)", "math.log()(0): math domain or range error"},
                                         {"math.exp(1000)", "math.exp()(1000): math domain or range error"},
                                         {"math.exp('a')", "math.exp() of str"},
                                         {"math.sin(1, 2)", "math.sin()"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 HEADER "import math\n\nclass Net(nn.Module):\n    def forward(self, x):\n        return x * %s\n", bad[i][0]);
        assert_contains(refusal(text, "Net()", "x=f32[B,3]", NULL), bad[i][1]);
    }
}

/* take_along_dim broadcasts its indices, as GATHER does; a max(x, dim) pair unpacks and has fields */
static void test_index_forms(void **state)
{
    (void)state;
    const char *src = net_with("        pass", "        v, i = torch.max(x, 1, keepdim=True)\n"
                                             "        t = torch.take_along_dim(x, torch.arange(2).unsqueeze(0), 1)\n"
                                             "        return t, v, i, torch.min(x, 1)[1], x.max(1).indices, x.min(-1).values");
    sf_error e;
    sf_py_model *m = compile_text(src, "Net()", "x=f32[B,3]", NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    char *ir = sf_print_string(m->graph);
    assert_contains(ir, "= iota {shape=[2], dim=0} : f32[2]");
    assert_contains(ir, "= gather %x, ");
    assert_contains(ir, "{dim=1} : f32[B,2]");
    assert_contains(ir, "= amax %x {dims=[1], keepdim=true} : f32[B,1]");
    assert_contains(ir, "= amin %x {dims=[1], keepdim=false} : f32[B]");
    free(ir);
    sf_py_model_free(m);
}

static void test_syntax_refusals(void **state)
{
    (void)state;
    assert_contains(refusal(HEADER "class Net(nn.Module:\n    pass\n", "Net()", "x=f32[B,3]", NULL), "t.py:5:20: expected");
    assert_contains(refusal(HEADER "class Net(nn.Module):\n    def forward(self, x):\n        return x\n      y = 1\n",
                            "Net()", "x=f32[B,3]", NULL),
                    "t.py:8:7: unindent does not match any outer indentation level");
    assert_contains(refusal(HEADER "x = 'unterminated\n", "Net()", "x=f32[B,3]", NULL), "t.py:5:5: unterminated string");
    assert_contains(refusal(HEADER "x = (1,\n", "Net()", "x=f32[B,3]", NULL), "unexpected end of file inside brackets");
    assert_contains(refusal(HEADER "@decorator\ndef f():\n    pass\n", "Net()", "x=f32[B,3]", NULL),
                    "t.py:5:1: decorators are not supported");
    assert_contains(refusal(HEADER "x = 1 << 2\n", "Net()", "x=f32[B,3]", NULL), "t.py:5:7: shift");
    assert_contains(refusal(HEADER "x = 1.0 | 2\n", "Net()", "x=f32[B,3]", NULL), "bitwise operator on a float");
}

/* every mask spelling, run by the interpreter on x = -1, 0, 1, 2: values worked by hand */
static void test_mask_values(void **state)
{
    (void)state;
    const char *src = net_with(
        "        self.fc = nn.Linear(4, 4)",
        "        m = (x > 0) & ~(x == 1) | torch.lt(x, -0.5)\n"
        "        a = torch.where(m, x, 10.0)\n"
        "        b = x.masked_fill(x.ge(1) ^ m, -5.0)\n"
        "        c = m.float() * 3 + torch.logical_not(x).to(torch.float32) + m.logical_and(x.ne(2)).type_as(x)\n"
        "        d = torch.zeros(x.size(0), 4) + torch.full_like(x, 2.0) + torch.ones_like(x, dtype=torch.bool)\n"
        "        e = x * 1.0\n        e.masked_fill_(~torch.isfinite(x / x), 7.0)\n"
        "        f = torch.isnan(x / x).float() + torch.isinf(1 / x) * 2 + torch.logical_or(x < 0, x.eq(2)).sum(1, keepdim=True)\n"
        "        g = torch.tril(x.view(-1, 2, 2), -1).flatten(1) + x.view(-1, 2, 2).triu().flatten(1) * 10\n"
        "        h = x.where(torch.greater_equal(x, 1), torch.zeros_like(x)) + (x <= 0).logical_xor(x != -1)\n"
        "        return a, b, c, d, e, f, g, h");
    sf_error err;
    sf_py_model *m = compile_text(src, "Net()", "x=f32[B,4]", NULL, &err);
    if (!m)
        fail_msg("%s", err.msg);
    sf_tensor_set *in = tset(1, (tensor_lit[]){LIT("x", 2, DIMS(1, 4), -1, 0, 1, 2)});
    sf_tensor_set *w = tset(2, (tensor_lit[]){{"fc.weight", 2, {4, 4}, NULL}, {"fc.bias", 1, {4}, NULL}});
    sf_tensor_set *out = sf_tensors_new();
    assert_int_equal(sf_interp_run(m->graph, 1, in, w, out, &err), SF_OK);
    EXPECT(out, "output.0", 2, DIMS(1, 4), -1, 10, 10, 2);
    EXPECT(out, "output.1", 2, DIMS(1, 4), -5, 0, -5, 2);
    EXPECT(out, "output.2", 2, DIMS(1, 4), 4, 1, 0, 3);
    EXPECT(out, "output.3", 2, DIMS(1, 4), 3, 3, 3, 3);
    EXPECT(out, "output.4", 2, DIMS(1, 4), -1, 7, 1, 2);
    EXPECT(out, "output.5", 2, DIMS(1, 4), 2, 5, 2, 2);
    EXPECT(out, "output.6", 2, DIMS(1, 4), -10, 0, 1, 20);
    EXPECT(out, "output.7", 2, DIMS(1, 4), 1, 0, 2, 3);
    sf_tensors_free(out);
    sf_tensors_free(w);
    sf_tensors_free(in);
    sf_py_model_free(m);
}

/* a causal mask built in __init__ is a buffer (its values come from state_dict); masks print as bool */
static void test_mask_buffer(void **state)
{
    (void)state;
    const char *src = net_with("        self.register_buffer('causal', torch.tril(torch.ones(3, 3)))",
                               "        s = x.unsqueeze(1) * x.unsqueeze(2)\n"
                               "        return s.masked_fill(self.causal == 0, float('-inf')).softmax(-1)");
    sf_error e;
    sf_py_model *m = compile_text(src, "Net()", "x=f32[B,3]", NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    assert_int_equal(m->nkeys, 1);
    assert_string_equal(m->keys[0].key, "causal");
    char *ir = sf_print_string(m->graph);
    static const char *const want[] = {"= eq @causal, ", ": bool[3,3]", "= where %", "-inf"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(ir, want[i]))
            fail_msg("no '%s' in\n%s", want[i], ir);
    free(ir);
    sf_py_model_free(m);
}

static void test_model_option_refusals(void **state)
{
    (void)state;
    const char *src = net_with("        self.fc = nn.Linear(3, 4)", "        return self.fc(x)");
    assert_contains(refusal(src, "Nope(3)", "x=f32[B,3]", NULL), "--model 'Nope(3)': no class 'Nope' in t.py");
    assert_contains(refusal(src, "3", "x=f32[B,3]", NULL), "--model '3' is int 3, not an nn.Module");
    assert_contains(refusal(src, "Net(", "x=f32[B,3]", NULL), "--model:1:5");
    assert_contains(refusal(src, "Net()", "y=f32[B,3]", NULL), "forward argument 'x' has no value");
    assert_contains(refusal(src, "Net()", "x=f32[B,3]", "flag=True"), "--const flag=True: forward of Net has no such argument");
    assert_contains(refusal(src, "Net()", "x=f64[B,3]", NULL), "the type must look like f32[B,20000]");
    const char *rec = HEADER "class Loop(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                             "        self.inner = Loop()\n    def forward(self, x):\n        return x\n";
    assert_contains(refusal(rec, "Loop()", "x=f32[B,3]", NULL), "calls nested deeper than 200 (recursion in Loop.__init__?)");
}

static sf_py_model *compile_file(const char *file, const char *model, const char *input, const char *cst, sf_error *e)
{
    char path[1024], *src;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", SF_MODELS, file);
    assert_int_equal(sf_read_file(path, &src, &len, e), SF_OK);
    const char *inputs[1] = {input}, *consts[1] = {cst};
    sf_py_options o = {model, inputs, 1, consts, cst ? 1 : 0, 0, NULL};
    sf_py_model *m = sf_py_compile(path, src, len, &o, e);
    free(src);
    return m;
}

static void test_conditional_false_names_module(void **state)
{
    (void)state;
    sf_error e = {0};
    sf_py_model *m = compile_file("conditional.py", "ConditionalModel(10, 50, 2)", "x=f32[B,10]", "condition=False", &e);
    assert_null(m);
    assert_contains(e.msg, "conditional.py:27:15");
    assert_contains(e.msg, "module_list.2");
    assert_contains(e.msg, "f32[B,10]");
    assert_contains(e.msg, "f32[2,50]");
}

static void test_branches_are_visible(void **state)
{
    (void)state;
    sf_error e = {0};
    sf_py_model *m = compile_file("parallel_fcn.py", "ParallelFCN(1000)", "x=f32[B,20000]", NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    int count[SF_OP_COUNT] = {0};
    for (size_t i = 0; i < m->graph->nodes.len; i++)
        count[((sf_node *)m->graph->nodes.items[i])->op]++;
    assert_int_equal(count[SF_OP_SLICE], 1000);
    assert_int_equal(count[SF_OP_LINEAR], 2000);
    assert_int_equal(count[SF_OP_CONCAT], 1);
    assert_int_equal(count[SF_OP_PARAM], 4000);
    assert_int_equal(m->nkeys, 4000);
    assert_string_equal(m->keys[4 * 731 + 2].key, "models.731.fc2.weight");
    sf_py_model_free(m);
}

static void test_state_dict_keys(void **state)
{
    (void)state;
    sf_error e = {0};
    sf_py_model *m = compile_file("resnet_like.py", "ResNetLike(3, 1, 4)", "x=f32[B,3,8,8]", NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    /* PyTorch's order: parameters, then buffers, then children */
    static const char *const want[] = {"conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                       "bn1.running_var", "bn1.num_batches_tracked",
                                       "residual_blocks.0.conv1.weight"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_string_equal(m->keys[i].key, want[i]);
    assert_true(m->keys[6].integer);
    assert_string_equal(m->keys[m->nkeys - 1].key, "fc.bias");
    sf_py_model_free(m);
    /* ParameterDict: a plain dict's keys sorted, an OrderedDict's kept, then those set by key */
    m = compile_file("module_list_mlp.py", "ParamDictHeads(6, 5)", "x=f32[B,6]", NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    static const char *const dict_keys[] = {"plain.alpha", "plain.mid", "plain.zeta", "ordered.w2", "ordered.w1",
                                            "ordered.b"};
    assert_int_equal(m->nkeys, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(m->keys[i].key, dict_keys[i]);
    sf_py_model_free(m);
}

static void test_formatted_module_names(void **state)
{
    (void)state;
    /* keys built with f-strings, '%' and str.format must be the real text */
    const char *src = HEADER "class Fmt(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                             "        self.d = nn.ModuleDict({f'b{i:02d}': nn.Linear(2, 2) for i in range(2)})\n"
                             "        self.add_module('x%d_%s' % (7, 'y'), nn.Linear(2, 2, bias=False))\n"
                             "        self.add_module('{}_{k}'.format(1, k='z'), nn.Linear(2, 2, bias=False))\n"
                             "    def forward(self, x):\n"
                             "        return self.d['b01'](x) + getattr(self, 'x7_y')(x) + getattr(self, '1_z')(x)\n";
    sf_error e = {0};
    sf_py_model *m = compile_text(src, "Fmt()", "x=f32[B,2]", NULL, &e);
    if (!m)
        fail_msg("%s", e.msg);
    static const char *const want[] = {"d.b00.weight", "d.b00.bias", "d.b01.weight", "d.b01.bias", "x7_y.weight",
                                       "1_z.weight"};
    assert_int_equal(m->nkeys, 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(m->keys[i].key, want[i]);
    sf_py_model_free(m);
}

static void test_weight_refusals(void **state)
{
    (void)state;
    sf_error e = {0};
    sf_py_model *m = compile_file("mlp.py", "MLP(2, 3, 1)", "x=f32[B,2]", NULL, &e);
    assert_non_null(m);
    float z[8] = {0};
    tensor_lit good[4] = {{"fc1.weight", 2, {3, 2}, z}, {"fc1.bias", 1, {3}, z}, {"fc2.weight", 2, {1, 3}, z},
                          {"fc2.bias", 1, {1}, z}};
    sf_tensor_set *w = tset(4, good);
    assert_int_equal(sf_py_check_weights(m, w, true, &e), SF_OK);
    sf_tensors_free(w);

    w = tset(3, good);
    assert_int_equal(sf_py_check_weights(m, w, true, &e), SF_ERR_WEIGHTS);
    assert_contains(e.msg, "missing key 'fc2.bias' (f32[1])");
    sf_tensors_free(w);

    tensor_lit bad[4] = {good[0], good[1], {"fc2.weight", 2, {3, 1}, z}, good[3]};
    w = tset(4, bad);
    assert_int_equal(sf_py_check_weights(m, w, true, &e), SF_ERR_WEIGHTS);
    assert_contains(e.msg, "key 'fc2.weight' has shape [3,1] but the model expects f32[1,3]");
    sf_tensors_free(w);

    tensor_lit extra[5] = {good[0], good[1], good[2], good[3], {"fc3.weight", 1, {1}, z}};
    w = tset(5, extra);
    assert_int_equal(sf_py_check_weights(m, w, true, &e), SF_ERR_WEIGHTS);
    assert_contains(e.msg, "unexpected key 'fc3.weight'");
    assert_int_equal(sf_py_check_weights(m, w, false, &e), SF_OK);
    sf_tensors_free(w);

    tensor_lit ddp[4] = {{"module.fc1.weight", 2, {3, 2}, z}, {"module.fc1.bias", 1, {3}, z},
                         {"module.fc2.weight", 2, {1, 3}, z}, {"module.fc2.bias", 1, {1}, z}};
    w = tset(4, ddp);
    assert_int_equal(sf_py_check_weights(m, w, true, &e), SF_ERR_WEIGHTS);
    assert_contains(e.msg, "'module.fc1.weight' is present");
    sf_tensors_free(w);
    sf_py_model_free(m);
}

static void test_cli_model_file(void **state)
{
    (void)state;
    char path[1024];
    const char *out, *err;
    snprintf(path, sizeof path, "%s/conditional.py", SF_MODELS);
    assert_int_equal(run_cli((const char *[]){"sheaf", "ir", path, "--model", "ConditionalModel(10, 50, 2)", "--input",
                                              "x=f32[B,10]", "--const", "condition=True", NULL},
                             &out, &err),
                     0);
    assert_contains(out, "linear %1, @module_list.2.weight, @module_list.2.bias : f32[B,2]");
    assert_int_equal(run_cli((const char *[]){"sheaf", "ir", path, "--model", "ConditionalModel(10, 50, 2)", "--input",
                                              "x=f32[B,10]", "--const", "condition=False", NULL},
                             &out, &err),
                     1);
    assert_contains(err, "module_list.2");
    assert_int_equal(run_cli((const char *[]){"sheaf", "ir", path, "--input", "x=f32[B,10]", NULL}, &out, &err), 1);
    assert_contains(err, "--model is required");
    assert_int_equal(run_cli((const char *[]){"sheaf", "run", path, "--model", "ConditionalModel(10, 50, 2)", "--input",
                                              "x=f32[B,10]", "--const", "condition=True", "--batch", "2", "--time", NULL},
                             &out, &err),
                     0);
    assert_contains(out, "output: f32[2,2] = ");
    assert_contains(err, "sheaf: frontend of");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_syntax_refusals),
        cmocka_unit_test(test_math_module),
        cmocka_unit_test(test_index_forms),
        cmocka_unit_test(test_unary_spellings),
        cmocka_unit_test(test_parameter_list),
        cmocka_unit_test(test_mask_values),
        cmocka_unit_test(test_mask_buffer),
        cmocka_unit_test(test_model_option_refusals),
        cmocka_unit_test(test_conditional_false_names_module),
        cmocka_unit_test(test_branches_are_visible),
        cmocka_unit_test(test_state_dict_keys),
        cmocka_unit_test(test_formatted_module_names),
        cmocka_unit_test(test_weight_refusals),
        cmocka_unit_test(test_cli_model_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
